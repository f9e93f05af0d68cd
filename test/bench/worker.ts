/**
 * One benchmark contestant in its own process, so that its CPU time and peak RSS are its own.
 * Modes: `floor` (raw sharp, the plugin's encoder and nothing else), `plugin-local` (the reference
 * app's collections with the plugin, through `payload.create`; BENCH_PLUGIN_OUTPUTS picks main-only
 * or main + variants + placeholder, see plugin.config.ts), `payload-hand` (Payload's own upload
 * path configured by hand, through `payload.create`; BENCH_HAND_SIZES=1 adds `imageSizes` for the
 * same variant widths) and `plugin-rest` (the same app served over HTTP; the parent process is
 * the client; BENCH_APP_CONFIG=1 serves the reference app's own payload.config.ts instead).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'

import { BUILT_IN_COLLECTIONS, reoptimizeAll, runtimeOf } from 'payload-image-assets'
import { encodeWebP } from 'payload-image-assets/internal'
import { getPayload, type Payload } from 'payload'

import { serveAPI } from '../helpers/serve'
import {
  benchLogin,
  type Measure,
  mimeTypeOf,
  type Mode,
  pool,
  type PoolWatch,
  type ReoptimizeReport,
  type ReoptimizeRequest,
  type RunRequest,
  type RunResult,
} from './protocol'
import { peakRss, resetPeakRss } from './proc'

const mode = process.argv[2] as Mode
const files = JSON.parse(process.argv[3]) as string[]
const send = (message: unknown) => process.send?.(message)

const cpuMs = () => {
  const { system, user } = process.cpuUsage()
  return (system + user) / 1000
}

const main = async () => {
  const sharp = (await import('sharp')).default
  if (process.env.BENCH_SHARP_CONCURRENCY)
    sharp.concurrency(Number(process.env.BENCH_SHARP_CONCURRENCY))
  if (process.env.BENCH_SHARP_CACHE === '0') sharp.cache(false)
  const inputs = await Promise.all(files.map((f) => readFile(f)))
  let payload: Payload | undefined
  if (mode === 'plugin-rest' && process.env.BENCH_APP_CONFIG === '1') {
    payload = await getPayload({ config: (await import('../../payload.config')).default })
  } else if (mode === 'plugin-local' || mode === 'plugin-rest') {
    payload = await getPayload({ config: (await import('./plugin.config')).default })
  } else if (mode === 'payload-hand') {
    payload = await getPayload({ config: (await import('./baseline.config')).default })
  }
  if (mode === 'plugin-rest' && payload) {
    const { baseURL } = await serveAPI(payload.config)
    send({ baseURL, token: await benchLogin(payload, baseURL), type: 'ready' })
  } else {
    send({ type: 'ready' })
  }

  let mark = { cpu: 0 }
  let stopPoolWatch: (() => PoolWatch) | undefined
  process.on(
    'message',
    async (
      message:
        | ReoptimizeRequest
        | RunRequest
        | { id: number; type: 'mark' | 'measure' | 'pool-watch' | 'pool-report' },
    ) => {
      if (message.type === 'pool-watch') {
        stopPoolWatch = watchPool(payload!)
        send({ id: message.id, type: 'watching' })
        return
      }
      if (message.type === 'pool-report') {
        send({ ...stopPoolWatch!(), id: message.id })
        return
      }
      if (message.type === 'reoptimize') {
        send(await reoptimizeBenchmark(payload!, message.count, message.id))
        return
      }
      if (message.type === 'mark') {
        resetPeakRss()
        mark = { cpu: cpuMs() }
        send({ id: message.id, type: 'marked' })
        return
      }
      if (message.type === 'measure') {
        send({
          cpuMs: cpuMs() - mark.cpu,
          id: message.id,
          peakRss: peakRss(),
          type: 'measured',
        } satisfies Measure)
        return
      }
      const { collection, concurrency, id, indexes, saveTo } = message as RunRequest
      const preset = BUILT_IN_COLLECTIONS[collection as keyof typeof BUILT_IN_COLLECTIONS].preset
      const outputs: Buffer[] = []
      const urls: string[] = []
      resetPeakRss()
      const cpuStart = cpuMs()
      const wallStart = performance.now()
      const latencies = await pool(indexes.length, concurrency, async (i) => {
        const input = inputs[indexes[i]]
        if (mode === 'floor') {
          outputs[i] = (await encodeWebP(input, preset, 6)).data
          return
        }
        const file = files[indexes[i]]
        const doc = await payload!.create({
          collection: collection as 'media',
          data: {},
          // A distinct name per upload: Payload's own path picks unique filenames with a racy lookup.
          file: {
            data: input,
            mimetype: mimeTypeOf(file),
            name: `${i}-${path.basename(file)}`,
            size: input.length,
          },
        })
        urls[i] = doc.url as string
      })
      const wallMs = performance.now() - wallStart
      const result: RunResult = {
        cpuMs: cpuMs() - cpuStart,
        id,
        latencies,
        outputs: [],
        peakRss: peakRss(),
        type: 'result',
        wallMs,
      }
      // Untimed: the output bytes, for size and quality figures.
      if (mode !== 'floor') {
        for (const [i, url] of urls.entries())
          outputs[i] = Buffer.from(await (await fetch(url)).arrayBuffer())
      }
      result.outputs = outputs.map((o) => o.length)
      if (saveTo) {
        await mkdir(saveTo, { recursive: true })
        await Promise.all(
          outputs.map((o, i) =>
            writeFile(path.join(saveTo, `${path.basename(files[indexes[i]])}.webp`), o),
          ),
        )
      }
      send(result)
    },
  )
}

/**
 * Samples the database pool (node-postgres) every 5 ms until stopped: the most connections in use
 * at once, the pool's size limit, and the most requests (of any kind) left waiting for a connection;
 * and the main thread's event-loop delay over the same time (how long it was busy or descheduled).
 */
