import type { PayloadRequest } from 'payload'

/**
 * Headers added to a REST response that is about to fail. Payload merges `req.responseHeaders`
 * into its error responses; the Local API and GraphQL ignore it.
 */
const addHeader = (req: PayloadRequest, name: string, value: string): void => {
  const headers = new Headers(req.responseHeaders)
  headers.set(name, value)
  req.responseHeaders = headers
}

/** `Retry-After` for a request that fails with a 503. */
export const retryLater = (req: PayloadRequest, seconds: number): void =>
  addHeader(req, 'Retry-After', String(seconds))

/**
 * `Connection: close` for a request refused while its body is partly unread (a malformed or
 * oversize multipart body the parser gave up on). Left open, the connection would still hold the
 * rest of the body, and the client's next request on it (HTTP keep-alive) would wait and then be
 * reset; closed, the client opens a new one.
 */
export const closeAfterRefusal = (req: PayloadRequest): void =>
  addHeader(req, 'Connection', 'close')
