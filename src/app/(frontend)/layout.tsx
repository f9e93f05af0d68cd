import type React from 'react'

export const metadata = { title: 'Image assets demo store' }

const Layout = ({ children }: { children: React.ReactNode }) => (
  <html lang="en">
    <body
      style={{ fontFamily: 'system-ui, sans-serif', margin: '0 auto', maxWidth: 1200, padding: 24 }}
    >
      {children}
    </body>
  </html>
)

export default Layout
