/**
 * Bulk import (`npm run bench -- --only bulk`; not part of the full run): throughput that scales.
 * - the plugin's pipeline alone (bulkWorker.ts `pipeline`: `processImage` with the reference app's
 *   resolved product-images, the image work an upload makes; no HTTP, database or bucket), 4 at a
 *   time, images/s;
 * - the reference app (its own payload.config.ts: product-images with AVIF and kept originals) with
 *   IMAGE_RUN_JOBS=false, N authenticated multipart uploads to /api/product-images over REST,
 *   4 in flight, PostgreSQL and S3 in the loop, images/s; each upload queues one AVIF job;
 * - those AVIF jobs drained by 1 worker process, then (after a second import of N fresh uploads)
 *   by 2 worker processes at once, then (after a third) by 2 each given its own half of the
 *   pending jobs (bulkWorker.ts: `payload.jobs.run` on the image-assets queue in a loop until
 *   nothing is pending for it, as `payload jobs:run --queue image-assets` does), jobs/s.
 * N is 200, or BENCH_BULK_COUNT (60 takes about 6 minutes on 2 cores). The corpus (without the
 * generated 24 MP JPEG) is cycled; the app does not deduplicate, so repeats are fresh uploads.
 * Writes test/bench/results/bulk.{json,md}.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { jemallocPath, runtimeNodeArgs } from '../../scripts/runtime-env.mjs'
import { pool, uploadForm } from './protocol'
import type { RestWorker } from './readLatency'
import { quantile } from './report'

type Env = Record<string, string | undefined>
export type BulkDeps = {
  benchFiles: string[]
  log: (line: string) => void
  pluginEnv: (name: string, extra: Record<string, string>) => Promise<Env>
  startWorker: (name: string, mode: 'plugin-rest', env: Env) => Promise<RestWorker>
}

type Timed = { cpuMs: number; wallMs: number }
type Drain = Timed & {
  claimed: number
  errors: string[]
  jobs: number
  left: number
  shard: boolean
  pinned: boolean
  failed: number
  perWorker: Array<Timed & { jobs: number; runs: number }>
  jobsPerSecond: number
  workers: number
}
type Import = {
  clientAndS3CpuMs?: number
  images: number
  imagesPerSecond: number
  medianMs: number
  serverCpuMs?: number
  wallMs: number
}

const here = path.dirname(fileURLToPath(import.meta.url))
const RESULTS_DIR = path.resolve('test/bench/results')
const COUNT = Number(process.env.BENCH_BULK_COUNT || 200)
const CONCURRENCY = 4
const JOB_LIMIT = 10
const UPLOAD_DEADLINE_MS = 180_000
/**
 * Drains: 1 worker, 2 workers as `jobs:run` runs them, 2 workers each on its own share; then 1 and
 * 2 workers each held to a core of its own (`taskset`), as on one-core machines: on this machine
 * one unpinned worker already keeps every core busy, so only pinned workers show what a second
 * machine adds.
 */
type DrainPlan = { pinned: boolean; shard: boolean; workers: number }
const DRAINS: DrainPlan[] = [
  { pinned: false, shard: false, workers: 1 },
  { pinned: false, shard: false, workers: 2 },
  { pinned: false, shard: true, workers: 2 },
  { pinned: true, shard: false, workers: 1 },
  { pinned: true, shard: false, workers: 2 },
]
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits

const child = (args: string[], env: Env): ChildProcess =>
  fork(path.join(here, 'bulkWorker.ts'), args, {
    env: { ...env, BENCH_BULK_JOB_LIMIT: String(JOB_LIMIT) } as unknown as NodeJS.ProcessEnv,
    execArgv: ['--import', 'tsx', ...runtimeNodeArgs],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })

const message = <T>(c: ChildProcess, type: string) =>
  new Promise<T>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`bulkWorker exited with ${code}`))
    c.once('exit', onExit)
    const onMessage = (m: unknown) => {
      if ((m as { type?: string }).type !== type) return
      c.off('message', onMessage)
      c.off('exit', onExit)
      resolve(m as T)
    }
    c.on('message', onMessage)
  })

