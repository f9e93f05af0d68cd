/**
 * `npm run bench`: the plugin against the seed's Pillow pipeline, Payload's own upload path
 * configured by hand, and the raw sharp floor, on the same corpus and presets in one run,
 * interleaved. Writes test/bench/results/latest.{json,md,svg}, then the extras (extras.ts) to
 * operations.{json,md}. `--only extras` (or BENCH_ONLY=extras) runs only the extras;
 * `--only read-latency` (or BENCH_ONLY=read-latency) only the read latency under uploads;
 * `--only avif` only AVIF at equal SSIM, `--only full-set` only the full request-path set against
 * the main image alone (avif.ts, to avif.{json,md}; not part of the full run: the AVIF search
 * alone takes longer than the rest); `--only bulk` only the bulk import (bulk.ts, to
 * bulk.{json,md}; not part of the full run either); `--only request-path` only the reference app's
 * REST upload latency against the floor and its peak RSS with AVIF jobs running (requestPath.ts,
 * to request-path.{json,md}; not part of the full run either).
 * Never part of `npm test`.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { BUILT_IN_COLLECTIONS } from 'payload-image-assets'
import { encodeWebP } from 'payload-image-assets/internal'
import sharp from 'sharp'

import { runtimeEnv, runtimeNodeArgs } from '../../scripts/runtime-env.mjs'
import {
  ensureDatabase,
  freePort,
  S3RVER_CREDENTIALS,
  scratchPostgres,
  startS3rver,
} from '../../src/dev/services'
import { AVIF_PARTS } from './avif'
import { runBulk } from './bulk'
import { ensureCorpus, GENERATED_24MP } from './corpus'
import { type ExtrasDeps, runExtras, runReadLatencyOnly } from './extras'
import { ensurePrerequisites, sharedBenchFile } from './prerequisites'
import { watchTreeRss } from './proc'
import { ssimAgainstSource } from './quality'
import { type Cell, type Lever, type Results, type WebPDecode, writeReport } from './report'
import { runRequestPath } from './requestPath'
import { type Measure, mimeTypeOf, type Mode, pool, type RunResult } from './protocol'

const here = path.dirname(fileURLToPath(import.meta.url))
const PRESETS = Object.keys(BUILT_IN_COLLECTIONS) as Array<keyof typeof BUILT_IN_COLLECTIONS>
const CONCURRENCY = [1, 2, 4, 8]

export const CONTESTANTS = {
  floor: 'floor: raw sharp',
  payloadHand: 'Payload by hand: payload.create',
  pluginLocal: 'plugin: payload.create',
  pluginREST: 'plugin: REST',
  seed: (workers: number) => `seed: Pillow --workers ${workers}`,
} as const

type Env = Record<string, string | undefined>
type Worker = {
  baseURL?: string
  call: <T>(message: Record<string, unknown>) => Promise<T>
  child: ChildProcess
  mode: Mode
  name: string
  token?: string
}

let nextId = 1

/** `--only <part>`, `--only=<part>` or BENCH_ONLY=<part>: extras, read-latency, bulk, request-path, avif, full-set. */
const ONLY_PARTS = ['extras', 'read-latency', 'bulk', 'request-path', ...AVIF_PARTS]
const only = (() => {
  const argv = process.argv.slice(2)
  const at = argv.findIndex((a) => a === '--only' || a.startsWith('--only='))
  const value =
    at < 0
      ? process.env.BENCH_ONLY
      : argv[at].includes('=')
        ? argv[at].slice('--only='.length)
        : argv[at + 1]
  if (value !== undefined && value !== '' && !ONLY_PARTS.includes(value))
    throw new Error(`--only takes one of: ${ONLY_PARTS.join(', ')} (got ${value})`)
  return value || undefined
})()

const startWorker = async (
  name: string,
  mode: Mode,
  files: string[],
  env: Env,
): Promise<Worker> => {
  const child = fork(path.join(here, 'worker.ts'), [mode, JSON.stringify(files)], {
    env: { ...env, NODE_ENV: 'development' } as NodeJS.ProcessEnv,
    execArgv: ['--import', 'tsx', ...runtimeNodeArgs],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const ready = await new Promise<{ baseURL?: string; token?: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { baseURL?: string; token?: string }))
    child.once('exit', (code) =>
      reject(new Error(`${name} exited with ${code} before it was ready`)),
    )
  })
  const call = <T>(message: Record<string, unknown>) =>
    new Promise<T>((resolve) => {
      const id = nextId++
      const onMessage = (m: unknown) => {
        if ((m as { id?: number }).id !== id) return
        child.off('message', onMessage)
        resolve(m as T)
      }
      child.on('message', onMessage)
      child.send({ ...message, id })
    })
  return { ...ready, call, child, mode, name }
}

