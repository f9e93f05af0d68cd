/**
 * The app process of the request-path benchmark (requestPath.ts): boots the reference app's own
 * payload.config.ts (as test/helpers/app.ts does: DATABASE_URI, PAYLOAD_SECRET, S3_* and IMAGE_*
 * from its environment), serves its REST API on 127.0.0.1 (serve.ts), logs a user in and says it
 * is ready. The parent is the HTTP client. On request, in this same process:
 * - `floor`: the main WebP alone through the raw sharp floor (the plugin's `encodeWebP`, the
 *   collection's own preset and effort), timed here;
 * - `set`: the request's image work alone (the plugin's `processImage`: guard, inspect, one decode,
 *   main WebP, variants, shapes and placeholder as an upload makes them; no limiter, HTTP,
 *   database or bucket), timed here;
 * - `mark` / `request`: what the server did for the last `POST /api/product-images` between the
 *   two: its handler time (request received to response sent), its CPU time, and the time spent in
 *   sharp, in S3 calls and in PostgreSQL queries (the union of the intervals of each kind, taken by
 *   wrapping `sharp`'s `toBuffer` and `metadata`, `S3Client#send` and node-postgres's
 *   `Client#query`; wrapping costs microseconds);
 * - `mark` / `encodes`: every sharp call between the two, with its output format (`heif`: AVIF);
 *   `running`: the sharp calls running now, by output format.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'

import { S3Client } from '@aws-sdk/client-s3'
import { runtimeOf } from 'payload-image-assets'
import { encodeWebP, processImage } from 'payload-image-assets/internal'
import { getPayload } from 'payload'
import pg from 'pg'
import sharp from 'sharp'

import { serveAPI } from '../helpers/serve'
import { benchLogin } from './protocol'

export type SpanKind = 'db' | 's3' | 'sharp'
export type RequestFigures = {
  /** Handler start to the first sharp call, first to the end of the last, that to the answer. */
  phases: { afterImageMs: number; beforeImageMs: number; imageMs: number }
  /** Union of the kept original's S3 calls (its PUT) inside the handler's time. */
  s3OriginalMs: number
  /** Union of every instrumented interval (sharp, S3, database) inside the handler's time. */
  anyMs: number
  counts: Record<SpanKind, number>
  cpuMs: number
  handlerMs: number
  /** Union of each kind's intervals inside the handler's time. */
  ms: Record<SpanKind, number>
  /** S3 commands sent, by name (PutObjectCommand: n). */
  s3Commands: Record<string, number>
  sharpCalls: SharpCalls
  status: number
}
/** sharp calls by output format (`metadata`, `raw`: the decode, `webp`, `heif`): how many, and their summed ms. */
export type SharpCalls = Record<string, { calls: number; ms: number }>
export type OpFigures = {
  bytes: number
  cpuMs: number
  ms: number
  outputs: number
  sharpCalls: SharpCalls
}

const collectionSlug = 'product-images'
const files = JSON.parse(process.argv[2] ?? '[]') as string[]
const send = (message: unknown) => process.send?.(message)
const cpuMs = () => {
  const { system, user } = process.cpuUsage()
  return (system + user) / 1000
}

/** `detail`: sharp's output format (`heif` for AVIF, `input` for `metadata`); for S3, `original` when the key is a kept original's. */
type Span = { detail?: string; end: number; kind: SpanKind; start: number }
let spans: Span[] = []
const s3Commands: Record<string, number> = {}
let recording = false
/** sharp calls running now, by output format (`heif`: AVIF). */
const running: Record<string, number> = {}
const record = (kind: SpanKind, start: number, detail?: string) => {
  if (kind === 'sharp' && detail) running[detail]--
  if (recording) spans.push({ detail, end: performance.now(), kind, start })
}

