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

/** Room for an upload's fields and multipart framing beside its largest file. */
export const FORM_ROOM_BYTES = 2 * 1024 * 1024

/** The whole multipart body Payload's parser reads unless `upload.requestSizeLimit` says otherwise. */
export const PAYLOAD_REQUEST_BYTES = 50 * 1024 * 1024

/**
 * The body of a request refused before it was read (401, 403, 404): the client, still sending,
 * should get its answer and keep its connection, so the rest is read and dropped, up to
 * `maxBytes` (what an upload to the collection may send). A body declared larger is not read:
 * the answer says `Connection: close`, and Node closes the connection once it is sent. One that
 * turns out larger (no length declared) is read no further than `maxBytes`, and Node closes the
 * connection when its keep-alive timeout ends. Either way a refused client cannot make the server
 * read gigabytes.
 */
export const dropUnreadBody = (req: PayloadRequest, maxBytes: number): void => {
  if (!req.body || req.bodyUsed) return
  const declared = Number(req.headers.get('content-length') ?? NaN)
  if (declared > maxBytes) {
    closeAfterRefusal(req)
    return
  }
  let reader: ReadableStreamDefaultReader<Uint8Array>
  try {
    reader = req.body.getReader()
  } catch {
    return
  }
  void (async () => {
    let read = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      read += value.byteLength
      if (read > maxBytes) {
        await reader.cancel()
        return
      }
    }
  })().catch(() => undefined)
}
