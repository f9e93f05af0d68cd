/** Shared by the AVIF job tests: test images, the queue's rows, waiting on conditions. */
import sharp from 'sharp'

import type { TestApp } from './app'

export const SLUG = 'product-images' // avif and keepOriginal on in the reference app

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export const until = async <T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

export const photo = (seed: number) =>
  sharp({
    create: { background: { b: 40, g: 90 + seed, r: 160 }, channels: 3, height: 1300, width: 1900 },
  })
    .composite([
      {
        input: Buffer.from(
          `<svg width="1900" height="1300"><circle cx="${600 + seed * 10}" cy="600" r="380" fill="#236"/></svg>`,
        ),
      },
    ])
    .jpeg({ quality: 90 })
    .toBuffer()

export type Doc = {
  avif: Array<{
    filename: string
    filesize: number
    height: number
    url: string
    width: number
  }> | null
  avifSrcSet: null | string
  filename: string
  id: number
  objectKeys: string[]
  shapes?: null | Shapes
  variants: Array<{ filename: string; width: number }>
  width: number
}

export const read = async (app: TestApp, id: number) =>
  (await app.payload.findByID({ collection: SLUG, depth: 0, id })) as unknown as Doc

/** The image queue's jobs in the database, oldest first. */
export const jobs = (app: TestApp) =>
  app.sql<{
    has_error: boolean
    id: number
    input: { id: string }
    processing: boolean
    total_tried: number
  }>(
    `select id, has_error, input, processing, total_tried::int from payload_jobs where queue = 'image-assets' order by id`,
  )

/** Runs the queue until no job is left to run (what `payload jobs:run --queue image-assets` does). */
export const drain = async (app: TestApp) => {
  for (let i = 0; i < 10; i++) {
    await app.payload.jobs.run({ limit: 10, queue: 'image-assets' })
    const pending = (await jobs(app)).filter((j) => !j.has_error && !j.processing)
    const left = await app.sql(
      `select count(*)::int as n from payload_jobs where queue = 'image-assets' and completed_at is null and has_error = false`,
    )
    if (Number(left[0].n) === 0 || pending.length === 0) return
  }
}

/** Every object of the collection in the bucket equals what its documents reference, once the clean-up settled. */
export const settledBucket = async (app: TestApp) =>
  until('the clean-up to settle', async () => {
    const docs = (await app.payload.find({ collection: SLUG, depth: 0, limit: 100 }))
      .docs as unknown as Doc[]
    const referenced = docs.flatMap((d) => d.objectKeys).sort()
    const stored = [
      ...(await app.listKeys(`${SLUG}/`)),
      ...(await app.listKeys(`originals/${SLUG}/`)),
    ].sort()
    return JSON.stringify(stored) === JSON.stringify(referenced) ? stored : undefined
  })

type Named = { filename: string }
type Shapes = Record<string, Named & { avif?: Named[] | null; variants?: Named[] | null }>

/** Every file name a document's versions have: main, variants, AVIF versions, and each shape's. */
export const fileNamesOf = (doc: {
  avif?: Named[] | null
  filename: string
  shapes?: null | Shapes
  variants?: Named[] | null
}): string[] => [
  doc.filename,
  ...[...(doc.variants ?? []), ...(doc.avif ?? [])].map((v) => v.filename),
  ...Object.values(doc.shapes ?? {}).flatMap((shape) => [
    shape.filename,
    ...[...(shape.variants ?? []), ...(shape.avif ?? [])].map((v) => v.filename),
  ]),
]