const pipelineAlone = async (files: string[], env: Env) => {
  const c = child(['pipeline', JSON.stringify(files), String(COUNT), String(CONCURRENCY)], env)
  const r = await message<Timed & { latencies: number[] }>(c, 'done')
  return {
    cpuMs: Math.round(r.cpuMs),
    images: COUNT,
    imagesPerSecond: round(COUNT / (r.wallMs / 1000)),
    medianMs: Math.round(quantile(r.latencies, 0.5)),
    wallMs: Math.round(r.wallMs),
  }
}

const cpuNow = () => {
  const { system, user } = process.cpuUsage()
  return (system + user) / 1000
}

const restImport = async (worker: RestWorker, files: string[], inputs: Buffer[], count: number) => {
  await worker.call({ type: 'mark' })
  const parentCpu = cpuNow()
  const start = performance.now()
  const latencies = await pool(count, CONCURRENCY, async (i) => {
    const file = files[i % files.length]
    const name = `${i}-${path.basename(file)}`
    const form = uploadForm(inputs[i % files.length], file, name, `Bulk import ${i}`)
    const response = await fetch(`${worker.baseURL}/api/product-images`, {
      body: form,
      headers: { Authorization: `JWT ${worker.token}` },
      method: 'POST',
      signal: AbortSignal.timeout(UPLOAD_DEADLINE_MS),
    })
    const text = await response.text()
    if (response.status !== 201)
      throw new Error(`bulk: upload of ${file} failed: ${response.status} ${text.slice(0, 300)}`)
  })
  const wallMs = performance.now() - start
  const clientCpuMs = cpuNow() - parentCpu
  const server = await worker.call<{ cpuMs: number }>({ type: 'measure' })
  return {
    // This process: the HTTP client and s3rver (the bucket), which run in it.
    clientAndS3CpuMs: Math.round(clientCpuMs),
    images: count,
    serverCpuMs: Math.round(server.cpuMs),
    imagesPerSecond: round(count / (wallMs / 1000)),
    medianMs: Math.round(quantile(latencies, 0.5)),
    wallMs: Math.round(wallMs),
  } satisfies Import
}

type Done = Timed & { errors: string[]; failed: number; jobs: number; left: number; runs: number }

/**
 * `workers` processes booted one after the other (untimed), then started at once; until all are
 * done. `shard`: each worker takes its own share of the pending jobs (BENCH_BULK_SHARD). `pinned`:
 * worker k and all its threads are held to core k (`taskset -a`), and its work limit is 1 image.
 */
const drain = async (
  workers: number,
  env: Env,
  { pinned, shard }: { pinned: boolean; shard: boolean },
): Promise<Drain> => {
  const children: ChildProcess[] = []
  let queued = 0
  try {
    for (let k = 0; k < workers; k++) {
      const c = child([], {
        ...env,
        ...(shard ? { BENCH_BULK_SHARD: `${k}/${workers}` } : {}),
        ...(pinned ? { IMAGE_PROCESSING_CONCURRENCY: '1' } : {}),
      })
      queued = (await message<{ queued: number }>(c, 'ready')).queued
      // Threads started later (libvips') inherit the affinity of the thread that starts them.
      if (pinned)
        execFileSync('taskset', ['-a', '-p', '-c', String(k % os.cpus().length), String(c.pid)], {
          stdio: 'ignore',
        })
      children.push(c)
    }
    const start = performance.now()
    const done = children.map((c) => message<Done>(c, 'done'))
    for (const c of children) c.send({ type: 'go' })
    const results = await Promise.all(done)
    const wallMs = performance.now() - start
    const left = Math.min(...results.map((r) => r.left))
    const jobs = queued - left
    return {
      claimed: results.reduce((a, r) => a + r.jobs, 0),
      cpuMs: Math.round(results.reduce((a, r) => a + r.cpuMs, 0)),
      errors: results.flatMap((r) => r.errors),
      failed: Math.max(...results.map((r) => r.failed)),
      jobs,
      jobsPerSecond: round(jobs / (wallMs / 1000)),
      left,
      perWorker: results.map((r) => ({
        cpuMs: Math.round(r.cpuMs),
        jobs: r.jobs,
        runs: r.runs,
        wallMs: Math.round(r.wallMs),
      })),
      pinned,
      shard,
      wallMs: Math.round(wallMs),
      workers,
    }
  } finally {
    for (const c of children) c.kill()
  }
}

