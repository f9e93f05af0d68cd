import type { DeliveryMode, ResolvedOptions } from '../options.js'

const ONE_YEAR = 31_536_000

/**
 * The Cache-Control an object is written with. Keys change whenever the bytes do, so an object
 * never changes under its key: public objects are cached for a year as `immutable`; objects behind
 * signed URLs only privately, and no longer than a URL lives.
 */
export const cacheControl = (
  delivery: DeliveryMode,
  signed: ResolvedOptions['signedURLs'],
): string =>
  delivery === 'signed'
    ? `private, max-age=${signed.expiresInSeconds}, immutable`
    : `public, max-age=${ONE_YEAR}, immutable`

/**
 * `Content-Disposition: inline` with the uploader's name (already cleaned for display) and the
 * stored extension: an ASCII fallback without quotes, backslashes or control characters, and the
 * full name in RFC 5987 encoding.
 */
export const contentDisposition = (displayName: string, extension: string): string => {
  const base = displayName.replace(/\.[^.]*$/, '') || 'image'
  const name = `${base}${extension}`
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `inline; filename="${ascii}"; filename*=UTF-8''${encoded}`
}
