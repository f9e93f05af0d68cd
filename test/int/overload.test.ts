/**
 * Bounded work: 20 parallel 40 MP uploads against one processing slot and a queue of two. The
 * work of the first upload to take the slot is held at a gate of the test's until all 20 uploads
 * have reached the limiter, so the outcome does not depend on how fast the machine decodes or how
 * the requests interleave: exactly one runs, two wait, and the other 17 get a 503 at once, while
 * the slot is still taken. Every accepted upload is stored, nothing is left behind for the refused
 * ones, and the server keeps answering.
 */
import { runtimeOf } from 'payload-image-assets'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { fileNamesOf } from '../helpers/imageJobs'
import { gradientJPEG } from '../helpers/images'

const UPLOADS = 20
const CONCURRENCY = 1
const QUEUE_DEPTH = 2
const BUSY =
  'The server is busy processing other images. Nothing was saved to Media; try again in a few seconds.'

let app: TestApp

beforeAll(async () => {
  app = await startTestApp({
    IMAGE_PROCESSING_CONCURRENCY: String(CONCURRENCY),
    // The queued uploads wait for the held one and then for each other: long enough for a slow
    // machine (the limit on waiting is not what this file tests).
    IMAGE_PROCESSING_MAX_WAIT_SECONDS: '300',
    IMAGE_PROCESSING_QUEUE_DEPTH: String(QUEUE_DEPTH),
  })
})

afterAll(async () => {
  await app?.stop()
})

it('20 parallel 40 MP uploads: one is processed, two wait, the other 17 get 503 at once; the accepted ones are stored, the server still answers', async () => {
  const photo = await gradientJPEG(7300, 5400, [30, 80, 160], [240, 210, 120])
  const limiter = runtimeOf(app.payload).limiter
  const run = limiter.run
  const stats = { answered: 0, arrived: 0, mostAtOnce: 0, processed: 0, running: 0 }
  let held = true
  let openGate: () => void = () => undefined
  const gate = new Promise<void>((resolve) => (openGate = resolve))
  // Every upload goes through the app's one limiter; the work the limiter runs waits at the gate.
  limiter.run = (<T>(task: () => Promise<T>) => {
    stats.arrived++
    return run.call(limiter, async () => {
      stats.running++
      stats.mostAtOnce = Math.max(stats.mostAtOnce, stats.running)
      try {
        await gate
        stats.processed++
        return await task()
      } finally {
        stats.running--
      }
    })
  }) as typeof run

  const refusedAtOnce = UPLOADS - CONCURRENCY - QUEUE_DEPTH
  let results: Array<Awaited<ReturnType<typeof uploadREST>> & { whileHeld: boolean }>
  try {
    const uploads = Promise.all(
      Array.from({ length: UPLOADS }, async (_, i) => {
        const result = await uploadREST(app, 'media', { data: photo, name: `big-${i}.jpg` })
        stats.answered++
        return { ...result, whileHeld: held }
      }),
    )
    // Every upload reaches the limiter, and those beyond the slot and the queue are answered,
    // while the first one's work is still held.
    await vi.waitFor(
      () => {
        expect(stats.arrived).toBe(UPLOADS)
        expect(stats.answered).toBe(refusedAtOnce)
      },
      { interval: 50, timeout: 120_000 },
    )
    expect([stats.running, stats.processed]).toEqual([CONCURRENCY, 0])
    // Reads are answered while the slot is taken and the queue is full.
    const read = await fetch(`${app.baseURL}/api/media?limit=1`)
    expect(read.status).toBe(200)
    await read.arrayBuffer()
    held = false
    openGate()
    results = await uploads
  } finally {
    held = false
    openGate()
    limiter.run = run
  }

  const accepted = results.filter((r) => r.status === 201)
  const refused = results.filter((r) => r.status !== 201)
  expect(accepted).toHaveLength(CONCURRENCY + QUEUE_DEPTH)
  expect(refused).toHaveLength(refusedAtOnce)
  // The accepted ones were answered once the gate opened, every refusal before it did.
  expect(accepted.every((r) => !r.whileHeld)).toBe(true)
  expect(refused.every((r) => r.whileHeld)).toBe(true)
  for (const r of refused) {
    expect(r.status).toBe(503)
    expect(r.headers.get('retry-after')).toBe('5')
    expect(r.body.errors[0].message).toBe(BUSY)
  }
  // Only the accepted uploads were decoded, one at a time.
  expect(stats.processed).toBe(CONCURRENCY + QUEUE_DEPTH)
  expect(stats.mostAtOnce).toBe(CONCURRENCY)

  const rows = await app.sql<Parameters<typeof fileNamesOf>[0]>(
    'select filename, variants, shapes from media',
  )
  expect(rows.map((r) => r.filename).sort()).toEqual(
    accepted.map((r) => r.body.doc.filename as string).sort(),
  )
  // Exactly the objects of the stored documents (each main image, its variants and its shapes),
  // nothing else.
  const expected = rows.flatMap(fileNamesOf).map((f) => `media/${f}`)
  expect((await app.listKeys('media/')).sort()).toEqual(expected.sort())
  expect((await fetch(`${app.baseURL}/api/media?limit=1`)).status).toBe(200)
}, 300_000)