/**
 * avif.ts's parts in a process of their own with the production runtime settings (jemalloc), as
 * the plugin's contestants run; no database or bucket needed.
 */
const runAvifParts = (parts: readonly string[]) =>
  new Promise<void>((resolve, reject) => {
    const child = fork(path.join(here, 'avif.ts'), parts, {
      env: runtimeEnv(process.env) as NodeJS.ProcessEnv,
      execArgv: ['--import', 'tsx', ...runtimeNodeArgs],
      stdio: 'inherit',
    })
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`avif.ts ${parts.join(' ')} exited with ${code}`)),
    )
  })

const restUpload = async (
  worker: Worker,
  collection: string,
  file: string,
  data: Buffer,
): Promise<string> => {
  const form = new FormData()
  form.append(
    'file',
    new Blob([new Uint8Array(data)], { type: mimeTypeOf(file) }),
    path.basename(file),
  )
  const response = await fetch(`${worker.baseURL}/api/${collection}`, {
    body: form,
    headers: { Authorization: `JWT ${worker.token}` },
    method: 'POST',
  })
  const body = (await response.json()) as { doc?: { url: string } }
  if (response.status !== 201 || !body.doc)
    throw new Error(`REST upload of ${file} failed: ${response.status} ${JSON.stringify(body)}`)
  return body.doc.url
}

const saveOutputs = async (dir: string, names: string[], outputs: Buffer[]) => {
  await mkdir(dir, { recursive: true })
  await Promise.all(
    outputs.map((o, i) => writeFile(path.join(dir, `${path.basename(names[i])}.webp`), o)),
  )
}

/** One cell for any contestant: the same files, preset and concurrency. */
const runCell = async (
  worker: Worker,
  preset: string,
  files: string[],
  indexes: number[],
  inputs: Buffer[],
  concurrency: number,
  saveTo?: string,
): Promise<Cell> => {
  if (!worker.baseURL) {
    const r = await worker.call<RunResult>({
      collection: preset,
      concurrency,
      indexes,
      saveTo,
      type: 'run',
    })
    return {
      cpuMs: r.cpuMs,
      latencies: r.latencies,
      outputBytes: r.outputs,
      peakRss: r.peakRss,
      wallMs: r.wallMs,
    }
  }
  // REST: this process is the HTTP client; the server reports its own CPU time and peak RSS.
  await worker.call({ type: 'mark' })
  const urls: string[] = []
  const start = performance.now()
  const latencies = await pool(indexes.length, concurrency, async (i) => {
    urls[i] = await restUpload(worker, preset, files[indexes[i]], inputs[indexes[i]])
  })
  const wallMs = performance.now() - start
  const measured = await worker.call<Measure>({ type: 'measure' })
  const outputs = await Promise.all(
    urls.map(async (u) => Buffer.from(await (await fetch(u)).arrayBuffer())),
  )
  if (saveTo)
    await saveOutputs(
      saveTo,
      indexes.map((i) => files[i]),
      outputs,
    )
  return {
    cpuMs: measured.cpuMs,
    latencies,
    outputBytes: outputs.map((o) => o.length),
    peakRss: measured.peakRss,
    wallMs,
  }
}

