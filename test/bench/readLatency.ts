/**
 * Read latency while uploads are in flight: the reference app (its own payload.config.ts) served
 * over REST on 127.0.0.1, with PostgreSQL and S3 in the loop. p95 of sequential
 * `GET /api/products?depth=1` (one every 500 ms, or at once when the last one took longer) idle,
 * then the same number while 12 authenticated multipart uploads of the corpus's large photos to
 * `product-images` are kept in flight (each lane starts its next upload as soon as its last one
 * is answered). The database pool is sampled in the server during both windows.
 * Figures only, no assertion. Bounded: every request has a deadline, and so does each phase.
 */
import os from 'node:os'
import path from 'node:path'

import { GENERATED_24MP } from './corpus'
import { pool, type PoolWatch, uploadForm } from './protocol'
import { quantile } from './report'

type Env = Record<string, string | undefined>
export type RestWorker = {
  baseURL?: string
  call: <T>(message: Record<string, unknown>) => Promise<T>
  child: { kill: () => void }
  name: string
  token?: string
}

export type ReadLatencyDeps = {
  corpus: string[]
  inputs: Buffer[]
  log: (line: string) => void
  pluginEnv: (name: string, extra: Record<string, string>) => Promise<Env>
  startWorker: (name: string, mode: 'plugin-rest', env: Env) => Promise<RestWorker>
}

export type ReadLatencyFigures = {
  collection: 'product-images'
  config: string
  cores: number
  getsPerWindow: number
  paceMs: number
  idle: Window
  loaded: Window & { uploads: Uploads }
  measuredAt: string
  products: number
  productsPerPage: number
  ratioP95: number
  targetInFlight: number
  warmup: number
}
type Uploads = {
  /** Uploads answered (any status) and started while the reads ran. */
  answeredInWindow: number
  startedInWindow: number
  /** Over the whole loaded phase, settling and draining included. */
  completed: number
  files: string[]
  /** Uploads in flight at the start of each GET. */
  inFlight: { max: number; min: number }
  medianMs: number
  settleMs: number
  started: number
  statuses: Record<string, number>
}
type Window = {
  maxMs: number
  medianMs: number
  p95Ms: number
  pool: Omit<PoolWatch, 'type'>
  wallMs: number
}

const IN_FLIGHT = 12
const GETS = 60
const PACE_MS = 500
const WARMUP = 10
const PRODUCTS = 12
const SETUP_IMAGES = 4
const GET_DEADLINE_MS = 30_000
const UPLOAD_DEADLINE_MS = 180_000
const WINDOW_DEADLINE_MS = 10 * 60_000
const SETTLE_DEADLINE_MS = 3 * 60_000
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits

/** One `GET /api/products?depth=1`, body read to the end; its ms. */
const readProducts = async (
  baseURL: string,
): Promise<{ body: { docs: Array<{ image?: unknown }> }; ms: number }> => {
  const start = performance.now()
  const response = await fetch(`${baseURL}/api/products?depth=1`, {
    signal: AbortSignal.timeout(GET_DEADLINE_MS),
  })
  const text = await response.text()
  const ms = performance.now() - start
  if (response.status !== 200)
    throw new Error(`GET /api/products answered ${response.status}: ${text.slice(0, 300)}`)
  return { body: JSON.parse(text), ms }
}

const upload = async (worker: RestWorker, file: string, data: Buffer): Promise<Response> => {
  const form = uploadForm(data, file, path.basename(file), `Read latency ${path.basename(file)}`)
  return fetch(`${worker.baseURL}/api/product-images`, {
    body: form,
    headers: { Authorization: `JWT ${worker.token}` },
    method: 'POST',
    signal: AbortSignal.timeout(UPLOAD_DEADLINE_MS),
  })
}

/** A refused upload's reason, from the plugin's messages (errors.ts): busy, image timeout, or the message itself. */
const reasonOf = (text: string): string => {
  let message = text
  try {
    message =
      (JSON.parse(text) as { errors?: Array<{ message?: string }> }).errors?.[0]?.message ?? text
  } catch {
    // not JSON: the text itself
  }
  if (/busy processing other images/i.test(message))
    return '(busy: no processing slot within maxWaitSeconds)'
  if (/took longer than/i.test(message)) return '(image timeout)'
  return `(${message.slice(0, 80)})`
}

const windowOf = (latencies: number[], wallMs: number, watch: PoolWatch): Window => {
  const { id: _id, type: _type, ...pool } = watch as PoolWatch & { id?: number }
  return {
    maxMs: round(Math.max(...latencies)),
    medianMs: round(quantile(latencies, 0.5)),
    p95Ms: round(quantile(latencies, 0.95)),
    pool,
    wallMs: Math.round(wallMs),
  }
}

