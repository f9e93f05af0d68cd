/**
 * The request path of the reference app (`npm run bench -- --only request-path`; not part of the
 * full run), two targets of issue 15 measured in one run, each in an app process of its own
 * (requestPathWorker.ts: the reference app's own payload.config.ts, product-images with its three
 * WebP variants, placeholder, kept original, `square` shape and AVIF as a queued job; PostgreSQL
 * and s3rver in the loop; the production runtime settings, jemalloc):
 *
 * 1. REST upload latency at concurrency 1 against the raw sharp floor. IMAGE_RUN_JOBS=false (no
 *    AVIF encode in the process while measuring). The corpus's photos from 1080 to 5120 px (every
 *    JPEG and PNG; not the 4096 px WebP art or the generated 24 MP JPEG), each BENCH_REQUEST_PATH_REPS
 *    times (7 by default), interleaved, the order rotated on every step, after one untimed pass:
 *    - REST: an authenticated multipart `POST /api/product-images` (the file and `_payload` with an
 *      `alt`), timed by this process (the client) from the request to the parsed answer;
 *    - floor: the main WebP alone, the plugin's `encodeWebP` with the collection's preset and effort,
 *      in the same app process, timed there;
 *    - image work alone: the plugin's `processImage` with the collection's settings (what an upload
 *      encodes: main, variants, shape and its variant, placeholder), same process, timed there.
 *    For each REST upload the app process also reports its handler time and the time spent in sharp,
 *    S3 calls and PostgreSQL queries (requestPathWorker.ts), so that a miss comes with a measured
 *    breakdown. Target: median REST latency / median floor latency <= 1.5.
 * 2. Peak RSS of the whole app process tree (proc.ts `watchTreeRss`) with IMAGE_RUN_JOBS=true: 8
 *    concurrent uploads of the generated 24 MP JPEG while the in-process job runner encodes AVIF
 *    versions. Uploads and jobs share the plugin's work limit, uploads first, so with 8
 *    uploads sent at once from idle the jobs wait behind most of them: a first wave of 8 is sent
 *    from idle, and a second wave of 8 as soon as the app reports an AVIF encode running. Measured from
 *    the first upload until every upload is answered and no AVIF job is left in `payload_jobs`
 *    (polled over SQL; completed jobs are deleted, Payload's default). One untimed upload (and its
 *    AVIF job) first. Target: < 700 MiB.
 *
 * Writes test/bench/results/request-path.{json,md}.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import pg from 'pg'
import sharp from 'sharp'

import { jemallocPath, runtimeNodeArgs } from '../../scripts/runtime-env.mjs'
import { GENERATED_24MP } from './corpus'
import { currentRss, processTree, watchTreeRss } from './proc'
import { uploadForm } from './protocol'
import { quantile } from './report'
import type { OpFigures, RequestFigures, SharpCalls, SpanKind } from './requestPathWorker'

type Env = Record<string, string | undefined>
export type RequestPathDeps = {
  corpus: string[]
  log: (line: string) => void
  pluginEnv: (name: string, extra: Record<string, string>) => Promise<Env>
}

const here = path.dirname(fileURLToPath(import.meta.url))
const RESULTS_DIR = path.resolve('test/bench/results')
const COLLECTION = 'product-images'
const REPS = Number(process.env.BENCH_REQUEST_PATH_REPS || 7)
/** Uploads per wave (two waves). */
const BIG_UPLOADS = 8
const LATENCY_TARGET = 1.5
const RSS_TARGET_MIB = 700
const REQUEST_DEADLINE_MS = 180_000
const JOBS_DEADLINE_MS = 15 * 60_000
const POLL_MS = 250
const MiB = 1024 * 1024
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits
const median = (values: number[]) => quantile(values, 0.5)

type Ready = {
  baseURL: string
  pid: number
  settings: Record<string, unknown>
  token: string
}
type App = Ready & {
  call: <T>(type: string, extra?: Record<string, unknown>) => Promise<T>
  child: ChildProcess
  stop: () => Promise<void>
}

const cpuNow = () => {
  const { system, user } = process.cpuUsage()
  return (system + user) / 1000
}