const watchPool = (payload: Payload): (() => PoolWatch) => {
  const db = (
    payload.db as unknown as {
      pool: {
        idleCount: number
        options: { max?: number }
        totalCount: number
        waitingCount: number
      }
    }
  ).pool
  let maxInUse = 0
  let maxWaiting = 0
  let samples = 0
  let samplesWaiting = 0
  const sample = () => {
    samples++
    maxInUse = Math.max(maxInUse, db.totalCount - db.idleCount)
    maxWaiting = Math.max(maxWaiting, db.waitingCount)
    if (db.waitingCount > 0) samplesWaiting++
  }
  const timer = setInterval(sample, 5)
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  return () => {
    clearInterval(timer)
    loop.disable()
    sample()
    const ms = (ns: number) => Math.round(ns / 1e5) / 10
    return {
      eventLoopDelay: { maxMs: ms(loop.max), p99Ms: ms(loop.percentile(99)) },
      max: db.options.max ?? 10,
      maxInUse,
      maxWaiting,
      samples,
      samplesWaiting,
      type: 'pool-report',
    }
  }
}

/**
 * `count` small images (320 x 240 JPEGs) stored in `media`, then the preset changed and every one
 * re-optimized from its stored WebP by `reoptimizeAll`, the work `payload reoptimize-images` does.
 */
async function reoptimizeBenchmark(
  payload: Payload,
  count: number,
  id: number,
): Promise<ReoptimizeReport> {
  const sharp = (await import('sharp')).default
  const setupStart = performance.now()
  await pool(count, 4, async (i) => {
    // A distinct gradient per image, from raw pixels (the plugin blocks in-memory SVG in this process).
    const pixels = Buffer.alloc(320 * 240 * 3)
    for (let p = 0; p < 320 * 240; p++) {
      const x = p % 320
      const y = Math.floor(p / 320)
      pixels[p * 3] = (x + i) % 256
      pixels[p * 3 + 1] = (y * 2 + i * 3) % 256
      pixels[p * 3 + 2] = (x ^ y ^ i) % 256
    }
    const data = await sharp(pixels, { raw: { channels: 3, height: 240, width: 320 } })
      .jpeg({ quality: 85 })
      .toBuffer()
    await payload.create({
      collection: 'media',
      data: {},
      file: { data, mimetype: 'image/jpeg', name: `small-${i}.jpg`, size: data.length },
    })
  })
  const setupMs = performance.now() - setupStart
  const live = runtimeOf(payload)
  const runtime = {
    ...live,
    collections: live.collections.map((c) =>
      c.slug === 'media' ? { ...c, preset: { ...c.preset, height: 200, width: 200 } } : c,
    ),
  }
  const cpuStart = cpuMs()
  const start = performance.now()
  const { totals } = await reoptimizeAll({ collections: ['media'], payload, runtime })
  return {
    cpuMs: cpuMs() - cpuStart,
    id,
    images: totals[0].done,
    setupMs,
    type: 'reoptimized',
    wallMs: performance.now() - start,
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
