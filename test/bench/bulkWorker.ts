/**
 * A child process of the bulk-import benchmark (bulk.ts). `pipeline <files JSON> <count>
 * <concurrency>`: the plugin's pipeline alone (`processImage` with the reference app's resolved
 * product-images: guard, inspect, one decode, main, variants, shapes and placeholder, as an upload
 * runs it; AVIF is a job), no HTTP, database or bucket; reports wall and CPU time. Otherwise one AVIF worker: boots the reference app's Payload
 * (payload.config.ts, IMAGE_RUN_JOBS=false as a dedicated worker runs it), says it is ready, and on
 * `go` runs the image queue (`payload.jobs.run`, what `payload jobs:run --queue image-assets`
 * runs) in a loop until no pending job is left for it; then reports its jobs, wall and CPU time.
 */
import { readFile } from 'node:fs/promises'

import { runtimeOf } from 'payload-image-assets'
import { processImage } from 'payload-image-assets/internal'
import { getPayload, type Where } from 'payload'

import { pool } from './protocol'

const QUEUE = 'image-assets'
const LIMIT = Number(process.env.BENCH_BULK_JOB_LIMIT || 10)

const cpuMs = () => {
  const { system, user } = process.cpuUsage()
  return (system + user) / 1000
}

const bootPayload = async () =>
  getPayload({ config: (await import('../../payload.config')).default })

const pipeline = async (files: string[], count: number, concurrency: number) => {
  // The reference app's own `product-images`, resolved by the plugin: the same image work an
  // upload makes (main, variants, the `square` shape and its variant, placeholder; AVIF is a job).
  const payload = await bootPayload()
  const collection = runtimeOf(payload).collections.find((c) => c.slug === 'product-images')
  if (!collection) throw new Error("product-images is not one of the plugin's collections")
  const inputs = await Promise.all(files.map((f) => readFile(f)))
  const encode = (i: number) =>
    processImage({ data: inputs[i % inputs.length], name: files[i % files.length] }, collection)
  // Warm-up (untimed): one pass over the distinct files.
  await pool(inputs.length, concurrency, async (i) => void (await encode(i)))
  const cpuStart = cpuMs()
  const start = performance.now()
  const latencies = await pool(count, concurrency, async (i) => void (await encode(i)))
  process.send?.({
    cpuMs: cpuMs() - cpuStart,
    latencies,
    type: 'done',
    wallMs: performance.now() - start,
  })
  process.exit(0)
}

const main = async () => {
  if (process.argv[2] === 'pipeline')
    return pipeline(
      JSON.parse(process.argv[3]) as string[],
      Number(process.argv[4]),
      Number(process.argv[5]),
    )
  const payload = await bootPayload()
  const base: Where[] = [
    { queue: { equals: QUEUE } },
    { completedAt: { exists: false } },
    { hasError: { not_equals: true } },
  ]
  const count = (where: Where) =>
    payload
      .count({ collection: 'payload-jobs', overrideAccess: true, where })
      .then((r) => r.totalDocs)
  // Completed jobs are deleted (Payload's default), so the queue's jobs are counted before and after.
  const queued = () => count({ and: base })
  process.send?.({ queued: await queued(), type: 'ready' })
  await new Promise((resolve) => process.once('message', resolve))
  const cpuStart = cpuMs()
  const start = performance.now()
  // BENCH_BULK_SHARD=k/n: this worker takes only every n-th pending job (from the k-th), by id.
  let shard: Where | undefined
  if (process.env.BENCH_BULK_SHARD) {
    const [k, n] = process.env.BENCH_BULK_SHARD.split('/').map(Number)
    const { docs } = await payload.find({
      collection: 'payload-jobs',
      depth: 0,
      limit: 0,
      overrideAccess: true,
      pagination: false,
      sort: 'id',
      where: { and: base },
    })
    shard = { id: { in: docs.filter((_, i) => i % n === k).map((d) => d.id) } }
  }
  let runs = 0
  let jobs = 0
  const errors: string[] = []
  for (;;) {
    try {
      const result = (await payload.jobs.run({
        limit: LIMIT,
        queue: QUEUE,
        ...(shard ? { where: shard } : {}),
      })) as { jobStatus?: Record<string, unknown>; noJobsRemaining?: boolean }
      runs++
      jobs += Object.keys(result.jobStatus ?? {}).length
      if (result.noJobsRemaining) break
    } catch (error) {
      // Seen with two workers: both claim the same job (Payload claims by a find, then an update),
      // and the one that finishes second finds it deleted.
      errors.push(error instanceof Error ? error.message : String(error))
      if (errors.length > 50) break
    }
    if (
      (await count({
        and: [...base, { processing: { not_equals: true } }, ...(shard ? [shard] : [])],
      })) === 0
    )
      break
  }
  const cpu = cpuMs() - cpuStart
  const wallMs = performance.now() - start
  process.send?.({
    cpuMs: cpu,
    errors,
    failed: await count({ and: [{ queue: { equals: QUEUE } }, { hasError: { equals: true } }] }),
    jobs,
    left: await queued(),
    runs,
    type: 'done',
    wallMs,
  })
  await payload.destroy()
  process.exit(0)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
