import { withPayload } from '@payloadcms/next/withPayload'
import type { NextConfig } from 'next'

const nextConfig: NextConfig = {
  // sharp and the image pipeline run in Node, outside the bundle.
  serverExternalPackages: ['sharp', 'payload-image-assets'],
}

export default withPayload(nextConfig, { devBundleServerPackages: false })
