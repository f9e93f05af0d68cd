import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'

import type { ResolvedOptions, ResolvedStorage } from '../options.js'

const encodeKey = (key: string): string => key.split('/').map(encodeURIComponent).join('/')

/**
 * deliver (public): the absolute URL of an object at the media origin, never a path through the
 * app. `mediaBaseURL` (a CDN or public bucket URL) wins; else the S3 endpoint, path-style or
 * virtual-hosted; else AWS's regional virtual-hosted URL.
 */
export const mediaURL = (storage: ResolvedStorage, key: string): string => {
  if (storage.mediaBaseURL) return `${storage.mediaBaseURL}/${encodeKey(key)}`
  if (storage.endpoint) {
    const endpoint = new URL(storage.endpoint)
    const base = endpoint.pathname.replace(/\/+$/, '')
    return storage.forcePathStyle
      ? `${endpoint.origin}${base}/${encodeURIComponent(storage.bucket)}/${encodeKey(key)}`
      : `${endpoint.protocol}//${storage.bucket}.${endpoint.host}${base}/${encodeKey(key)}`
  }
  return `https://${storage.bucket}.s3.${storage.region}.amazonaws.com/${encodeKey(key)}`
}

/**
 * deliver (signed): a presigned GET URL for a private bucket. It is signed at the start of the
 * current window, so the same document gives the same URL (and browsers and CDNs can cache it)
 * until the window moves on; it works until `expiresInSeconds` after that start.
 */
export const signedMediaURL = async (
  client: S3Client,
  storage: ResolvedStorage,
  signed: ResolvedOptions['signedURLs'],
  key: string,
  now = Date.now(),
): Promise<string> => {
  const windowMs = signed.windowSeconds * 1000
  const signingDate = new Date(windowMs > 0 ? Math.floor(now / windowMs) * windowMs : now)
  return getSignedUrl(client, new GetObjectCommand({ Bucket: storage.bucket, Key: key }), {
    expiresIn: signed.expiresInSeconds,
    signingDate,
  })
}