let nextId = 1
const startApp = async (files: string[], env: Env): Promise<App> => {
  const child = fork(path.join(here, 'requestPathWorker.ts'), [JSON.stringify(files)], {
    env: { ...env, NODE_ENV: 'development' } as NodeJS.ProcessEnv,
    execArgv: ['--import', 'tsx', ...runtimeNodeArgs],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the app did not start within 150 s')), 150_000)
    child.once('message', (m) => {
      clearTimeout(timer)
      resolve(m as Ready)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the app exited with ${code} before it was ready`))
    })
  })
  const call = <T>(type: string, extra: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++
      const timer = setTimeout(
        () => reject(new Error(`the app did not answer ${type} within 180 s`)),
        REQUEST_DEADLINE_MS,
      )
      const onExit = (code: number | null) => {
        clearTimeout(timer)
        reject(new Error(`the app exited with ${code} during ${type}`))
      }
      const onMessage = (m: unknown) => {
        const answer = m as { error?: string; figures?: T; id?: number }
        if (answer.id !== id) return
        clearTimeout(timer)
        child.off('message', onMessage)
        child.off('exit', onExit)
        if (answer.error) reject(new Error(`app: ${answer.error}`))
        else resolve(answer.figures as T)
      }
      child.on('message', onMessage)
      child.once('exit', onExit)
      child.send({ ...extra, id, type })
    })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  return { ...ready, call, child, stop }
}

/** One authenticated multipart upload to product-images; the status, the document, the ms from request to parsed answer. */
const upload = async (app: App, name: string, data: Buffer, file: string) => {
  const form = uploadForm(data, file, name, `Benchmark photo ${name}`)
  const start = performance.now()
  const response = await fetch(`${app.baseURL}/api/${COLLECTION}`, {
    body: form,
    headers: { Authorization: `JWT ${app.token}` },
    method: 'POST',
    signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
  })
  const text = await response.text()
  const ms = performance.now() - start
  let doc: { id?: number | string } | undefined
  try {
    doc = (JSON.parse(text) as { doc?: { id?: number | string } }).doc
  } catch {
    // not JSON
  }
  return { doc, ms, status: response.status, text }
}

const treeRss = (pid: number) =>
  processTree(pid).reduce((a, p) => {
    try {
      return a + currentRss(p)
    } catch {
      return a
    }
  }, 0)

type RestSample = RequestFigures & { clientAndS3CpuMs: number; clientMs: number }
type PhotoRow = {
  file: string
  width: number
  height: number
  bytes: number
  floor: OpFigures[]
  rest: RestSample[]
  set: OpFigures[]
}

const versionOf = (pkg: string) => {
  try {
    return (JSON.parse(readFileSync(path.resolve(pkg), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

/** Part 1: REST at concurrency 1 against the floor, interleaved, with the server's breakdown. */
const measureLatency = async (deps: RequestPathDeps, photos: string[]) => {
  const { log } = deps
  const inputs = await Promise.all(photos.map((f) => readFile(f)))
  const app = await startApp(photos, {
    ...(await deps.pluginEnv('request_path', {})),
    IMAGE_RUN_JOBS: 'false',
  })
  try {
    let uploads = 0
    const rest = async (i: number): Promise<RestSample> => {
      await app.call('mark')
      const cpu = cpuNow()
      const name = `${uploads++}-${path.basename(photos[i])}`
      const r = await upload(app, name, inputs[i], photos[i])
      const clientAndS3CpuMs = cpuNow() - cpu
      if (r.status !== 201)
        throw new Error(`upload of ${photos[i]} answered ${r.status}: ${r.text.slice(0, 300)}`)
      const figures = await app.call<RequestFigures>('request')
      return { ...figures, clientAndS3CpuMs, clientMs: r.ms }
    }
    const floor = (i: number) => app.call<OpFigures>('floor', { index: i })
    const set = (i: number) => app.call<OpFigures>('set', { index: i })

    // Warm-up (untimed): first-call costs (codecs, schema, connections, JIT) out of the figures.
    for (let i = 0; i < photos.length; i++) {
      await rest(i)
      await floor(i)
      await set(i)
    }
    log(`request-path: warm-up done (${photos.length} photos)`)

    const rows: PhotoRow[] = []
    for (const [i, file] of photos.entries()) {
      const meta = await sharp(inputs[i]).metadata()
      rows.push({
        bytes: inputs[i].length,
        file: path.basename(file),
        floor: [],
        height: meta.autoOrient?.height ?? meta.height ?? 0,
        rest: [],
        set: [],
        width: meta.autoOrient?.width ?? meta.width ?? 0,
      })
    }
    let step = 0
    for (let rep = 0; rep < REPS; rep++) {
      for (let i = 0; i < photos.length; i++) {
        const steps: Array<() => Promise<void>> = [
          async () => void rows[i].rest.push(await rest(i)),
          async () => void rows[i].floor.push(await floor(i)),
          async () => void rows[i].set.push(await set(i)),
        ]
        // Rotate which goes first, so that drift on the shared machine favours none of them.
        for (let k = 0; k < steps.length; k++) await steps[(k + step) % steps.length]()
        step++
      }
      log(`request-path: repetition ${rep + 1} of ${REPS} done`)
    }
    return { rows, settings: app.settings }
  } finally {
    await app.stop()
  }
}

type Sample = {
  answered: number
  jobsLeft: number
  jobsProcessing: number
  rssMiB: number
  s: number
}

type Encode = { end: number; format: string; start: number }

/** Union of intervals, ms, clipped to [from, to]. */
const unionOf = (list: Array<{ end: number; start: number }>, from: number, to: number) => {
  const clipped = list
    .map((e) => [Math.max(e.start, from), Math.min(e.end, to)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0])
  let total = 0
  let cur: [number, number] | undefined
  for (const [a, b] of clipped) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0]
      cur = [a, b]
    } else cur[1] = Math.max(cur[1], b)
  }
  return cur ? total + cur[1] - cur[0] : total
}

/** Most intervals open at once. */
const mostAtOnce = (list: Array<{ end: number; start: number }>) => {
  const events = list.flatMap((e) => [
    [e.start, 1],
    [e.end, -1],
  ])
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1])
  let open = 0
  let most = 0
  for (const [, d] of events) most = Math.max(most, (open += d))
  return most
}

/** When the AVIF encodes (sharp calls with output `heif`) ran, against the uploads. */
const avifOverlap = (encodes: Encode[], start: number, uploadsDone: number) => {
  const avif = encodes.filter((e) => e.format === 'heif')
  const webp = encodes.filter((e) => e.format === 'webp')
  return {
    avifCalls: avif.length,
    avifMs: Math.round(unionOf(avif, start, Number.POSITIVE_INFINITY)),
    avifWhileUploadsMs: Math.round(unionOf(avif, start, uploadsDone)),
    firstAvifAfterMs: avif.length
      ? Math.round(Math.min(...avif.map((e) => e.start)) - start)
      : null,
    mostAvifAtOnce: mostAtOnce(avif),
    mostEncodesAtOnce: mostAtOnce([...avif, ...webp]),
    webpCalls: webp.length,
    webpMs: Math.round(unionOf(webp, start, uploadsDone)),
  }
}

/** Part 2: 8 concurrent 24 MP uploads with the AVIF jobs running in the same process; peak RSS of its tree. */
const measureRss = async (deps: RequestPathDeps, big: string, warmFile: string) => {
  const { log } = deps
  const env: Env = { ...(await deps.pluginEnv('request_path_rss', {})), IMAGE_RUN_JOBS: 'true' }
  const db = new pg.Pool({ connectionString: env.DATABASE_URI, max: 1 })
  db.on('error', () => undefined)
  const app = await startApp([], env)
  try {
    const jobs = async () => {
      const { rows } = await db.query<{ failed: string; left: string; processing: string }>(
        `select count(*) filter (where has_error is not true) as left,
                count(*) filter (where processing and has_error is not true) as processing,
                count(*) filter (where has_error) as failed
           from payload_jobs where queue = 'image-assets' and completed_at is null`,
      )
      return {
        failed: Number(rows[0].failed),
        left: Number(rows[0].left),
        processing: Number(rows[0].processing),
      }
    }
    const drained = async (deadline: number, onPoll?: () => Promise<void>) => {
      for (;;) {
        await onPoll?.()
        const j = await jobs()
        if (j.left === 0) return j
        if (Date.now() > deadline) return j
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      }
    }

    // Warm-up (untimed): one upload and its AVIF job, so that codecs and connections are loaded.
    const warm = await upload(
      app,
      `warm-${path.basename(warmFile)}`,
      await readFile(warmFile),
      warmFile,
    )
    if (warm.status !== 201)
      throw new Error(`warm-up upload answered ${warm.status}: ${warm.text.slice(0, 300)}`)
    const warmJobs = await drained(Date.now() + JOBS_DEADLINE_MS)
    if (warmJobs.left > 0 || warmJobs.failed > 0)
      throw new Error(`the warm-up AVIF job did not finish: ${JSON.stringify(warmJobs)}`)
    log('request-path: 24 MP warm-up done (one upload and its AVIF job)')

    const data = await readFile(big)
    await app.call('mark')
    const baselineMiB = treeRss(app.pid) / MiB
    const timeline: Sample[] = []
    let answered = 0
    const start = performance.now()
    const epoch = (t: number) => performance.timeOrigin + t
    const stopAll = watchTreeRss(app.pid)
    const stopUploads = watchTreeRss(app.pid)
    const sample = async () => {
      const j = await jobs()
      timeline.push({
        answered,
        jobsLeft: j.left,
        jobsProcessing: j.processing,
        rssMiB: round(treeRss(app.pid) / MiB),
        s: round((performance.now() - start) / 1000, 2),
      })
    }
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        await sample()
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      }
    })()
    /** `BIG_UPLOADS` uploads sent at once; its own peak RSS watcher over its time. */
    const wave = async (k: number) => {
      const sent = performance.now()
      const stop = watchTreeRss(app.pid)
      const avifAtSend = (await app.call<Record<string, number>>('running')).heif ?? 0
      const results = await Promise.all(
        Array.from({ length: BIG_UPLOADS }, async (_, i) => {
          const r = await upload(app, `${k}-${i}-${GENERATED_24MP}`, data, big)
          answered++
          return { id: r.doc?.id, ms: r.ms, status: r.status, text: r.text }
        }),
      )
      return { avifAtSend, answered: performance.now(), peak: stop(), results, sent }
    }
    let waves: Array<Awaited<ReturnType<typeof wave>>>
    let uploadsMs: number
    let jobsAtUploadsDone: Awaited<ReturnType<typeof jobs>>
    let uploadsPeak: number
    let stopJobsPhase: () => number
    let secondWaitMs: number
    try {
      // Wave 1 from idle: its AVIF jobs are queued as its uploads are recorded.
      const first = wave(1)
      // Wave 2 as soon as an AVIF encode is running: 8 more uploads arrive while the jobs encode.
      const waitStart = performance.now()
      while (
        ((await app.call<Record<string, number>>('running')).heif ?? 0) === 0 &&
        performance.now() - waitStart < JOBS_DEADLINE_MS
      )
        await new Promise((resolve) => setTimeout(resolve, 20))
      secondWaitMs = performance.now() - start
      const second = wave(2)
      waves = await Promise.all([first, second])
      uploadsMs = performance.now() - start
      uploadsPeak = stopUploads()
      stopJobsPhase = watchTreeRss(app.pid)
      jobsAtUploadsDone = await jobs()
      log(
        `request-path: ${2 * BIG_UPLOADS} uploads of the 24 MP JPEG (2 waves of ${BIG_UPLOADS}) answered in ${Math.round(uploadsMs)} ms; ${jobsAtUploadsDone.left} AVIF jobs left`,
      )
    } finally {
      sampling = false
      await sampler
    }
    const end = await drained(Date.now() + JOBS_DEADLINE_MS, sample)
    const totalMs = performance.now() - start
    const jobsPeak = stopJobsPhase()
    const peak = stopAll()
    const encodes = await app.call<Encode[]>('encodes')
    log(
      `request-path: AVIF jobs done after ${Math.round(totalMs)} ms; peak RSS ${round(peak / MiB)} MiB`,
    )

    // Untimed: did every document get its AVIF versions?
    const results = waves.flatMap((w) => w.results)
    const ids = results.map((r) => r.id).filter((id) => id !== undefined)
    let withAvif = 0
    for (const id of ids) {
      const response = await fetch(`${app.baseURL}/api/${COLLECTION}/${id}?depth=0`, {
        headers: { Authorization: `JWT ${app.token}` },
      })
      const doc = (await response.json()) as { avif?: unknown[] }
      if (Array.isArray(doc.avif) && doc.avif.length > 0) withAvif++
    }
    const statusesOf = (list: typeof results) => {
      const statuses: Record<string, number> = {}
      for (const r of list) statuses[r.status] = (statuses[r.status] ?? 0) + 1
      return statuses
    }
    const refused = results.filter((r) => r.status !== 201).map((r) => r.text.slice(0, 200))
    const postgres = (await db.query<{ server_version: string }>('show server_version')).rows[0]
      .server_version
    return {
      avifEncodes: avifOverlap(encodes, epoch(start), epoch(start + uploadsMs)),
      baselineMiB: round(baselineMiB),
      docsWithAvif: withAvif,
      jobsAtEnd: end,
      jobsAtUploadsDone,
      jobsPhasePeakMiB: round(jobsPeak / MiB),
      ldPreload: env.LD_PRELOAD ?? '',
      peakMiB: round(peak / MiB),
      postgres,
      refused: [...new Set(refused)],
      secondWaveAfterMs: Math.round(secondWaitMs),
      settings: app.settings,
      statuses: statusesOf(results),
      timeline,
      totalMs: Math.round(totalMs),
      uploads: results.length,
      uploadsMs: Math.round(uploadsMs),
      uploadsPhasePeakMiB: round(uploadsPeak / MiB),
      waves: waves.map((w, k) => ({
        answeredAfterMs: Math.round(w.answered - start),
        avif: avifOverlap(encodes, epoch(w.sent), epoch(w.answered)),
        avifRunningWhenSent: w.avifAtSend,
        maxUploadMs: Math.round(Math.max(...w.results.map((r) => r.ms))),
        medianUploadMs: Math.round(median(w.results.map((r) => r.ms))),
        peakMiB: round(w.peak / MiB),
        sentAfterMs: Math.round(w.sent - start),
        statuses: statusesOf(w.results),
        wave: k + 1,
      })),
    }
  } finally {
    await app.stop()
    await db.end().catch(() => undefined)
  }
}

export const runRequestPath = async (deps: RequestPathDeps) => {
  const started = Date.now()
  const loadAtStart = os.loadavg()
  const { corpus, log } = deps
  const photos = corpus.filter((f) => /\.(jpe?g|png)$/i.test(f) && !f.endsWith(GENERATED_24MP))
  const big = corpus.find((f) => f.endsWith(GENERATED_24MP))
  if (photos.length < 5 || !big)
    throw new Error(`request-path needs at least 5 photos and ${GENERATED_24MP} in the corpus`)

  const latency = await measureLatency(deps, photos)
  log('request-path: latency part done')
  const warmFile = photos.find((f) => /cups/.test(f)) ?? photos[0]
  const rss = await measureRss(deps, big, warmFile)

  const { ldPreload, postgres, ...rssFigures } = rss
  const figures = summarize(latency.rows)
  const bigMeta = await sharp(big).metadata()
  const report = {
    durationMs: Date.now() - started,
    latency: { ...figures, photos: latency.rows, repetitions: REPS, settings: latency.settings },
    loadAverage: {
      atEnd: os.loadavg().map((l) => round(l, 2)),
      atStart: loadAtStart.map((l) => round(l, 2)),
    },
    machine: {
      cpuModel: os.cpus()[0]?.model,
      cpus: os.cpus().length,
      jemalloc: ldPreload.includes('jemalloc') ? jemallocPath() : 'not preloaded',
      memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    rss: {
      ...rssFigures,
      file: `${path.basename(big)} (${bigMeta.width} x ${bigMeta.height}, ${(await readFile(big)).length} bytes)`,
      met: rss.peakMiB < RSS_TARGET_MIB,
      target: `< ${RSS_TARGET_MIB} MiB`,
    },
    versions: {
      libvips: sharp.versions.vips,
      libwebp: sharp.versions.webp ?? 'unknown',
      payload: versionOf('node_modules/payload/package.json'),
      'payload-image-assets': versionOf('plugins/image-assets/package.json'),
      postgres,
      s3rver: versionOf('node_modules/s3rver/package.json'),
      sharp: sharp.versions.sharp,
    },
    writtenAt: new Date().toISOString(),
  }
  await writeFile(
    path.join(RESULTS_DIR, 'request-path.json'),
    `${JSON.stringify(report, null, 2)}\n`,
  )
  await writeFile(path.join(RESULTS_DIR, 'request-path.md'), markdown(report))
  log(
    `request-path: REST / floor ${figures.ratio}x (target ≤ ${LATENCY_TARGET}); peak RSS ${rss.peakMiB} MiB (target < ${RSS_TARGET_MIB}); written to test/bench/results/request-path.md`,
  )
}

const KINDS: SpanKind[] = ['sharp', 's3', 'db']

/** Medians per photo and over every upload, the ratios, and the REST breakdown. */
const summarize = (rows: PhotoRow[]) => {
  const all = (pick: (r: PhotoRow) => number[]) => rows.flatMap(pick)
  const restMs = all((r) => r.rest.map((s) => s.clientMs))
  const floorMs = all((r) => r.floor.map((s) => s.ms))
  const setMs = all((r) => r.set.map((s) => s.ms))
  const perPhoto = rows.map((r) => {
    const rest = median(r.rest.map((s) => s.clientMs))
    const floor = median(r.floor.map((s) => s.ms))
    const set = median(r.set.map((s) => s.ms))
    const handler = median(r.rest.map((s) => s.handlerMs))
    return {
      file: r.file,
      floorMs: round(floor),
      handlerMs: round(handler),
      ratio: round(rest / floor, 2),
      restMs: round(rest),
      setMs: round(set),
      setRatio: round(set / floor, 2),
      size: `${r.width} x ${r.height}`,
    }
  })
  const samples = rows.flatMap((r) => r.rest)
  const part = (f: (s: RestSample) => number) => round(median(samples.map(f)))
  const inHandler = {
    anyInstrumentedMs: part((s) => s.anyMs),
    dbMs: part((s) => s.ms.db),
    handlerMs: part((s) => s.handlerMs),
    otherMs: part((s) => s.handlerMs - s.anyMs),
    outsideHandlerMs: part((s) => s.clientMs - s.handlerMs),
    restMs: part((s) => s.clientMs),
    s3Ms: part((s) => s.ms.s3),
    s3OriginalMs: part((s) => s.s3OriginalMs),
    sharpMs: part((s) => s.ms.sharp),
  }
  const phases = {
    afterImageMs: part((s) => s.phases.afterImageMs),
    beforeImageMs: part((s) => s.phases.beforeImageMs),
    imageMs: part((s) => s.phases.imageMs),
  }
  const cpu = {
    floorCpuMs: round(median(all((r) => r.floor.map((s) => s.cpuMs)))),
    restClientAndS3CpuMs: part((s) => s.clientAndS3CpuMs),
    restServerCpuMs: part((s) => s.cpuMs),
    setCpuMs: round(median(all((r) => r.set.map((s) => s.cpuMs)))),
  }
  // The same sharp calls inside a request and in the image work alone, by output format.
  const setSamples = rows.flatMap((r) => r.set)
  const formats = [
    ...new Set([...samples, ...setSamples].flatMap((x) => Object.keys(x.sharpCalls))),
  ].sort()
  const sharpByFormat = Object.fromEntries(
    formats.map((f) => {
      const of = (list: Array<{ sharpCalls: SharpCalls }>, key: 'calls' | 'ms') =>
        round(median(list.map((x) => x.sharpCalls[f]?.[key] ?? 0)))
      return [
        f,
        {
          alone: { calls: of(setSamples, 'calls'), ms: of(setSamples, 'ms') },
          inRequest: { calls: of(samples, 'calls'), ms: of(samples, 'ms') },
        },
      ]
    }),
  )
  const counts = Object.fromEntries(KINDS.map((k) => [k, median(samples.map((s) => s.counts[k]))]))
  const s3Commands: Record<string, number> = {}
  for (const s of samples)
    for (const [name, n] of Object.entries(s.s3Commands))
      s3Commands[name] = (s3Commands[name] ?? 0) + n
  const medians = {
    floorMs: round(median(floorMs)),
    restMs: round(median(restMs)),
    setMs: round(median(setMs)),
  }
  return {
    breakdown: inHandler,
    counts,
    cpu,
    medians,
    perPhoto,
    phases,
    ratio: round(medians.restMs / medians.floorMs, 2),
    ratioMedianPerPhoto: round(median(perPhoto.map((p) => p.ratio)), 2),
    s3CommandsPerUpload: Object.fromEntries(
      Object.entries(s3Commands).map(([k, n]) => [k, round(n / samples.length, 2)]),
    ),
    setRatio: round(medians.setMs / medians.floorMs, 2),
    sharpByFormat,
    met: medians.restMs / medians.floorMs <= LATENCY_TARGET,
    target: `<= ${LATENCY_TARGET}x`,
    uploads: samples.length,
  }
}

export type Report = {
  durationMs: number
  latency: ReturnType<typeof summarize> & {
    photos: PhotoRow[]
    repetitions: number
    settings: Record<string, unknown>
  }
  loadAverage: { atEnd: number[]; atStart: number[] }
  machine: Record<string, unknown>
  rss: Omit<Awaited<ReturnType<typeof measureRss>>, 'ldPreload' | 'postgres'> & {
    file: string
    met: boolean
    target: string
  }
  versions: Record<string, string>
  writtenAt: string
}

/** The Markdown report from the JSON one (exported to re-render request-path.md from request-path.json). */
export const markdown = (r: Report) => {
  const met = (ok: boolean) => (ok ? 'met' : '**missed**')
  const m = r.machine
  const l = r.latency
  const s = l.settings as {
    effort: number
    variantEffort?: number
    keepOriginal: boolean
    limiter: { concurrency: number; maxWaitMs: number; queueDepth: number }
    placeholder: boolean
    preset: { height: number; quality: number; width: number }
    requireAlt: boolean
    shapes: Array<{ height: number; name: string; variantWidths: number[]; width: number }>
    sharpConcurrency: number
    variantWidths: number[]
  }
  const a = r.rss.avifEncodes
  const s2 = r.rss.settings as { limiter: { concurrency: number } }
  const b = l.breakdown
  const ph = l.phases
  const budget = round(LATENCY_TARGET * l.medians.floorMs)
  // The floor plus the request's cost around the image work, without the extra encodes.
  const aroundRatio = round(
    (l.medians.restMs - l.medians.setMs + l.medians.floorMs) / l.medians.floorMs,
    2,
  )
  const verdict =
    [
      l.setRatio > LATENCY_TARGET ? `the image work alone is over the target (${l.setRatio}x)` : '',
      aroundRatio > LATENCY_TARGET
        ? `the floor plus the request's cost around the image work is over it too (${aroundRatio}x)`
        : '',
    ]
      .filter(Boolean)
      .join(', and ') ||
    `neither alone is over the target (the image work ${l.setRatio}x, the floor plus the request around it ${aroundRatio}x); together they are`
  const lines = [
    '# Request path: REST upload latency against the floor, and peak RSS with AVIF jobs',
    '',
    `Written by \`npx tsx test/bench/run.ts --only request-path\` (\`npm run bench -- --only request-path\`) on ${r.writtenAt}, in ${Math.round(r.durationMs / 1000)} s. Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}; jemalloc: ${m.jemalloc}. Versions: Payload ${r.versions.payload}, payload-image-assets ${r.versions['payload-image-assets']}, sharp ${r.versions.sharp} (libvips ${r.versions.libvips}, libwebp ${r.versions.libwebp}), PostgreSQL ${r.versions.postgres}, s3rver ${r.versions.s3rver}. Load average (1, 5, 15 min) at the start ${r.loadAverage.atStart.join(', ')}, at the end ${r.loadAverage.atEnd.join(', ')}: other work shared the machine, so the timings are noisy.`,
    '',
    `The app: the reference app's own \`payload.config.ts\` in a process of its own (Payload's REST handlers served over HTTP on 127.0.0.1, PostgreSQL and s3rver in the loop, NODE_ENV=development as in the other parts). \`${COLLECTION}\`: main WebP in ${s.preset.width} x ${s.preset.height} at quality ${s.preset.quality}, effort ${s.effort}; variants ${s.variantWidths.join(', ')} px (effort ${s.variantEffort ?? s.effort}, like the shapes); placeholder ${s.placeholder ? 'on' : 'off'}; original kept: ${s.keepOriginal}; shapes ${s.shapes.map((x) => `${x.name} ${x.width} x ${x.height} (variants ${x.variantWidths.join(', ')})`).join(', ')}; alt required: ${s.requireAlt} (every upload sends one); AVIF as a queued job. Work limit: ${s.limiter.concurrency} images at once, ${s.limiter.queueDepth} waiting, ${s.limiter.maxWaitMs / 1000} s wait; sharp.concurrency ${s.sharpConcurrency}.`,
    '',
    '## 1. REST upload latency at concurrency 1 vs the raw sharp floor',
    '',
    `IMAGE_RUN_JOBS=false: no AVIF encode in the process during the measurement (each upload still queues its job). ${l.photos.length} photos, each ${l.repetitions} times after one untimed pass, one at a time, the three contestants interleaved and their order rotated on every step (${l.uploads} timed uploads):`,
    '',
    '- **REST**: an authenticated multipart `POST /api/product-images` (the file, and `_payload` with an `alt`), timed by the client from the request to the parsed answer;',
    "- **floor**: the main WebP alone, the plugin's `encodeWebP` with the collection's preset and effort, in the same app process, input already in memory;",
    "- **image work**: the plugin's `processImage` with the collection's settings, in the same process: what an upload encodes (main, variants, the `square` shape and its variant, placeholder), without HTTP, database or bucket.",
    '',
    '| photo | size | REST, median ms | floor, median ms | REST / floor | image work, median ms | image work / floor | server handler, median ms |',
    '|---|---|---|---|---|---|---|---|',
    ...l.perPhoto.map(
      (p) =>
        `| ${p.file} | ${p.size} | ${p.restMs} | ${p.floorMs} | ${p.ratio} | ${p.setMs} | ${p.setRatio} | ${p.handlerMs} |`,
    ),
    `| **all uploads** | | **${l.medians.restMs}** | **${l.medians.floorMs}** | **${l.ratio}** | ${l.medians.setMs} | ${l.setRatio} | ${b.handlerMs} |`,
    '',
    `**Median REST latency / median floor latency: ${l.ratio}x** (target ≤ ${LATENCY_TARGET}x: ${met(l.met)}). The median of the per-photo ratios is ${l.ratioMedianPerPhoto}x (${met(l.ratioMedianPerPhoto <= LATENCY_TARGET)} by that reading).`,
    '',
    "### Where a REST upload's time goes (measured in the app process)",
    '',
    'For every timed upload the app process recorded its handler time (request received to response sent) and, inside it, the time during which at least one sharp call (`toBuffer`, `metadata`), S3 call (`S3Client#send`) or PostgreSQL query (node-postgres `Client#query`) was running: the union of each kind\'s intervals. "Other" is the handler time with none of them running: Payload\'s multipart parsing, authentication, hooks, validation and JavaScript between calls. Medians over all uploads (the parts are medians of their own, so they need not add up exactly):',
    '',
    '| part | median ms | share of the REST median |',
    '|---|---|---|',
    `| REST, as the client sees it | ${b.restMs} | 1 |`,
    `| outside the handler (client, HTTP over loopback) | ${b.outsideHandlerMs} | ${round(b.outsideHandlerMs / b.restMs, 2)} |`,
    `| server handler | ${b.handlerMs} | ${round(b.handlerMs / b.restMs, 2)} |`,
    `| – sharp running (the image work) | ${b.sharpMs} | ${round(b.sharpMs / b.restMs, 2)} |`,
    `| – S3 calls running | ${b.s3Ms} | ${round(b.s3Ms / b.restMs, 2)} |`,
    `| – – the kept original's PUT running | ${b.s3OriginalMs} | ${round(b.s3OriginalMs / b.restMs, 2)} |`,
    `| – PostgreSQL queries running | ${b.dbMs} | ${round(b.dbMs / b.restMs, 2)} |`,
    `| – any of the three | ${b.anyInstrumentedMs} | ${round(b.anyInstrumentedMs / b.restMs, 2)} |`,
    `| – none of them (other) | ${b.otherMs} | ${round(b.otherMs / b.restMs, 2)} |`,
    '',
    `Per upload (medians): ${l.counts.sharp} sharp calls, ${l.counts.s3} S3 calls (on average ${Object.entries(
      l.s3CommandsPerUpload,
    )
      .map(([k, n]) => `${n} ${k}`)
      .join(
        ', ',
      )}), ${l.counts.db} PostgreSQL queries. CPU time (medians): the app server ${l.cpu.restServerCpuMs} ms per REST upload, the client and s3rver (which run in the benchmark's own process) ${l.cpu.restClientAndS3CpuMs} ms more; the image work alone ${l.cpu.setCpuMs} ms; the floor ${l.cpu.floorCpuMs} ms. PostgreSQL's own CPU is not measured.`,
    '',
    'The same sharp calls inside a request and in the image work alone, by output format (`raw`: the decode; medians over every upload or call of the number of calls and of their summed durations; concurrent calls overlap, so the sums exceed the wall time):',
    '',
    '| sharp output | calls in a request | summed ms in a request | calls alone | summed ms alone |',
    '|---|---|---|---|---|',
    ...Object.entries(l.sharpByFormat).map(
      ([f, x]) =>
        `| ${f} | ${x.inRequest.calls} | ${x.inRequest.ms} | ${x.alone.calls} | ${x.alone.ms} |`,
    ),
    '',
    `In time order (medians): ${ph.beforeImageMs} ms from the request's arrival to the first sharp call (the multipart body read and parsed, authentication, the checks before any image work), ${ph.imageMs} ms from the first sharp call to the end of the last (the image work), then ${ph.afterImageMs} ms to the answer (the objects written to S3, the document recorded, the AVIF job queued, the answer serialized).`,
    '',
    l.met
      ? `Reading: the REST median is ${l.ratio}x the floor, within the ${LATENCY_TARGET}x target.`
      : `Reading: the ${LATENCY_TARGET}x target allows a REST median of ${budget} ms on these photos. The image work alone (the encodes an upload makes, in the same process, nothing else) already takes ${l.medians.setMs} ms, ${l.setRatio}x the floor: besides the main WebP it encodes the variants, the \`square\` shape and its variant and the placeholder, ${l.cpu.setCpuMs} ms of CPU against the floor's ${l.cpu.floorCpuMs} ms. Inside the request, sharp runs for ${b.sharpMs} ms (${round(b.sharpMs / l.medians.floorMs, 2)}x the floor)${b.sharpMs > l.medians.setMs ? `, ${round(b.sharpMs - l.medians.setMs)} ms more than the same work alone (by output format in the table above)` : ''}. That leaves ${round(budget - l.medians.setMs)} ms for everything else, against ${round(b.s3Ms + b.dbMs + b.otherMs + b.outsideHandlerMs)} ms measured: S3 ${b.s3Ms} ms (of which the kept original's PUT ${b.s3OriginalMs} ms), PostgreSQL ${b.dbMs} ms, Payload's own handling ${b.otherMs} ms, client and loopback HTTP ${b.outsideHandlerMs} ms. So the miss has two measured parts: the full set of encodes (${round(l.medians.setMs - l.medians.floorMs)} ms over the floor) and the request around it (${round(l.medians.restMs - l.medians.setMs)} ms over the image work alone); ${verdict}.`,
    '',
    `## 2. Peak RSS: ${BIG_UPLOADS} concurrent 24 MP uploads with AVIF jobs running in the same process`,
    '',
    `IMAGE_RUN_JOBS=true: the app's in-process job runner makes each upload's AVIF versions (from the kept original) once the upload is recorded. Uploads and AVIF jobs share the plugin's work limit (${s2.limiter.concurrency} images at once; uploads first: a job takes a slot only when no upload is waiting for one), so a job waits behind the uploads that reached the limit, and with ${BIG_UPLOADS} uploads sent at once from idle AVIF encoding overlaps only the end of the wave. To have ${BIG_UPLOADS} concurrent uploads arrive while AVIF versions are being encoded, the run sends two waves of ${BIG_UPLOADS}: wave 1 from idle, and wave 2 as soon as the app reports an AVIF encode running (sharp calls by output format, requestPathWorker.ts). The file: ${r.rss.file}, authenticated multipart uploads with an \`alt\`. After one untimed upload and its AVIF job, the app's whole process tree RSS was sampled every 20 ms (proc.ts \`watchTreeRss\`) from the first upload until every upload was answered and no AVIF job was left in \`payload_jobs\` (polled over SQL every ${POLL_MS} ms).`,
    '',
    '| wave | sent after | answers | all answered after | median / slowest upload | AVIF encodes running when sent | AVIF encoding while the wave was in flight | peak RSS while in flight |',
    '|---|---|---|---|---|---|---|---|',
    ...r.rss.waves.map(
      (w) =>
        `| ${w.wave} | ${w.sentAfterMs} ms | ${Object.entries(w.statuses)
          .map(([k, n]) => `${n} × ${k}`)
          .join(
            ', ',
          )} | ${w.answeredAfterMs} ms | ${w.medianUploadMs} / ${w.maxUploadMs} ms | ${w.avifRunningWhenSent} | ${w.avif.avifWhileUploadsMs} of ${w.answeredAfterMs - w.sentAfterMs} ms | ${w.peakMiB} MiB |`,
    ),
    '',
    '| figure | value |',
    '|---|---|',
    `| AVIF jobs left when the last upload was answered | ${r.rss.jobsAtUploadsDone.left} of ${r.rss.uploads} (${r.rss.jobsAtUploadsDone.processing} claimed by the runner) |`,
    `| all AVIF jobs done after | ${r.rss.totalMs} ms (${r.rss.jobsAtEnd.left} left, ${r.rss.jobsAtEnd.failed} failed; ${r.rss.docsWithAvif} of ${r.rss.uploads} documents have their AVIF versions) |`,
    `| AVIF encodes (sharp calls with AVIF output) | ${a.avifCalls}, the first ${a.firstAvifAfterMs ?? '–'} ms after the first upload was sent; AVIF encoding ran ${a.avifWhileUploadsMs} ms of the ${r.rss.uploadsMs} ms with uploads in flight, ${a.avifMs} ms in all; at most ${a.mostAvifAtOnce} AVIF and ${a.mostEncodesAtOnce} WebP + AVIF encodes at once |`,
    `| RSS before the uploads | ${r.rss.baselineMiB} MiB |`,
    `| peak RSS while uploads were in flight | ${r.rss.uploadsPhasePeakMiB} MiB |`,
    `| peak RSS after, while the remaining AVIF jobs ran | ${r.rss.jobsPhasePeakMiB} MiB |`,
    `| **peak RSS, whole run** | **${r.rss.peakMiB} MiB** (target < ${RSS_TARGET_MIB} MiB: ${met(r.rss.met)}) |`,
    ...(r.rss.refused.length > 0
      ? ['', `Refused uploads answered: ${r.rss.refused.map((t) => `\`${t}\``).join('; ')}.`]
      : []),
    '',
    `The JSON has the timeline (RSS, uploads answered, AVIF jobs left and running, every ${POLL_MS} ms) and every sample of part 1.`,
    '',
  ]
  return lines.join('\n')
}