/** Wraps a promise-returning method so that each call's interval is recorded as `kind`. */
const timeMethod = (
  proto: Record<string, unknown>,
  name: string,
  kind: SpanKind,
  detailOf?: (self: unknown, args: unknown[]) => string | undefined,
) => {
  const original = proto[name] as (...args: unknown[]) => unknown
  proto[name] = function (this: unknown, ...args: unknown[]) {
    const start = performance.now()
    const detail = detailOf?.(this, args)
    if (kind === 'sharp' && detail) running[detail] = (running[detail] ?? 0) + 1
    // node-postgres: a trailing callback (pg-pool's `pool.query` passes one) is the call's end.
    const last = args[args.length - 1]
    if (typeof last === 'function') {
      args[args.length - 1] = function (this: unknown, ...results: unknown[]) {
        record(kind, start, detail)
        return (last as (...a: unknown[]) => unknown).apply(this, results)
      }
      return original.apply(this, args)
    }
    const result = original.apply(this, args)
    if (result && typeof (result as Promise<unknown>).then === 'function')
      (result as Promise<unknown>).then(
        () => record(kind, start, detail),
        () => record(kind, start, detail),
      )
    return result
  }
}

const sharpProto = sharp.prototype as unknown as Record<string, unknown>
const formatOf = (self: unknown) =>
  (self as { options?: { formatOut?: string } }).options?.formatOut
timeMethod(sharpProto, 'toBuffer', 'sharp', formatOf)
timeMethod(sharpProto, 'metadata', 'sharp', () => 'metadata')
timeMethod(S3Client.prototype as unknown as Record<string, unknown>, 'send', 's3', (_, args) => {
  const command = args[0] as { constructor?: { name?: string }; input?: { Key?: string } }
  const name = command?.constructor?.name ?? 'unknown'
  if (recording) s3Commands[name] = (s3Commands[name] ?? 0) + 1
  return command?.input?.Key?.startsWith('originals/') ? 'original' : undefined
})
timeMethod(pg.Client.prototype as unknown as Record<string, unknown>, 'query', 'db')

const sharpCallsOf = (list: Span[]): SharpCalls => {
  const out: SharpCalls = {}
  for (const span of list) {
    if (span.kind !== 'sharp') continue
    const entry = (out[span.detail ?? 'unknown'] ??= { calls: 0, ms: 0 })
    entry.calls++
    entry.ms += span.end - span.start
  }
  return out
}

/** Total length of the union of [start, end] intervals, clipped to [from, to]. */
const unionMs = (list: Span[], from: number, to: number): number => {
  const clipped = list
    .map((s) => [Math.max(s.start, from), Math.min(s.end, to)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0])
  let total = 0
  let [curStart, curEnd] = [Number.NaN, Number.NaN]
  for (const [a, b] of clipped) {
    if (Number.isNaN(curStart) || a > curEnd) {
      if (!Number.isNaN(curStart)) total += curEnd - curStart
      ;[curStart, curEnd] = [a, b]
    } else curEnd = Math.max(curEnd, b)
  }
  if (!Number.isNaN(curStart)) total += curEnd - curStart
  return total
}

