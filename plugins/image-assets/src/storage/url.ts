import type { ResolvedStorage } from '../options.js'

const encodeKey = (key: string): string => key.split('/').map(encodeURIComponent).join('/')

/**
 * deliver: the absolute URL of an object at the media origin, never a path through the app.
 * `mediaBaseURL` (a CDN or public bucket URL) wins; else the S3 endpoint, path-style or
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
