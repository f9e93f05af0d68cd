/**
 * Direct-to-bucket uploads (upload/direct.ts), through the protocol the admin follows: a presigned
 * PUT to the private staging prefix, then the document created or replaced by reference. The
 * same rules as a multipart upload: access first, the bytes decide, a refused file leaves no row
 * and no object, and the staged object is gone whatever the outcome.
 */
import { randomUUID } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'

import { reconcile, runtimeOf } from 'payload-image-assets'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { stageDirectUpload, stagedUploadForm, startTestApp, type TestApp } from '../helpers/app'
import { until } from '../helpers/imageJobs'

let app: TestApp
const SLUG = 'media'

beforeAll(async () => {
  // Media requires alt text, as in the reference app.
  app = await startTestApp({ IMAGE_REQUIRE_ALT: 'true' })
})
afterAll(async () => app?.stop())

const jpeg = (width = 1600) =>
  sharp({ create: { background: '#4a7', channels: 3, height: Math.round(width * 0.75), width } })
    .jpeg({ quality: 90 })
    .toBuffer()

const presign = (body: Record<string, unknown>, token: null | string = app.token) =>
  fetch(`${app.baseURL}/api/${SLUG}/upload-url`, {
    body: JSON.stringify(body),
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `JWT ${token}` } : {}),
    },
    method: 'POST',
  })

/** Asks for a URL, PUTs `bytes` to it; returns the staged key. */
const stage = async (bytes: Buffer, filename: string, size = bytes.length) => {
  const key = await stageDirectUpload(
    app.baseURL,
    SLUG,
    { Authorization: `JWT ${app.token}` },
    { bytes, filename, size },
  )
  expect(key).toMatch(/^incoming\/media\/[0-9a-f-]{36}$/)
  return key
}

/** Creates (or, with `id`, replaces) by reference, as the admin's form does. */
const claim = async (key: string, filename: string, data: Record<string, unknown>, id?: number) => {
  const response = await fetch(`${app.baseURL}/api/${SLUG}${id ? `/${id}` : ''}`, {
    body: stagedUploadForm(key, { filename, size: 1 }, data),
    headers: { Authorization: `JWT ${app.token}` },
    method: id ? 'PATCH' : 'POST',
  })
  return { body: (await response.json()) as any, status: response.status }
}

const staged = () => app.listKeys('incoming/')

/** The temp files Payload writes when it reads a staged object for a claim. */
const clientUploadTempFiles = async () =>
  (await readdir(tmpdir())).filter((name) => name.startsWith('payload-client-upload-')).sort()