/** Sequential, paced GETs with the server watched (pool, event loop); the window also ends at WINDOW_DEADLINE_MS. */
const measureReads = async (
  worker: RestWorker,
  count: number,
  onEach?: () => void,
): Promise<Window> => {
  await worker.call({ type: 'pool-watch' })
  const latencies: number[] = []
  const start = performance.now()
  let lastStart = start
  for (let i = 0; i < count && performance.now() - start < WINDOW_DEADLINE_MS; i++) {
    // Paced: one GET every PACE_MS (or at once when the last one took longer), so that the loaded
    // window spans whole uploads (received, processed, stored, recorded), not a slice of one.
    const wait = i === 0 ? 0 : lastStart + PACE_MS - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    lastStart = performance.now()
    onEach?.()
    latencies.push((await readProducts(worker.baseURL!)).ms)
  }
  const wallMs = performance.now() - start
  return windowOf(latencies, wallMs, await worker.call<PoolWatch>({ type: 'pool-report' }))
}

export const runReadLatency = async (deps: ReadLatencyDeps): Promise<ReadLatencyFigures> => {
  const { corpus, inputs, log } = deps
  // The corpus's large photos: its real JPEGs (2560 x 1600 to 5120 x 2880), not the generated 24 MP one.
  const photos = corpus
    .map((f, i) => ({ data: inputs[i], file: f }))
    .filter(({ file }) => /\.jpe?g$/i.test(file) && !file.endsWith(GENERATED_24MP))
  if (photos.length === 0) throw new Error('read latency: no JPEG photos in the corpus')
  const worker = await deps.startWorker('plugin: REST, reference app config', 'plugin-rest', {
    ...(await deps.pluginEnv('read_latency', {})),
    BENCH_APP_CONFIG: '1',
  })
  try {
    // Products with images, so that every GET populates uploads at depth 1.
    const imageIds: Array<number | string> = []
    await pool(SETUP_IMAGES, 2, async (i) => {
      const { data, file } = photos[i % photos.length]
      const response = await upload(worker, file, data)
      const body = (await response.json()) as { doc?: { id: number | string } }
      if (response.status !== 201 || !body.doc)
        throw new Error(
          `read latency: setup upload of ${file} failed: ${response.status} ${JSON.stringify(body).slice(0, 300)}`,
        )
      imageIds[i] = body.doc.id
    })
    for (let i = 0; i < PRODUCTS; i++) {
      const response = await fetch(`${worker.baseURL}/api/products`, {
        body: JSON.stringify({
          description: `Benchmark product ${i + 1}`,
          image: imageIds[i % imageIds.length],
          name: `Product ${i + 1}`,
          price: 10 + i,
        }),
        headers: { Authorization: `JWT ${worker.token}`, 'Content-Type': 'application/json' },
        method: 'POST',
        signal: AbortSignal.timeout(GET_DEADLINE_MS),
      })
      if (response.status !== 201)
        throw new Error(
          `read latency: creating a product failed: ${response.status} ${(await response.text()).slice(0, 300)}`,
        )
    }
    const { body } = await readProducts(worker.baseURL!)
    const perPage = body.docs.length
    if (perPage === 0 || body.docs.some((d) => typeof d.image !== 'object' || d.image === null)) {
      throw new Error(
        'read latency: GET /api/products?depth=1 did not return products with populated images',
      )
    }
    for (let i = 0; i < WARMUP; i++) await readProducts(worker.baseURL!)
    log(`read latency: ${PRODUCTS} products with images stored, warm-up done`)

    const idle = await measureReads(worker, GETS)
    log(`read latency: idle p95 ${idle.p95Ms} ms`)

    // Loaded: IN_FLIGHT lanes, each starting its next upload as soon as the last one ends, until the
    // reads are done. In-flight counts are sampled at the start of every GET.
    let inFlight = 0
    let stop = false
    let started = 0
    const statuses: Record<string, number> = {}
    const uploadMs: number[] = []
    const answered = () => Object.values(statuses).reduce((a, b) => a + b, 0)
    const lane = async (k: number) => {
      for (let n = 0; !stop; n++) {
        const { data, file } = photos[(k + n * IN_FLIGHT) % photos.length]
        started++
        inFlight++
        const t0 = performance.now()
        let status: string
        try {
          const response = await upload(worker, file, data)
          status = String(response.status)
          if (response.status !== 201) status += ` ${reasonOf(await response.text())}`
          else await response.arrayBuffer()
        } catch (error) {
          status = error instanceof Error ? error.name : 'error'
        }
        inFlight--
        statuses[status] = (statuses[status] ?? 0) + 1
        if (status === '201') uploadMs.push(performance.now() - t0)
      }
    }
    const lanes = Array.from({ length: IN_FLIGHT }, (_, k) => lane(k))
    // The window opens in the steady state: once the first upload has been answered and its lane
    // has started the next one, so that uploads are being received, processed, stored and recorded
    // while the reads run (and not only the first wave's bodies arriving).
    const settleStart = performance.now()
    while (started <= IN_FLIGHT && performance.now() - settleStart < SETTLE_DEADLINE_MS)
      await new Promise((resolve) => setTimeout(resolve, 50))
    await new Promise((resolve) => setTimeout(resolve, 500))
    const settleMs = Math.round(performance.now() - settleStart)
    const seen: number[] = []
    let loadedWindow: Window
    const before = { answered: answered(), started }
    try {
      loadedWindow = await measureReads(worker, GETS, () => seen.push(inFlight))
    } finally {
      stop = true
    }
    const inWindow = { answered: answered() - before.answered, started: started - before.started }
    log(
      `read latency: loaded p95 ${loadedWindow.p95Ms} ms; waiting for the ${inFlight} uploads still in flight`,
    )
    await Promise.all(lanes)
    const completed = uploadMs.length
    return {
      collection: 'product-images',
      cores: os.availableParallelism(),
      config:
        'payload.config.ts (the reference app: product-images with AVIF and kept originals, variants and placeholder)',
      getsPerWindow: GETS,
      paceMs: PACE_MS,
      idle,
      loaded: {
        ...loadedWindow,
        uploads: {
          completed,
          files: [...new Set(photos.map((p) => path.basename(p.file)))],
          answeredInWindow: inWindow.answered,
          inFlight: { max: Math.max(...seen), min: Math.min(...seen) },
          medianMs: completed ? Math.round(quantile(uploadMs, 0.5)) : Number.NaN,
          settleMs,
          started,
          startedInWindow: inWindow.started,
          statuses,
        },
      },
      measuredAt: new Date().toISOString(),
      products: PRODUCTS,
      productsPerPage: perPage,
      ratioP95: Math.round((loadedWindow.p95Ms / idle.p95Ms) * 100) / 100,
      targetInFlight: IN_FLIGHT,
      warmup: WARMUP,
    }
  } finally {
    worker.child.kill()
  }
}

