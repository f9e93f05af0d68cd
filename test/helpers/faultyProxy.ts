/**
 * A TCP-level fault injector in front of a real server (the S3 emulator, PostgreSQL): requests go
 * through unchanged until a rule says otherwise. Nothing is answered on the server's behalf except
 * the injected failures.
 */
import http from 'node:http'
import net from 'node:net'

export type S3Faults = {
  /** Fail every DELETE of an object (HTTP 500, on every retry). */
  failDeletes?: boolean
  /** Let the first `n` distinct object keys be written; every PUT of any other key fails (HTTP 500). */
  failPutsAfter?: number
}

const S3_ERROR = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected failure</Message></Error>'

/** An HTTP proxy to an S3 endpoint that fails writes or deletes on demand. */
export const startFaultyS3 = async (target: string) => {
  const upstream = new URL(target)
  const faults: S3Faults = {}
  const written = new Set<string>()
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const isObject = path.split('/').filter(Boolean).length >= 2
    const fail =
      isObject &&
      ((req.method === 'DELETE' && faults.failDeletes) ||
        (req.method === 'PUT' && faults.failPutsAfter !== undefined && !written.has(path) && written.size >= faults.failPutsAfter))
    if (req.method === 'PUT' && isObject && !fail) written.add(path)
    if (fail) {
      req.resume()
      res.writeHead(500, { 'Content-Type': 'application/xml' }).end(S3_ERROR)
      return
    }
    const forward = http.request(
      { headers: req.headers, host: upstream.hostname, method: req.method, path: req.url, port: upstream.port },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    /** Sets the faults from now on, and forgets which keys were written. */
    set: (next: S3Faults) => {
      written.clear()
      Object.assign(faults, { failDeletes: undefined, failPutsAfter: undefined }, next)
    },
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
    url: `http://127.0.0.1:${port}`,
  }
}

/** A TCP proxy to a database server that can drop every connection and refuse new ones. */
export const startTCPProxy = async (targetHost: string, targetPort: number) => {
  let down = false
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    if (down) return client.destroy()
    const upstream = net.connect(targetPort, targetHost)
    sockets.add(client).add(upstream)
    const close = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    /** Drops every open connection and refuses new ones until `up()`. */
    down: () => {
      down = true
      for (const socket of sockets) socket.destroy()
      sockets.clear()
    },
    stop: () => new Promise<void>((resolve) => { down = true; for (const s of sockets) s.destroy(); server.close(() => resolve()) }),
    up: () => {
      down = false
    },
  }
}
