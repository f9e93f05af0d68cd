/**
 * Bounded work: 20 parallel 40 MP uploads against one processing slot and a queue of two. The
 * uploads beyond the queue get a 503 at once, every accepted one is stored, nothing is left
 * behind for the refused ones, and the server keeps answering.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { gradientJPEG } from '../helpers/images'

let app: TestApp

beforeAll(async () => {
  app = await startTestApp({ IMAGE_PROCESSING_CONCURRENCY: '1', IMAGE_PROCESSING_QUEUE_DEPTH: '2' })
})

afterAll(async () => {
  await app?.stop()
})

it('20 parallel 40 MP uploads: the overflow gets 503, the rest is stored, the server still answers', async () => {
  const photo = await gradientJPEG(7300, 5400, [30, 80, 160], [240, 210, 120])
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      uploadREST(app, 'media', { data: photo, name: `big-${i}.jpg` }),
    ),
  )
  const accepted = results.filter((r) => r.status === 201)
  const refused = results.filter((r) => r.status !== 201)
  expect(accepted.length + refused.length).toBe(20)
  expect(accepted.length).toBeGreaterThanOrEqual(3)
  expect(refused.length).toBeGreaterThan(0)
  for (const r of refused) {
    expect(r.status).toBe(503)
    expect(r.headers.get('retry-after')).toBe('5')
    expect(r.body.errors[0].message).toBe(
      'The server is busy processing other images. Nothing was saved to Media; try again in a few seconds.',
    )
  }
  const rows = await app.sql<{ filename: string; variants: Array<{ filename: string }> }>(
    'select filename, variants from media',
  )
  expect(rows.length).toBe(accepted.length)
  // Exactly the objects of the stored documents (each main image and its variants), nothing else.
  const expected = rows
    .flatMap((row) => [row.filename, ...row.variants.map((v) => v.filename)])
    .map((f) => `media/${f}`)
  expect((await app.listKeys('media/')).sort()).toEqual(expected.sort())
  expect((await fetch(`${app.baseURL}/api/media?limit=1`)).status).toBe(200)
})