export const readLatencyMarkdown = (f: ReadLatencyFigures): string[] => {
  const row = (label: string, w: Window) =>
    `| ${label} | ${w.p95Ms} ms | ${w.medianMs} ms | ${w.maxMs} ms | ${w.pool.maxInUse} of ${w.pool.max} | ${w.pool.maxWaiting} (${w.pool.samplesWaiting} of ${w.pool.samples} samples) | ${w.pool.eventLoopDelay.p99Ms} / ${w.pool.eventLoopDelay.maxMs} ms |`
  const u = f.loaded.uploads
  const inFlight =
    u.inFlight.min === u.inFlight.max
      ? `${u.inFlight.min}`
      : `${u.inFlight.min} to ${u.inFlight.max}`
  const answers = Object.entries(u.statuses)
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ')
  return [
    '## Read latency while uploads are in flight',
    '',
    `Measured on ${f.measuredAt} (\`npm run bench -- --only read-latency\` measures only this), ${f.cores} cores. The reference app's own \`payload.config.ts\` (\`${f.collection}\`: WebP and AVIF, variants, placeholder, original kept) served over REST on 127.0.0.1, with PostgreSQL and S3 (s3rver) in the loop. ${f.getsPerWindow} sequential \`GET /api/products?depth=1\`, one every ${f.paceMs} ms or as soon as the last one is answered (${f.productsPerPage} products per page, each with its image populated; ${f.warmup} untimed requests first), idle, then while ${f.targetInFlight} authenticated multipart uploads to \`${f.collection}\` are kept in flight: each lane starts its next upload as soon as its last one is answered, and the reads start once the first upload has been answered and replaced (${u.settleMs} ms in). Uploads in flight at the start of each GET: ${inFlight}. Photos uploaded: ${u.files.join(', ')}. The server's database pool (node-postgres) was sampled every 5 ms during both windows, and its event-loop delay recorded (time the main thread was busy or not scheduled).`,
    '',
    '| window | p95 | median | max | pool connections in use, most | requests waiting for a connection, most | server event-loop delay p99 / max |',
    '|---|---|---|---|---|---|---|',
    row('idle', f.idle),
    row(`${f.targetInFlight} uploads in flight`, f.loaded),
    '',
    `p95 loaded / idle: **${f.ratioP95}**. While the reads ran (${f.loaded.wallMs} ms), ${u.answeredInWindow} upload${u.answeredInWindow === 1 ? ' was' : 's were'} answered and ${u.startedInWindow} started. Over the whole loaded phase: ${u.started} uploads started, ${u.completed} stored (median ${u.medianMs} ms from request to answer), answers ${answers}. The plugin processes at most \`processing.concurrency\` images at once (default: the number of CPUs, here ${f.cores}); the others wait for a slot, and one that waited longer than \`processing.maxWaitSeconds\` (30 s by default) is refused with 503 and \`Retry-After\` (busy), after which its lane starts the next upload. Figures only: the reads share the ${f.cores} cores with the image work.`,
    '',
  ]
}
