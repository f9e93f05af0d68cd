/**
 * All or nothing: S3 failing on the first or the second write of an upload, and deletes that keep failing. In every failure the
 * request fails with a clear 5xx, no row is left, no object is left, and the server keeps answering.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { cleanupRunnerOf, recordUpload, settleUpload } from 'payload-image-assets/internal'
import { createLocalReq } from 'payload'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { inject } from 'vitest'

import { stagedUploadForm, startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { startFaultyS3 } from '../helpers/faultyProxy'
import { fileNamesOf } from '../helpers/imageJobs'
import { gradientJPEG } from '../helpers/images'

const STORAGE_FAILED =
  'The image could not be stored because the storage service did not accept it. Nothing was saved to Product Images; try again in a moment.'

let photo: Buffer

beforeAll(async () => {
  photo = await gradientJPEG(2000, 1500, [10, 90, 160], [250, 220, 120])
})

describe('S3 failing part-way', () => {
  let app: TestApp
  let s3: Awaited<ReturnType<typeof startFaultyS3>>

  beforeAll(async () => {
    s3 = await startFaultyS3(inject('s3Endpoint'))
    app = await startTestApp({ S3_ENDPOINT: s3.url })
  })
  afterAll(async () => {
    await app?.stop()
    await s3?.stop()
  })
  // A test that fails half-way must not leave its faults to the next one.
  afterEach(() => s3.set({}))

  const productKeys = async () =>
    [
      ...(await app.listKeys('product-images/')),
      ...(await app.listKeys('originals/product-images/')),
    ].sort()
  const productRows = async () =>
    (await app.sql<{ id: number }>('select id from product_images order by id')).map((r) => r.id)
  const lastCleanupRow = async () =>
    Number(
      (await app.sql<{ id: null | number }>('select max(id) as id from image_asset_cleanup'))[0]
        .id ?? 0,
    )

  it('a write that gets no answer is given up after 10 s without a byte and retried on a new connection: the upload succeeds within its deadline', async () => {
    // The default store deadline is 30 s; the stalled attempt ends at the 10 s socket timeout.
    s3.set({ stallPuts: 1 })
    const { body, status } = await uploadREST(app, 'media', {
      data: photo,
      name: 'dropped-connection.jpg',
      type: 'image/jpeg',
    })
    // Without the socket timeout the stalled write would hold the store step to its deadline: 503.
    expect(status, JSON.stringify(body)).toBe(201)
    expect(s3.stalls().stalled).toBe(1)
    for (const key of body.doc.objectKeys as string[])
      expect((await app.listKeys(key)).length, key).toBe(1)
  }, 60_000)

  for (const [what, failPutsAfter] of [
    ['the first write', 0],
    ['the second write', 1],
  ] as const) {
    it(`S3 failing on ${what}: 503 with Retry-After, no row, and the object already written is deleted`, async () => {
      const [rowsBefore, keysBefore, cleanupBefore] = [
        await productRows(),
        await productKeys(),
        await lastCleanupRow(),
      ]
      s3.set({ failPutsAfter })
      const { body, headers, status } = await uploadREST(app, 'product-images', {
        data: photo,
        name: 'chair.jpg',
      })
      expect(status).toBe(503)
      expect(headers.get('retry-after')).toBe('10')
      expect(body.errors[0].message).toBe(STORAGE_FAILED)
      expect(body.errors[0].data.errors).toEqual([{ message: STORAGE_FAILED, path: 'file' }])
      expect(JSON.stringify(body)).not.toMatch(/ECONN|InternalError|node_modules|127\.0\.0\.1/)
      expect(await productRows()).toEqual(rowsBefore)
      expect(await productKeys()).toEqual(keysBefore)
      // The undo deleted the set at once; its clean-up row stays until a write whose answer was
      // lost would have landed, then the app settles it (nothing left, nothing pending).
      await vi.waitFor(
        async () => {
          expect(
            await app.sql('select id from image_asset_cleanup where id > $1', [cleanupBefore]),
          ).toEqual([])
          expect(await productKeys()).toEqual(keysBefore)
        },
        { interval: 200, timeout: 40_000 },
      )
    })
  }

  it('with S3 healthy again the same upload stores the main image and every variant', async () => {
    s3.set({})
    const keysBefore = await productKeys()
    const { body, status } = await uploadREST(app, 'product-images', {
      data: photo,
      name: 'chair.jpg',
    })
    expect(status).toBe(201)
    const keys = (await productKeys()).filter((k) => !keysBefore.includes(k))
    const names = fileNamesOf(body.doc)
    expect(keys.sort()).toEqual(
      [...names.map((f) => `product-images/${f}`), body.doc.originalKey].sort(),
    )
    // Main image, two WebP variants, the square shape and its variant, and the kept original
    // (AVIF versions come later, from a job).
    expect(keys.length).toBe(6)
    expect(body.doc.originalKey).toMatch(
      /^originals\/product-images\/[0-9a-f]{16}-[0-9a-f]{8}\.jpg$/,
    )
    expect([...body.doc.objectKeys].sort()).toEqual(keys.sort())
    // The original is byte for byte what was uploaded, and never cached publicly.
    const original = await app.s3.send(
      new GetObjectCommand({ Bucket: app.bucket, Key: body.doc.originalKey }),
    )
    expect(Buffer.from(await original.Body!.transformToByteArray()).equals(photo)).toBe(true)
    expect([original.ContentType, original.CacheControl]).toEqual([
      'image/jpeg',
      'private, no-store',
    ])
  })

  type Row = {
    attempts: number
    collection: string
    done_at: Date | null
    keys: string[]
    last_error: null | string
    reason: string
  }
  const rowsFor = (collection: string) =>
    app.sql<Row>(
      'select collection, reason, keys, attempts::int as attempts, last_error, done_at from image_asset_cleanup where collection = $1 order by id',
      [collection],
    )

  it('deletes that keep failing leave the objects recorded with their error, retried by the app until the bucket takes them; the document is deleted at once', async () => {
    s3.set({})
    const { body } = await uploadREST(app, 'category-images', { data: photo, name: 'sofa.jpg' })
    const keys = (await app.listKeys('category-images/')).sort()
    expect(keys.length).toBe(2)
    s3.set({ failDeletes: true })
    const deleted = await fetch(`${app.baseURL}/api/category-images/${body.doc.id}`, {
      headers: { Authorization: `JWT ${app.token}` },
      method: 'DELETE',
    })
    expect(deleted.status).toBe(200)
    expect(await app.sql('select id from category_images where id = $1', [body.doc.id])).toEqual([])
    // The app tried, failed, and recorded the error on the row (visible to admins) to try again later.
    await vi.waitFor(
      async () => {
        const [row] = await rowsFor('category-images')
        expect(row).toMatchObject({
          collection: 'category-images',
          done_at: null,
          reason: 'deleted',
        })
        expect(Number(row.attempts)).toBeGreaterThanOrEqual(1)
        expect(row.last_error).toMatch(/InternalError/)
        expect([...row.keys].sort()).toEqual(keys)
      },
      { interval: 100, timeout: 15_000 },
    )
    expect((await app.listKeys('category-images/')).sort()).toEqual(keys)
    // The bucket answers again: the next retry deletes them, with no command.
    s3.set({})
    await vi.waitFor(
      async () => {
        expect(await app.listKeys('category-images/')).toEqual([])
        const [row] = await rowsFor('category-images')
        expect(row.done_at).not.toBeNull()
      },
      { interval: 200, timeout: 30_000 },
    )
  })

  it('an upload a runner has taken (it outlived its deadline) stays taken after a failed delete: a late record step cannot take it back', async () => {
    const key = 'media/aaaaaaaaaaaaaaaa-33333333.webp'
    await app.s3.send(
      new PutObjectCommand({ Body: Buffer.from('partly deleted'), Bucket: app.bucket, Key: key }),
    )
    // Its store deadline long past: due now.
    const intent = await recordUpload(app.payload, 'media', [key], Date.now() - 10 * 60_000)
    s3.set({ failDeletes: true })
    await vi.waitFor(
      async () => {
        await cleanupRunnerOf(app.payload)!.runOnce()
        const [row] = await app.sql<{ attempts: number; lease_until: null | string }>(
          'select attempts, lease_until from image_asset_cleanup where id = $1',
          [intent.id],
        )
        // Claimed, its delete failed, and its lease given back for a later try.
        expect(row).toMatchObject({ lease_until: null })
        expect(Number(row.attempts)).toBeGreaterThanOrEqual(1)
      },
      { interval: 200, timeout: 15_000 },
    )
    s3.set({})
    const req = await createLocalReq({}, app.payload)
    req.transactionID = (await app.payload.db.beginTransaction())!
    try {
      expect(await settleUpload(req, intent.id)).toBe(false)
    } finally {
      await app.payload.db.rollbackTransaction(req.transactionID)
    }
  })

  it('a replacement whose old objects cannot be deleted yet succeeds and records them', async () => {
    s3.set({})
    const { body } = await uploadREST(app, 'avatars', { data: photo, name: 'me.jpg' })
    const oldKeys = (await app.listKeys('avatars/')).sort()
    s3.set({ failDeletes: true })
    const form = new FormData()
    form.append(
      'file',
      new Blob([new Uint8Array(await gradientJPEG(900, 900, [200, 0, 0], [0, 0, 200]))]),
      'me-again.jpg',
    )
    const replaced = await fetch(`${app.baseURL}/api/avatars/${body.doc.id}`, {
      body: form,
      headers: { Authorization: `JWT ${app.token}` },
      method: 'PATCH',
    })
    expect(replaced.status).toBe(200)
    await vi.waitFor(
      async () => {
        const rows = await rowsFor('avatars')
        expect(rows).toHaveLength(1)
        expect(rows[0]).toMatchObject({ done_at: null, reason: 'replaced' })
        expect([...rows[0].keys].sort()).toEqual(oldKeys)
        expect(rows[0].last_error).toMatch(/InternalError/)
      },
      { interval: 100, timeout: 15_000 },
    )
    s3.set({})
  })

  it('a new crop when the stored file cannot be read: 503 saying the storage did not answer, or 409 when the file is gone; the document is unchanged', async () => {
    s3.set({})
    const { body } = await uploadREST(app, 'product-images', { data: photo, name: 'crop.jpg' })
    const doc = body.doc as {
      filename: string
      id: number
      objectKeys: string[]
      originalKey: string
    }
    const reframe = async () => {
      const response = await fetch(`${app.baseURL}/api/product-images/${doc.id}`, {
        body: JSON.stringify({ crop: { height: 50, width: 50, x: 10, y: 10 } }),
        headers: { Authorization: `JWT ${app.token}`, 'Content-Type': 'application/json' },
        method: 'PATCH',
      })
      const { errors } = (await response.json()) as { errors?: Array<{ message: string }> }
      return { message: errors?.[0]?.message, response }
    }
    const unchanged = async () =>
      expect(
        (
          await app.sql<{ filename: string }>('select filename from product_images where id = $1', [
            doc.id,
          ])
        )[0].filename,
      ).toBe(doc.filename)

    s3.set({ failGets: true })
    const failing = await reframe()
    expect(failing.response.status).toBe(503)
    expect(failing.response.headers.get('retry-after')).toBe('10')
    expect(failing.message).toBe(
      "The image's stored file could not be read from the storage service, which did not answer. Nothing was changed in Product Images; try again in a moment.",
    )
    await unchanged()

    s3.set({})
    await app.s3.send(new DeleteObjectCommand({ Bucket: app.bucket, Key: doc.originalKey }))
    const missing = await reframe()
    expect(missing.response.status).toBe(409)
    expect(missing.message).toBe(
      "This image's stored file is missing from the storage, so it cannot be made again with a new crop or focal point. Nothing was changed in Product Images; upload the image again.",
    )
    await unchanged()
  })

  it('a direct upload whose staged object cannot be read back gets 503 saying so; nothing is recorded, and the same request succeeds once the bucket answers', async () => {
    s3.set({})
    const bytes = await gradientJPEG(800, 600, [30, 30, 200], [200, 200, 30])
    const presigned = await fetch(`${app.baseURL}/api/media/upload-url`, {
      body: JSON.stringify({ filename: 'direct.jpg', mimeType: 'image/jpeg', size: bytes.length }),
      headers: { Authorization: `JWT ${app.token}`, 'Content-Type': 'application/json' },
      method: 'POST',
    })
    expect(presigned.status).toBe(200)
    const target = (await presigned.json()) as {
      headers: Record<string, string>
      key: string
      method: string
      url: string
    }
    const put = await fetch(target.url, {
      body: new Uint8Array(bytes),
      headers: target.headers,
      method: target.method,
    })
    expect(put.status).toBe(200)
    const rowsBefore = Number(
      (await app.sql<{ n: string }>('select count(*) as n from media'))[0].n,
    )
    s3.set({ failGets: true })
    const claim = () =>
      fetch(`${app.baseURL}/api/media`, {
        body: stagedUploadForm(
          target.key,
          { filename: 'direct.jpg', size: bytes.length },
          { alt: 'A gradient' },
        ),
        headers: { Authorization: `JWT ${app.token}` },
        method: 'POST',
      })
    const claimed = await claim()
    expect(claimed.status).toBe(503)
    expect(claimed.headers.get('retry-after')).toBe('10')
    const { errors } = (await claimed.json()) as { errors: Array<{ message: string }> }
    expect(errors[0].message).toBe(
      'The uploaded file could not be read back from the storage service, which did not answer. Nothing was saved to Media; try again in a moment.',
    )
    expect(Number((await app.sql<{ n: string }>('select count(*) as n from media'))[0].n)).toBe(
      rowsBefore,
    )
    s3.set({})
    // Nothing was wrong with the file: the staged upload was kept, and the same request now works,
    // after which the staged object is gone.
    const again = await claim()
    expect(again.status, await again.clone().text()).toBe(201)
    expect(await app.listKeys(target.key)).toEqual([])
  })
})