const main = async () => {
  const inputs = await Promise.all(files.map((f) => readFile(f)))
  const payload = await getPayload({ config: (await import('../../payload.config')).default })
  const runtime = runtimeOf(payload)
  const collection = runtime.collections.find((c) => c.slug === collectionSlug)
  if (!collection) throw new Error(`${collectionSlug} is not one of the plugin's collections`)
  const { baseURL, server } = await serveAPI(payload.config)

  // The last upload's handler time, from the request's arrival to the response's end.
  let last: { end?: number; start: number; status?: number } | undefined
  server.prependListener('request', (req, res) => {
    if (req.method !== 'POST' || !req.url?.startsWith(`/api/${collectionSlug}`)) return
    const entry: { end?: number; start: number; status?: number } = { start: performance.now() }
    last = entry
    res.once('finish', () => {
      entry.end = performance.now()
      entry.status = res.statusCode
    })
  })

  const token = await benchLogin(payload, baseURL)
  send({
    baseURL,
    pid: process.pid,
    settings: {
      avif: collection.avif,
      effort: collection.effort,
      variantEffort: collection.variantEffort,
      keepOriginal: collection.keepOriginal,
      limiter: {
        concurrency: runtime.limiter.concurrency,
        maxWaitMs: runtime.limiter.maxWaitMs,
        queueDepth: runtime.limiter.queueDepth,
      },
      limits: collection.limits,
      placeholder: collection.placeholder,
      preset: collection.preset,
      requireAlt: collection.requireAlt,
      shapes: collection.shapes,
      sharpConcurrency: sharp.concurrency(),
      variantWidths: collection.variantWidths,
    },
    token,
    type: 'ready',
  })

  let markCpu = 0
  process.on('message', async (message: { id: number; index?: number; type: string }) => {
    const { id, index = 0, type } = message
    if (type === 'mark') {
      spans = []
      for (const k of Object.keys(s3Commands)) delete s3Commands[k]
      last = undefined
      recording = true
      markCpu = cpuMs()
      send({ id })
      return
    }
    if (type === 'request') {
      recording = false
      const cpu = cpuMs() - markCpu
      if (!last?.end) {
        send({ error: 'no finished upload request since the mark', id })
        return
      }
      const { end, start } = last
      const of = (kind: SpanKind) => spans.filter((s) => s.kind === kind)
      const image = of('sharp').filter((s) => s.start >= start && s.end <= end)
      const firstImage = Math.min(...image.map((s) => s.start))
      const lastImage = Math.max(...image.map((s) => s.end))
      const figures: RequestFigures = {
        phases: {
          afterImageMs: end - lastImage,
          beforeImageMs: firstImage - start,
          imageMs: lastImage - firstImage,
        },
        s3OriginalMs: unionMs(
          of('s3').filter((s) => s.detail === 'original'),
          start,
          end,
        ),
        anyMs: unionMs(spans, start, end),
        counts: { db: of('db').length, s3: of('s3').length, sharp: of('sharp').length },
        cpuMs: cpu,
        handlerMs: end - start,
        ms: {
          db: unionMs(of('db'), start, end),
          s3: unionMs(of('s3'), start, end),
          sharp: unionMs(of('sharp'), start, end),
        },
        s3Commands: { ...s3Commands },
        sharpCalls: sharpCallsOf(image),
        status: last.status ?? 0,
      }
      spans = []
      send({ figures, id })
      return
    }
    if (type === 'running') {
      send({ figures: { ...running }, id })
      return
    }
    if (type === 'encodes') {
      // Every sharp call since the mark, in epoch ms (comparable across processes).
      recording = false
      const epoch = (t: number) => performance.timeOrigin + t
      const figures = spans
        .filter((s) => s.kind === 'sharp')
        .map((s) => ({ end: epoch(s.end), format: s.detail ?? '', start: epoch(s.start) }))
      spans = []
      send({ figures, id })
      return
    }
    if (type === 'floor' || type === 'set') {
      const input = inputs[index]
      spans = []
      recording = true
      const cpuStart = cpuMs()
      const start = performance.now()
      let outputs = 1
      let bytes: number
      if (type === 'floor') {
        bytes = (await encodeWebP(input, collection.preset, collection.effort)).data.length
      } else {
        const done = await processImage(
          { data: input, name: path.basename(files[index]) },
          collection,
        )
        const shapes = Object.values(done.shapes)
        outputs =
          1 +
          done.variants.length +
          shapes.reduce((a, s) => a + 1 + s.variants.length, 0) +
          (done.placeholder ? 1 : 0)
        bytes = done.data.length
      }
      const cpu = cpuMs() - cpuStart
      const ms = performance.now() - start
      recording = false
      const figures: OpFigures = { bytes, cpuMs: cpu, ms, outputs, sharpCalls: sharpCallsOf(spans) }
      spans = []
      send({ figures, id })
      return
    }
    send({ error: `unknown message ${type}`, id })
  })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
