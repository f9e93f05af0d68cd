/**
 * Serves a Payload config's REST and GraphQL API over HTTP on 127.0.0.1 through Payload's own
 * fetch-style handlers (the same ones the Next routes call), without Next.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

import { GRAPHQL_POST } from '@payloadcms/next/routes'
import { handleEndpoints, type SanitizedConfig } from 'payload'

/**
 * The request body as a web stream. Unlike `Readable.toWeb`, it stops cleanly when the handler
 * answers before reading everything (an aborted oversize upload) and the stream is cancelled.
 */
const bodyOf = (req: IncomingMessage): ReadableStream<Uint8Array> => {
  let done = false
  return new ReadableStream<Uint8Array>({
    cancel() {
      done = true
      req.resume()
    },
    start(controller) {
      req.on('data', (chunk: Buffer) => {
        if (!done) controller.enqueue(new Uint8Array(chunk))
      })
      req.on('end', () => {
        if (!done) controller.close()
        done = true
      })
      req.on('error', (error) => {
        if (!done) controller.error(error)
        done = true
      })
    },
  })
}

const toRequest = (req: IncomingMessage, origin: string): Request => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) value.forEach((v) => headers.append(name, v))
    else if (value !== undefined) headers.set(name, value)
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  return new Request(new URL(req.url ?? '/', origin), {
    body: hasBody ? bodyOf(req) : undefined,
    duplex: 'half',
    headers,
    method: req.method,
  } as RequestInit)
}

const send = async (
  req: IncomingMessage,
  res: ServerResponse,
  response: Response,
): Promise<void> => {
  res.statusCode = response.status
  // Answered before the body was read (an aborted oversize upload): do not reuse the connection.
  if (!req.complete) res.setHeader('connection', 'close')
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value)
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
  res.end(Buffer.from(await response.arrayBuffer()))
}

export const serveAPI = async (
  config: SanitizedConfig,
  port = 0,
  /** The Payload instance's `getPayload` key, when it is not the default one (REST only). */
  payloadInstanceCacheKey?: string,
): Promise<{ baseURL: string; requests: string[]; server: Server }> => {
  const graphql = GRAPHQL_POST(config)
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(req.url ?? '')
    const request = toRequest(req, `http://${req.headers.host}`)
    const pathname = new URL(request.url).pathname
    const handled =
      pathname === '/api/graphql' && request.method === 'POST'
        ? graphql(request)
        : handleEndpoints({ config, payloadInstanceCacheKey, request })
    handled
      .then((response) => send(req, res, response))
      .catch((error: unknown) => {
        res.statusCode = 500
        res.end(String(error))
      })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return { baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server }
}
