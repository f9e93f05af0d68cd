import type { PayloadRequest } from 'payload'

/**
 * Adds `Retry-After` to the response of a request that is about to fail with a 503. Payload merges
 * `req.responseHeaders` into its error responses (REST); the Local API and GraphQL ignore it.
 */
export const retryLater = (req: PayloadRequest, seconds: number): void => {
  const headers = new Headers(req.responseHeaders)
  headers.set('Retry-After', String(seconds))
  req.responseHeaders = headers
}
