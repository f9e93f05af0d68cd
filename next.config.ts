import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'

import { withPayload } from '@payloadcms/next/withPayload'
import type { NextConfig } from 'next'
import { PHASE_PRODUCTION_BUILD } from 'next/constants'

const nextConfig: NextConfig = {
  // sharp (a native module) runs in Node, outside the bundle. The plugin itself is bundled: its
  // `payload-image-assets/client` entry holds admin components that import `@payloadcms/ui`.
  serverExternalPackages: ['sharp'],
  // Payload's logging levels (a refused request logged as one info line, not an error with a
  // stack) and its error answers go by the error's class name, which server minification renames.
  experimental: { serverMinification: false },
}

export default (phase: string) => {
  // `next build` loads the Payload config once up front (`payload image-assets:check`), so that a
  // configuration error (a missing bucket, an unknown plugin option) stops the build with its
  // message. Without it, Next logs the error while collecting page data, exits 0, and the
  // deployed app answers 500.
  // Next loads this file in the build's main process and again in its workers: check once.
  if (phase === PHASE_PRODUCTION_BUILD && !process.env.IMAGE_ASSETS_CONFIG_CHECKED) {
    const payloadMain = createRequire(import.meta.url).resolve('payload') // <payload>/dist/index.js
    const payloadBin = path.join(path.dirname(payloadMain), '..', 'bin.js')
    try {
      execFileSync(process.execPath, [payloadBin, 'image-assets:check'], { stdio: 'inherit' })
    } catch {
      throw new Error('The Payload config did not load (the message is above); the build stops.')
    }
    process.env.IMAGE_ASSETS_CONFIG_CHECKED = '1'
  }
  return withPayload(nextConfig, { devBundleServerPackages: false })
}