export const runBulk = async (deps: BulkDeps) => {
  const { benchFiles, log } = deps
  const inputs = await Promise.all(benchFiles.map((f) => readFile(f)))
  const env: Env = { ...(await deps.pluginEnv('bulk', {})), IMAGE_RUN_JOBS: 'false' }

  const pipeline = await pipelineAlone(benchFiles, env)
  log(`bulk: pipeline alone ${pipeline.imagesPerSecond} images/s`)

  const app = await deps.startWorker('plugin: REST, reference app config', 'plugin-rest', {
    ...env,
    BENCH_APP_CONFIG: '1',
  })
  const imports: Import[] = []
  const drains: Drain[] = []
  try {
    // Warm-up (untimed): one upload of each distinct file; their AVIF jobs are drained (untimed).
    await restImport(app, benchFiles, inputs, benchFiles.length)
    const workerEnv: Env = { ...env, NODE_ENV: 'development' }
    const warm = await drain(1, workerEnv, { pinned: false, shard: false })
    log(`bulk: warm-up done (${warm.jobs} AVIF jobs drained)`)
    for (const plan of DRAINS) {
      const imported = await restImport(app, benchFiles, inputs, COUNT)
      imports.push(imported)
      log(`bulk: REST import ${imported.imagesPerSecond} images/s`)
      const drained = await drain(plan.workers, workerEnv, plan)
      drains.push(drained)
      log(
        `bulk: AVIF drain with ${plan.workers} worker(s)${plan.shard ? ', sharded' : ''}${plan.pinned ? ', one core each' : ''}: ${drained.jobsPerSecond} jobs/s, ${drained.errors.length} errors, ${drained.claimed} claims for ${drained.jobs} jobs`,
      )
    }
  } finally {
    app.child.kill()
  }
  const restWall = imports.reduce((a, r) => a + r.wallMs, 0)
  const restImagesPerSecond = round((imports.length * COUNT) / (restWall / 1000))
  const figures = {
    concurrency: CONCURRENCY,
    count: COUNT,
    drains,
    files: benchFiles.map((f) => path.basename(f)),
    imports,
    jobLimit: JOB_LIMIT,
    machine: {
      cpuModel: os.cpus()[0]?.model,
      cpus: os.cpus().length,
      jemalloc: (env.LD_PRELOAD ?? '').includes('jemalloc') ? jemallocPath() : 'not preloaded',
      memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    pipeline,
    ratios: {
      restVsPipeline: round(restImagesPerSecond / pipeline.imagesPerSecond),
      twoPinnedVsOnePinned: round(drains[4].jobsPerSecond / drains[3].jobsPerSecond),
      twoShardedVsOne: round(drains[2].jobsPerSecond / drains[0].jobsPerSecond),
      twoWorkersVsOne: round(drains[1].jobsPerSecond / drains[0].jobsPerSecond),
    },
    restImagesPerSecond,
    writtenAt: new Date().toISOString(),
  }
  await writeFile(path.join(RESULTS_DIR, 'bulk.json'), `${JSON.stringify(figures, null, 2)}\n`)
  await writeFile(path.join(RESULTS_DIR, 'bulk.md'), markdown(figures))
  log('bulk: results written to test/bench/results/bulk.md')
}

const markdown = (f: {
  concurrency: number
  count: number
  drains: Drain[]
  files: string[]
  imports: Import[]
  jobLimit: number
  machine: Record<string, unknown>
  pipeline: Import & { cpuMs: number }
  ratios: {
    restVsPipeline: number
    twoPinnedVsOnePinned: number
    twoShardedVsOne: number
    twoWorkersVsOne: number
  }
  restImagesPerSecond: number
  writtenAt: string
}) => {
  const met = (ok: boolean) => (ok ? 'met' : '**missed**')
  const m = f.machine
  const busy = (d: Drain) => round(d.cpuMs / d.wallMs / Number(m.cpus))
  return [
    '# Bulk import',
    '',
    `Written by \`npm run bench -- --only bulk\` on ${f.writtenAt}. Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}; jemalloc: ${m.jemalloc}. ${f.count} images per import, the corpus cycled (${f.files.join(', ')}), \`product-images\` (WebP main, variants and placeholder at once; AVIF as a queued job; original kept), ${f.concurrency} at a time.`,
    '',
    '| step | images | wall | images/s | median per image | CPU (REST: the app server) | CPU per image | CPU of the client and s3rver (REST) |',
    '|---|---|---|---|---|---|---|---|',
    `| pipeline alone (\`processImage\`: what an upload encodes, no HTTP, database or bucket) | ${f.pipeline.images} | ${f.pipeline.wallMs} ms | ${f.pipeline.imagesPerSecond} | ${f.pipeline.medianMs} ms | ${f.pipeline.cpuMs} ms | ${Math.round(f.pipeline.cpuMs / f.pipeline.images)} ms | |`,
    ...f.imports.map(
      (r, i) =>
        `| REST import ${i + 1} (app with IMAGE_RUN_JOBS=false) | ${r.images} | ${r.wallMs} ms | ${r.imagesPerSecond} | ${r.medianMs} ms | ${r.serverCpuMs} ms | ${Math.round(r.serverCpuMs! / r.images)} ms | ${r.clientAndS3CpuMs} ms |`,
    ),
    '',
    `REST, all imports: **${f.restImagesPerSecond} images/s**, ${f.ratios.restVsPipeline}x the pipeline alone (target ≥ 0.8: ${met(f.ratios.restVsPipeline >= 0.8)}).`,
    '',
    `AVIF jobs: each import's jobs drained before the next import: import 1's by 1 worker process, import 2's by 2 at once as \`payload jobs:run --queue image-assets\` runs them (each claims up to ${f.jobLimit} pending jobs per run), import 3's by 2 at once with each worker given its own half of the pending jobs (by id; a \`where\` on \`payload.jobs.run\`). Each worker runs \`payload.jobs.run({ queue: 'image-assets', limit: ${f.jobLimit} })\` in a loop until nothing is left for it; Payload runs a run's jobs concurrently, and the plugin bounds the encodes to \`processing.concurrency\` (the number of CPUs) per process. Workers are booted before the clock starts. Completed jobs are deleted (Payload's default), so jobs are counted in the queue before and after.`,
    '',
    '| workers | jobs | jobs in the workers’ run results (a run that threw reports none) | wall | jobs/s | errors in the worker | failed jobs | CPU, all workers | CPU busy (share of all cores) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...f.drains.map(
      (d) =>
        `| ${d.workers}${d.shard ? ', each its own half' : ''}${d.pinned ? ', one core each' : ''} | ${d.jobs} | ${d.claimed} | ${d.wallMs} ms | ${d.jobsPerSecond} | ${d.errors.length} | ${d.failed} | ${d.cpuMs} ms | ${busy(d)} |`,
    ),
    '',
    `2 workers / 1 worker, each on a core of its own (as on one-core machines): **${f.ratios.twoPinnedVsOnePinned}** (target ≥ 1.7: ${met(f.ratios.twoPinnedVsOnePinned >= 1.7)}). Unpinned, on this ${m.cpus}-core machine where one worker already keeps every core busy: ${f.ratios.twoWorkersVsOne} as \`jobs:run\` runs them, ${f.ratios.twoShardedVsOne} with each worker on its own half.`,
    ...(f.drains.some((d) => d.errors.length > 0)
      ? [
          '',
          `Errors seen in the workers (first of each): ${[
            ...new Set(f.drains.flatMap((d) => d.errors)),
          ]
            .slice(0, 3)
            .map((e) => `\`${e.slice(0, 160)}\``)
            .join('; ')}.`,
        ]
      : []),
    '',
  ].join('\n')
}
