/**
 * A TCP-level fault injector in front of a real server (the S3 emulator, PostgreSQL): requests go
 * through unchanged until a rule says otherwise. Nothing is answered on the server's behalf except
 * the injected failures.
 */
import http from 'node:http'
import net from 'node:net'

export type S3Faults = {
  /** Hold every object DELETE this long before it goes on to S3 (a slow delete; it still succeeds). */
  delayDeletesMs?: number
  /** Fail every DELETE of an object (HTTP 500, on every retry). */
  failDeletes?: boolean
  /** Fail every GET of an object (HTTP 500, on every retry). */
  failGets?: boolean
  /** Let the first `n` distinct object keys be written; every PUT of any other key fails (HTTP 500). */
  failPutsAfter?: number
  /**
   * Accept the request and never answer it, until the stall is switched off (then the held
   * connections are dropped): object PUTs only (`'puts'`), or every request (`'all'`).
   */
  stall?: 'all' | 'puts'
  /** With `stall`: the request still reaches S3 (a write takes effect); only its answer is held back. */
  stallDelivers?: boolean
  /**
   * Hold this many object PUTs unanswered (they never reach S3), then let the rest through: a
   * connection that a NAT or load balancer dropped silently, then a new one that works.
   */
  stallPuts?: number
}

/** One object request the proxy received: when it arrived, its method and the object's key (without the bucket). */
export type SeenRequest = { at: number; key: string; method: string }

const S3_ERROR =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected failure</Message></Error>'

/** An HTTP proxy to an S3 endpoint that fails, delays or stalls requests on demand, and counts the object requests it receives. */
export const startFaultyS3 = async (target: string) => {
  const upstream = new URL(target)
  const faults: S3Faults = {}
  const written = new Set<string>()
  /** Requests stalled since the faults were last set, and the ones still held open. */
  let stalled = 0
  const held = new Set<http.ServerResponse>()
  /** Every object request received, in arrival order (whatever the faults did with it). */
  const seen: SeenRequest[] = []
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const isObject = path.split('/').filter(Boolean).length >= 2
    if (isObject) {
      const key = path
        .split('/')
        .filter(Boolean)
        .slice(1)
        .map((part) => decodeURIComponent(part))
        .join('/')
      seen.push({ at: Date.now(), key, method: req.method ?? '' })
    }
    const stallThis =
      req.method === 'PUT' &&
      isObject &&
      faults.stallPuts !== undefined &&
      stalled < faults.stallPuts
    if (
      stallThis ||
      faults.stall === 'all' ||
      (faults.stall === 'puts' && req.method === 'PUT' && isObject)
    ) {
      stalled++
      held.add(res)
      res.on('close', () => held.delete(res))
      if (faults.stallDelivers) {
        const forward = http.request(
          {
            headers: req.headers,
            host: upstream.hostname,
            method: req.method,
            path: req.url,
            port: upstream.port,
          },
          (answer) => answer.resume(),
        )
        forward.on('error', () => undefined)
        req.pipe(forward)
      } else {
        req.resume()
      }
      return
    }
    const fail =
      isObject &&
      ((req.method === 'DELETE' && faults.failDeletes) ||
        (req.method === 'GET' && faults.failGets) ||
        (req.method === 'PUT' &&
          faults.failPutsAfter !== undefined &&
          !written.has(path) &&
          written.size >= faults.failPutsAfter))
    if (req.method === 'PUT' && isObject && !fail) written.add(path)
    if (fail) {
      req.resume()
      res.writeHead(500, { 'Content-Type': 'application/xml' }).end(S3_ERROR)
      return
    }
    const send = () => {
      const forward = http.request(
        {
          headers: req.headers,
          host: upstream.hostname,
          method: req.method,
          path: req.url,
          port: upstream.port,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      forward.on('error', () => res.destroy())
      req.pipe(forward)
    }
    if (req.method === 'DELETE' && isObject && faults.delayDeletesMs)
      setTimeout(send, faults.delayDeletesMs)
    else send()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    /** Sets the faults from now on, and forgets which keys were written; ending a stall drops the connections it held. */
    set: (next: S3Faults) => {
      written.clear()
      stalled = 0
      Object.assign(
        faults,
        {
          delayDeletesMs: undefined,
          failDeletes: undefined,
          failGets: undefined,
          failPutsAfter: undefined,
          stall: undefined,
          stallDelivers: undefined,
          stallPuts: undefined,
        },
        next,
      )
      if (!faults.stall && faults.stallPuts === undefined) {
        for (const res of held) res.destroy()
        held.clear()
      }
    },
    /** How many requests of `method` (DELETE unless told) the proxy received per object key, since it started. */
    counts: (method = 'DELETE') => {
      const counts: Record<string, number> = {}
      for (const r of seen) if (r.method === method) counts[r.key] = (counts[r.key] ?? 0) + 1
      return counts
    },
    /** Every object request received since the proxy started, in arrival order. */
    seen: () => [...seen],
    /** How many requests were stalled since the faults were last set, and how many are held open now. */
    stalls: () => ({ held: held.size, stalled }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
    url: `http://127.0.0.1:${port}`,
  }
}

/** A TCP proxy to a database server that can drop every connection and refuse new ones. */
export const startTCPProxy = async (targetHost: string, targetPort: number) => {
  let down = false
  let stalled = false
  const sockets = new Set<net.Socket>()
  /** Each connection's answers (upstream to client), held back while stalled. */
  const answers = new Map<net.Socket, net.Socket>()
  const server = net.createServer((client) => {
    if (down) return client.destroy()
    const upstream = net.connect(targetPort, targetHost)
    sockets.add(client).add(upstream)
    answers.set(upstream, client)
    const close = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
      answers.delete(upstream)
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
    client.pipe(upstream)
    if (!stalled) upstream.pipe(client)
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
    stop: () =>
      new Promise<void>((resolve) => {
        down = true
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
    up: () => {
      down = false
    },
    /** Connections stay open and requests go through, but no answer comes back until `flow()`. */
    stall: () => {
      stalled = true
      for (const [upstream, client] of answers) upstream.unpipe(client)
    },
    flow: () => {
      stalled = false
      for (const [upstream, client] of answers) upstream.pipe(client)
    },
  }
}
