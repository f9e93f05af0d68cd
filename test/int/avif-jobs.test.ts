/**
 * AVIF versions are background work on Payload's jobs queue: an upload is answered and served as
 * WebP at once, and `avif` / `avifSrcSet` appear when the job has run. A failing job is retried and
 * recorded; a replaced or deleted image's pending job leaves nothing behind.
 *
 * Here the app runs its jobs itself (the default outside the tests); avif-queue.test.ts drains the
 * queue by hand.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { jobs, photo, read, settledBucket, SLUG, until } from '../helpers/imageJobs'

describe('in-process jobs (the default)', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ IMAGE_RUN_JOBS: 'true' })
  })
  afterAll(async () => app?.stop())

  it('the upload answers with WebP only; the AVIF versions of every width appear when the job has run', async () => {
    const { body, status } = await uploadREST(app, SLUG, {
      data: await photo(1),
      name: 'chair.jpg',
    })
    expect(status).toBe(201)
    // Complete and served at once, without AVIF.
    expect(body.doc.mimeType).toBe('image/webp')
    expect(body.doc.srcSet).toContain(`${body.doc.width}w`)
    expect([body.doc.avif, body.doc.avifSrcSet]).toEqual([null, null])

    const doc = await until('the AVIF versions', async () => {
      const current = await read(app, body.doc.id)
      return current.avif?.length ? current : undefined
    })
    const widths = [...doc.variants.map((v) => v.width), doc.width]
    expect(doc.avif!.map((v) => v.width)).toEqual(widths)
    expect(doc.filename).toBe(body.doc.filename)
    for (const version of doc.avif!) {
      expect(version.filename).toMatch(/^[0-9a-f]{16}-[0-9a-f]{8}\.avif$/)
      expect(doc.objectKeys).toContain(`${SLUG}/${version.filename}`)
      const response = await fetch(version.url)
      expect(response.headers.get('content-type')).toBe('image/avif')
      const bytes = Buffer.from(await response.arrayBuffer())
      expect(bytes.subarray(4, 12).toString('latin1')).toBe('ftypavif')
      // The plugin may block the HEIF loader for in-memory input in this process; files still load.
      const scratch = path.join(await mkdtemp(path.join(tmpdir(), 'pia-avif-')), 'v.avif')
      await writeFile(scratch, bytes)
      const meta = await sharp(scratch).metadata()
      await rm(path.dirname(scratch), { force: true, recursive: true })
      expect([meta.format, meta.width, meta.height, bytes.length]).toEqual([
        'heif',
        version.width,
        version.height,
        version.filesize,
      ])
    }
    expect(doc.avifSrcSet).toBe(doc.avif!.map((v) => `${v.url} ${v.width}w`).join(', '))
    expect((await jobs(app)).every((j) => !j.has_error)).toBe(true)
    await settledBucket(app)

    // Collections without avif queue nothing.
    const before = (await jobs(app)).length
    const media = await uploadREST(app, 'media', {
      data: await sharp(await photo(2))
        .resize(800)
        .jpeg()
        .toBuffer(),
      name: 'x.jpg',
    })
    expect([media.body.doc.avif, media.body.doc.avifSrcSet]).toEqual([null, null])
    expect((await jobs(app)).length).toBe(before)
  })
})