describe('direct-to-bucket uploads', () => {
  it('anonymous callers get no URL', async () => {
    const response = await presign({ filename: 'a.jpg', size: 1000 }, null)
    expect(response.status).toBe(401)
  })

  it('a refused name or size gets the multipart upload’s message before anything is staged', async () => {
    const gif = await presign({ filename: 'a.gif', size: 1000 })
    expect(gif.status).toBe(400)
    const refusal = (await gif.json()) as { errors: Array<{ message: string }> }
    expect(refusal.errors[0].message).toBe(
      'File extension ".gif" is not allowed for Media. Allowed extensions are .jpg, .jpeg, .png and .webp.',
    )
    const big = await presign({ filename: 'a.jpg', size: 500 * 1024 * 1024 })
    expect(big.status).toBe(413)
    expect(await staged()).toEqual([])
  })

  it('stages, creates by reference: a WebP with variants, the staged object gone', async () => {
    const key = await stage(await jpeg(), 'big-photo.jpg')
    expect(await staged()).toEqual([key])
    const { body, status } = await claim(key, 'big-photo.jpg', { alt: 'Direct' })
    expect(status, JSON.stringify(body)).toBe(201)
    expect(body.doc.mimeType).toBe('image/webp')
    expect(body.doc.originalFilename).toBe('big-photo.jpg')
    expect(body.doc.variants.length).toBeGreaterThan(0)
    expect(await app.listKeys(`${SLUG}/${body.doc.filename}`)).toHaveLength(1)
    expect(await staged()).toEqual([])

    // Replacing by reference works the same way.
    const next = await stage(await jpeg(1200), 'second.jpg')
    const replaced = await claim(next, 'second.jpg', {}, body.doc.id)
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200)
    expect(replaced.body.doc.filename).not.toBe(body.doc.filename)
    expect(await staged()).toEqual([])
  })

  it('a staged file that is not an image is refused like a multipart one: no row, no object', async () => {
    const before = (await app.payload.count({ collection: SLUG })).totalDocs
    const objects = await app.listKeys(`${SLUG}/`)
    const key = await stage(
      Buffer.from('GIF89a not really an image, whatever its name says'),
      'x.jpg',
    )
    const { body, status } = await claim(key, 'x.jpg', { alt: 'x' })
    expect(status).toBe(400)
    expect(JSON.stringify(body)).toContain("The file's content is not a JPEG, PNG or WebP image")
    expect((await app.payload.count({ collection: SLUG })).totalDocs).toBe(before)
    // Nothing new in the collection's prefix (earlier replacements may still be being cleaned up).
    expect((await app.listKeys(`${SLUG}/`)).filter((k) => !objects.includes(k))).toEqual([])
    expect(await staged()).toEqual([])
  })

  it('a staged object larger than the limit is refused by its bytes, whatever size was stated', async () => {
    // The client states a small size (the URL is bound to it), then a larger object is staged
    // another way: only the bytes read back count.
    const limit = 25 * 1024 * 1024
    const key = await stage(await jpeg(400), 'small.jpg')
    await app.s3.send(
      new (await import('@aws-sdk/client-s3')).PutObjectCommand({
        Body: Buffer.alloc(limit + 10),
        Bucket: app.bucket,
        Key: key,
      }),
    )
    const { body, status } = await claim(key, 'small.jpg', { alt: 'x' })
    expect(status).toBe(413)
    // Read no further than one byte over the limit, so its size is not known: "larger than".
    expect(body.errors[0].message).toBe(
      'The file is larger than 25 MB, the most Media accepts. Upload a smaller file.',
    )
    expect(await staged()).toEqual([])
  })

  it('a key of another collection, a stored image or outside the staging prefix is refused as such, and nothing is read', async () => {
    const stored = await app.payload.create({
      collection: SLUG,
      data: { alt: 'stored' },
      file: { data: await jpeg(300), mimetype: 'image/jpeg', name: 's.jpg', size: 1 },
    })
    const before = await clientUploadTempFiles()
    for (const key of [
      `${SLUG}/../avatars/x`,
      `incoming/avatars/${randomUUID()}`,
      `${SLUG}/${stored.filename}`,
      `originals/${SLUG}/x.jpg`,
      `incoming/${SLUG}/not-a-uuid`,
    ]) {
      const { body, status } = await claim(key, 'y.jpg', { alt: 'x' })
      expect(status, key).toBe(400)
      expect(body.errors[0].message, key).toBe(
        'The direct upload does not name a file staged for Media (its key must be the one the upload-url request returned, incoming/<collection>/<id>). Nothing was saved; request a new upload URL and upload the file again.',
      )
    }
    expect(await clientUploadTempFiles()).toEqual(before)
  })

  it('a claim refused for its alt text deletes the staged object at once and leaves no temp file', async () => {
    const before = await clientUploadTempFiles()
    const rows = (await app.payload.count({ collection: SLUG })).totalDocs
    for (const alt of [undefined, '  ', '\u200b']) {
      const key = await stage(await jpeg(400), 'no-alt.jpg')
      const { body, status } = await claim(key, 'no-alt.jpg', alt === undefined ? {} : { alt })
      expect(status, String(alt)).toBe(400)
      expect(body.errors[0].data.errors[0]).toMatchObject({
        message: expect.stringContaining('Alt text is required for Media.'),
        path: 'alt',
      })
      expect(await staged()).toEqual([])
    }
    expect(await clientUploadTempFiles()).toEqual(before)
    expect((await app.payload.count({ collection: SLUG })).totalDocs).toBe(rows)
  })

  it('a claim of a staged key whose object is not there (never uploaded, or already refused) says so', async () => {
    const answer = await presign({ filename: 'never.jpg', mimeType: 'image/jpeg', size: 1000 })
    const { key } = (await answer.json()) as { key: string }
    const never = await claim(key, 'never.jpg', { alt: 'x' })
    expect(never.status).toBe(400)
    expect(never.body.errors[0].message).toBe(
      'The staged upload is no longer in the bucket (it was never uploaded, its URL expired, or it was already used or refused). Nothing was saved to Media; request a new upload URL and upload the file again.',
    )
    // Refused for its alt text, the staged object is gone: claiming it again gets the same answer.
    const staged2 = await stage(await jpeg(400), 'again.jpg')
    expect((await claim(staged2, 'again.jpg', {})).status).toBe(400)
    const again = await claim(staged2, 'again.jpg', { alt: 'Now with alt text' })
    expect(again.status).toBe(400)
    expect(again.body.errors[0].message).toContain('The staged upload is no longer in the bucket')
    expect(await clientUploadTempFiles()).toEqual([])
  })

  it('a name ending in a space or an invisible character is presigned by its extension', async () => {
    for (const filename of ['photo.jpg ', 'photo.jpg\u200b']) {
      const answer = await presign({ filename, mimeType: 'image/jpeg', size: 1000 })
      expect(answer.status, JSON.stringify(filename)).toBe(200)
      const body = (await answer.json()) as { headers: Record<string, string> }
      expect(body.headers['Content-Type']).toBe('image/jpeg')
    }
  })

  it('a size that is not a whole number of bytes above 0 gets a message that says so', async () => {
    for (const size of [0, -5, '100', 1.5, null]) {
      const response = await presign({ filename: 'a.jpg', mimeType: 'image/jpeg', size })
      expect(response.status, String(size)).toBe(400)
      const body = (await response.json()) as { errors: Array<{ message: string }> }
      expect(body.errors[0].message).toBe(
        `The upload URL request needs the file's size in bytes, a whole number above 0, and received ${typeof size === 'string' ? JSON.stringify(size) : String(size)}. Nothing was saved to Media.`,
      )
    }
    expect(await staged()).toEqual([])
  })

  it('reconcile-images reports a staged object nobody claimed and deletes it past the grace period', async () => {
    const key = await stage(await jpeg(400), 'left.jpg')
    const report = await reconcile({
      fix: true,
      graceMs: 0,
      payload: app.payload,
      runtime: runtimeOf(app.payload),
    })
    expect(report.orphans).toEqual(
      expect.arrayContaining([expect.objectContaining({ deleted: true, key })]),
    )
    expect(await staged()).not.toContain(key)
  })

  it('a staged object nobody claims is deleted by the clean-up once its URL has expired', async () => {
    const key = await stage(await jpeg(400), 'abandoned.jpg')
    // Its clean-up row is due after the URL's lifetime and a grace period: make it due now.
    await app.sql(`update image_asset_cleanup set due = now() where keys::text like $1`, [
      `%${key}%`,
    ])
    await until('the clean-up to delete the staged object', async () =>
      (await staged()).includes(key) ? undefined : true,
    )
  })
})