const runSeed = async (
  preset: string,
  workers: number,
  files: string[],
  outDir: string,
): Promise<Cell> => {
  const { height, quality, width } =
    BUILT_IN_COLLECTIONS[preset as keyof typeof BUILT_IN_COLLECTIONS].preset
  const child = spawn(
    '/usr/bin/python3',
    [
      sharedBenchFile('seed_pipeline.py', 'BENCH_SEED_SCRIPT'),
      '--box',
      `${width}x${height}`,
      '--quality',
      String(quality),
      '--workers',
      String(workers),
      '--out',
      outDir,
      ...files,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const stopWatch = watchTreeRss(child.pid!)
  let stdout = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  const peak = stopWatch()
  if (code !== 0) throw new Error(`the seed pipeline failed (exit ${code})`)
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const summary = lines.pop()
  const byFile = new Map(lines.map((l: { bytes: number; file: string; ms: number }) => [l.file, l]))
  const rows = files.map((f) => byFile.get(path.basename(f))!)
  return {
    cpuMs: Number.NaN,
    latencies: rows.map((r) => r.ms),
    outputBytes: rows.map((r) => r.bytes),
    peakRss: peak,
    wallMs: summary.wallMs,
  }
}

const main = async () => {
  const started = Date.now()
  ensurePrerequisites()
  const corpus = await ensureCorpus()
  if (only === 'avif' || only === 'full-set') {
    await runAvifParts([only])
    return
  }
  const inputs = await Promise.all(corpus.map((f) => readFile(f)))
  const benchIdx = corpus.map((f, i) => (f.endsWith(GENERATED_24MP) ? -1 : i)).filter((i) => i >= 0)
  const bigIdx = corpus.findIndex((f) => f.endsWith(GENERATED_24MP))
  const benchFiles = benchIdx.map((i) => corpus[i])
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'pia-bench-'))
  const outputsDir = path.join(tmp, 'out')
  const stops: Array<() => Promise<void>> = []
  const workers: Worker[] = []
  const log = (line: string) =>
    console.log(`[bench ${Math.round((Date.now() - started) / 1000)} s] ${line}`)

  try {
    const pg = await scratchPostgres(path.join(tmp, 'pg'))
    stops.push(pg.stop)
    const { adminURI } = pg
    const s3 = await startS3rver({
      buckets: [],
      directory: path.join(tmp, 's3'),
      port: await freePort(),
    })
    stops.push(s3.stop)
    const s3Client = new S3Client({
      credentials: S3RVER_CREDENTIALS,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
    })

    const envFor = async (name: string, extra: Env = {}): Promise<Env> => {
      const id = `${name}_${randomBytes(3).toString('hex')}`
      await ensureDatabase(adminURI, `bench_${id}`)
      const uri = new URL(adminURI)
      uri.pathname = `/bench_${id}`
      const bucket = `bench-${id.replace(/_/g, '-')}`
      await s3Client.send(new CreateBucketCommand({ Bucket: bucket }))
      // Every Node contestant runs with the production runtime settings (`npm start`), so that
      // the comparison is between pipelines, not between process set-ups.
      return runtimeEnv({
        ...process.env,
        DATABASE_URI: uri.toString(),
        PAYLOAD_SECRET: 'bench-only',
        S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        S3_BUCKET: bucket,
        S3_ENDPOINT: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        S3_REGION: 'us-east-1',
        S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        ...extra,
      })
    }

    // Payload by hand runs as Payload users run it: plain Node, glibc malloc, no tuning. The
    // allocator's share of any difference is shown on its own in the levers table.
    const handEnv = await envFor('payload_hand')
    delete handEnv.LD_PRELOAD
    delete handEnv.MALLOC_ARENA_MAX
    const extrasDeps: ExtrasDeps = {
      benchFiles,
      benchIdx,
      corpus,
      handEnv,
      inputs,
      log,
      pluginEnv: (name, extra) => envFor(name, extra),
      runCell: (w, preset, indexes, c) => runCell(w as Worker, preset, corpus, indexes, inputs, c),
      startWorker: async (name, mode, env) => {
        const w = await startWorker(name, mode, corpus, env)
        workers.push(w)
        return w
      },
    }
    const extras = () => runExtras(extrasDeps)
    if (only === 'extras') {
      await extras()
      log('results written to test/bench/results/operations.md')
      return
    }
    if (only === 'bulk') {
      await runBulk(extrasDeps)
      return
    }
    if (only === 'request-path') {
      await runRequestPath({ corpus, log, pluginEnv: (name, extra) => envFor(name, extra) })
      return
    }
    if (only === 'read-latency') {
      await runReadLatencyOnly(extrasDeps)
      log(
        'read latency written to test/bench/results/operations.md (the other figures there are kept from the last run)',
      )
      return
    }

    log('starting the contestants')
    workers.push(await startWorker(CONTESTANTS.floor, 'floor', corpus, await envFor('floor')))
    workers.push(
      await startWorker(
        CONTESTANTS.pluginLocal,
        'plugin-local',
        corpus,
        await envFor('plugin_local'),
      ),
    )
    workers.push(
      await startWorker(CONTESTANTS.pluginREST, 'plugin-rest', corpus, await envFor('plugin_rest')),
    )
    workers.push(await startWorker(CONTESTANTS.payloadHand, 'payload-hand', corpus, handEnv))

    const results: Results = {}
    const save = (name: string, preset: string, c: number, cell: Cell) =>
      (((results[name] ??= {})[preset] ??= {})[c] = cell)

    // Warm-up (untimed): first-call costs (module loading, codecs, schema, connections) out of the figures.
    for (const w of workers) await runCell(w, 'avatars', corpus, benchIdx, inputs, 2)

    let round = 0
    for (const c of CONCURRENCY) {
      for (const preset of PRESETS) {
        const seedRuns = c <= 2 ? [c] : []
        const entries: Array<() => Promise<void>> = [
          ...workers.map((w) => async () => {
            const saveTo = c === 1 ? path.join(outputsDir, w.mode, preset) : undefined
            save(w.name, preset, c, await runCell(w, preset, corpus, benchIdx, inputs, c, saveTo))
          }),
          ...seedRuns.map((n) => async () => {
            save(
              CONTESTANTS.seed(n),
              preset,
              c,
              await runSeed(preset, n, benchFiles, path.join(outputsDir, `seed-w${n}`, preset)),
            )
          }),
        ]
        // Rotate the order cell by cell so that machine drift does not favour one contestant.
        for (let k = 0; k < entries.length; k++) await entries[(k + round) % entries.length]()
        round++
        log(`concurrency ${c}, ${preset}: done`)
      }
    }

    // 24 MP JPEG, 8 concurrent uploads: whole-process peak RSS of each server-side contestant.
    const big: Results = {}
    const bigRuns = [
      workers.find((w) => w.mode === 'plugin-rest')!,
      workers.find((w) => w.mode === 'plugin-local')!,
      workers.find((w) => w.mode === 'payload-hand')!,
    ]
    for (const w of bigRuns) {
      try {
        ;((big[w.name] ??= {}).media ??= {})[8] = await runCell(
          w,
          'media',
          corpus,
          Array(8).fill(bigIdx),
          inputs,
          8,
        )
      } catch (error) {
        log(
          `24 MP scenario failed for ${w.name}: ${error instanceof Error ? error.message : String(error)}`,
        )
      }
    }
    log('24 MP scenario: done')

    // Levers, on the floor (the pipeline alone), media preset: allocator and libvips threads.
    const levers: Lever[] = []
    const leverSetups: Array<[string, Env]> = [
      ['glibc malloc, sharp.concurrency default', { LD_PRELOAD: '', MALLOC_ARENA_MAX: '' }],
      ['glibc malloc, MALLOC_ARENA_MAX=2', { LD_PRELOAD: '', MALLOC_ARENA_MAX: '2' }],
      ['jemalloc, sharp.concurrency default', {}],
      ['jemalloc, sharp.concurrency(1)', { BENCH_SHARP_CONCURRENCY: '1' }],
      ['jemalloc, VIPS_CONCURRENCY=1', { VIPS_CONCURRENCY: '1' }],
      ['jemalloc, sharp.cache(false)', { BENCH_SHARP_CACHE: '0' }],
    ]
    for (const [label, extra] of leverSetups) {
      const env = { ...runtimeEnv(process.env), ...extra }
      if (env.LD_PRELOAD === '') delete env.LD_PRELOAD
      if (env.MALLOC_ARENA_MAX === '') delete env.MALLOC_ARENA_MAX
      const w = await startWorker(label, 'floor', corpus, env)
      await runCell(w, 'media', corpus, benchIdx, inputs, 2)
      const one = await runCell(w, 'media', corpus, benchIdx, inputs, 1)
      const four = await runCell(w, 'media', corpus, benchIdx, inputs, 4)
      const bigCell = await runCell(w, 'media', corpus, Array(8).fill(bigIdx), inputs, 8)
      levers.push({ label, one, four, big8: bigCell })
      w.child.kill()
    }
    log('levers: done')

    // The WebP decision, measured: the plugin's full decode against libwebp's scaled decode
    // (sharp's default, which Payload's own path uses), same encoder settings.
    const webpDecode: WebPDecode[] = []
    for (const file of benchFiles.filter((f) => f.endsWith('.webp'))) {
      const input = inputs[corpus.indexOf(file)]
      for (const preset of PRESETS) {
        const p = BUILT_IN_COLLECTIONS[preset].preset
        const variants = [
          ['full decode (plugin)', () => encodeWebP(input, p, 6).then((r) => r.data)],
          [
            'scaled decode (sharp default, Payload)',
            () =>
              sharp(input)
                .autoOrient()
                .resize({
                  fit: 'inside',
                  height: p.height,
                  width: p.width,
                  withoutEnlargement: true,
                })
                .webp({ effort: 6, quality: p.quality })
                .toBuffer(),
          ],
        ] as const
        for (const [variant, encode] of variants) {
          const start = performance.now()
          const out = await encode()
          const ms = Math.round(performance.now() - start)
          webpDecode.push({
            bytes: out.length,
            file: path.basename(file),
            ms,
            preset,
            ssim: Math.round((await ssimAgainstSource(file, out)) * 10000) / 10000,
            variant,
          })
        }
      }
    }
    log('WebP decode comparison: done')

    await writeReport({ big, corpus: benchFiles, levers, outputsDir, results, started, webpDecode })
    log('results written to test/bench/results/')
    for (const w of workers.splice(0)) w.child.kill()
    await extras()
    log('variants and operations figures written to test/bench/results/operations.md')
  } finally {
    for (const w of workers) w.child.kill()
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await rm(tmp, { force: true, recursive: true })
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
