import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'

import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3'
import {
  BUILT_IN_COLLECTIONS,
  ImageUploadError,
  prepareImage,
  runtimeOf,
  sessionContext,
} from 'payload-image-assets'
import { encodeWebP, sweepTempFiles, TEMP_FILE_MAX_AGE_MS } from 'payload-image-assets/internal'
import sharp from 'sharp'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import {
  animatedPNG,
  animatedWebP,
  gradientJPEG,
  pixelAt,
  pngBomb,
  pngClaiming,
  pngWithBadIDATCRC,
  pngWithZTXtBomb,
  sidewaysJPEGWithGPS,
  smallGIF,
  transparentPNG,
} from '../helpers/images'

const TABLES: Record<string, string> = {
  avatars: 'avatars',
  'category-images': 'category_images',
  media: 'media',
  'product-images': 'product_images',
}

let app: TestApp
let photo: Buffer
/** Uploads are streamed to temp files here (UPLOAD_TEMP_DIR); nothing may stay behind. */
let tempDir: string

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(tmpdir(), 'pia-uploads-'))
  app = await startTestApp({ UPLOAD_TEMP_DIR: tempDir })
  photo = await gradientJPEG(4000, 3000, [20, 60, 140], [240, 200, 120])
})

afterAll(async () => {
  await app?.stop()
  await rm(tempDir, { force: true, recursive: true })
})

afterEach(async () => {
  expect(await readdir(tempDir)).toEqual([])
})

const rowCount = async (collection: string) =>
  Number((await app.sql<{ n: string }>(`select count(*) as n from "${TABLES[collection]}"`))[0].n)

const objectBytes = async (key: string) => {
  const object = await app.s3.send(new GetObjectCommand({ Bucket: app.bucket, Key: key }))
  return Buffer.from(await object.Body!.transformToByteArray())
}

describe('REST uploads become WebP inside their box, stored in S3', () => {
  const expected: Record<string, [number, number]> = {
    avatars: [240, 180],
    'category-images': [800, 600],
    media: [1440, 1080],
    'product-images': [1024, 768],
  }

  for (const [slug, [width, height]] of Object.entries(expected)) {
    it(`${slug}: a 4000 x 3000 JPEG is stored as a ${width} x ${height} WebP`, async () => {
      const { body, status } = await uploadREST(app, slug, {
        data: photo,
        name: 'Holiday Photo.JPG',
        type: 'image/jpeg',
      })
      expect(status).toBe(201)
      const doc = body.doc
      expect(doc.mimeType).toBe('image/webp')
      expect(doc.filename).toMatch(/^[0-9a-f]{16}-[0-9a-f]{8}\.webp$/)
      expect([doc.width, doc.height]).toEqual([width, height])
      expect(doc.originalFilename).toBe('Holiday Photo.JPG')

      // The URL is the object's own, on the S3 server, not a path through the app.
      const key = `${slug}/${doc.filename}`
      expect(doc.url).toBe(`${app.s3Endpoint}/${app.bucket}/${key}`)
      const fetched = await fetch(doc.url)
      expect(fetched.status).toBe(200)
      const bytes = Buffer.from(await fetched.arrayBuffer())
      const meta = await sharp(bytes).metadata()
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', width, height])
      expect(doc.filesize).toBe(bytes.length)
      expect(app.requests.some((path) => path.includes(doc.filename))).toBe(false)

      // Encoded once, by the plugin, at the preset's quality and effort 6: Payload did not re-encode it.
      const ours = await encodeWebP(
        photo,
        BUILT_IN_COLLECTIONS[slug as keyof typeof BUILT_IN_COLLECTIONS].preset,
        6,
      )
      expect(bytes.equals(ours.data)).toBe(true)

      const head = await app.s3.send(new HeadObjectCommand({ Bucket: app.bucket, Key: key }))
      expect(head.ContentType).toBe('image/webp')
      expect(head.ContentLength).toBe(bytes.length)
      expect(head.CacheControl).toBe('public, max-age=31536000, immutable')
      expect(head.ContentDisposition).toBe(
        `inline; filename="Holiday Photo.webp"; filename*=UTF-8''Holiday%20Photo.webp`,
      )

      // Variants: every preset width below the main one, each a WebP from the same decode, listed in srcSet.
      const wanted = BUILT_IN_COLLECTIONS[
        slug as keyof typeof BUILT_IN_COLLECTIONS
      ].variantWidths.filter((w) => w < width)
      expect(doc.variants.map((v: { width: number }) => v.width)).toEqual(wanted)
      for (const variant of doc.variants) {
        expect(variant.url).toBe(`${app.s3Endpoint}/${app.bucket}/${slug}/${variant.filename}`)
        const variantBytes = Buffer.from(await (await fetch(variant.url)).arrayBuffer())
        const variantMeta = await sharp(variantBytes).metadata()
        expect([
          variantMeta.format,
          variantMeta.width,
          variantMeta.height,
          variantBytes.length,
        ]).toEqual(['webp', variant.width, variant.height, variant.filesize])
        expect(variant.height).toBe(Math.round((variant.width * height) / width))
      }
      expect(doc.srcSet).toBe(
        [
          ...doc.variants.map((v: { url: string; width: number }) => `${v.url} ${v.width}w`),
          `${doc.url} ${width}w`,
        ].join(', '),
      )
      // The placeholder: a tiny WebP data URL; the original's size is recorded.
      expect(doc.placeholder).toMatch(/^data:image\/webp;base64,/)
      const tiny = await sharp(Buffer.from(doc.placeholder.split(',')[1], 'base64')).metadata()
      expect(Math.max(tiny.width!, tiny.height!)).toBe(16)
      expect(doc.placeholder.length).toBeLessThan(600)
      expect([doc.originalFilesize, doc.originalWidth, doc.originalHeight]).toEqual([
        photo.length,
        4000,
        3000,
      ])

      const [row] = await app.sql(
        `select filename, mime_type, width::int, height::int, filesize::int, prefix from "${TABLES[slug]}" where id = $1`,
        [doc.id],
      )
      expect(row).toMatchObject({
        filename: doc.filename,
        height,
        mime_type: 'image/webp',
        prefix: slug,
        width,
      })
      expect(Number(row.filesize)).toBe(bytes.length)
    })
  }

  it('keeps transparency from a PNG', async () => {
    const { body, status } = await uploadREST(app, 'media', {
      data: await transparentPNG(600, 400),
      name: 'logo.png',
    })
    expect(status).toBe(201)
    const bytes = await objectBytes(`media/${body.doc.filename}`)
    expect((await sharp(bytes).metadata()).hasAlpha).toBe(true)
    expect((await pixelAt(bytes, 5, 200))[3]).toBeGreaterThan(240)
    expect((await pixelAt(bytes, 594, 200))[3]).toBeLessThan(15)
  })

  it('applies EXIF orientation before resizing and stores no EXIF or GPS', async () => {
    const input = await sidewaysJPEGWithGPS()
    expect((await sharp(input).metadata()).exif).toBeDefined()
    const { body, status } = await uploadREST(app, 'avatars', { data: input, name: 'selfie.jpeg' })
    expect(status).toBe(201)
    // 200 x 400 upright, fitted inside 240 x 200: 100 x 200.
    expect([body.doc.width, body.doc.height]).toEqual([100, 200])
    // The original's size is the picture's as shown too (stored 400 x 200, orientation 6).
    expect([body.doc.originalWidth, body.doc.originalHeight]).toEqual([200, 400])
    const bytes = await objectBytes(`avatars/${body.doc.filename}`)
    const meta = await sharp(bytes).metadata()
    expect([meta.width, meta.height]).toEqual([100, 200])
    expect(meta.exif).toBeUndefined()
    expect(meta.xmp).toBeUndefined()
    expect(meta.orientation).toBeUndefined()
    const [top, bottom] = [await pixelAt(bytes, 50, 40), await pixelAt(bytes, 50, 160)]
    expect(top[0]).toBeGreaterThan(200)
    expect(top[2]).toBeLessThan(60)
    expect(bottom[2]).toBeGreaterThan(200)
    expect(bottom[0]).toBeLessThan(60)
  })

  it('CMYK JPEG, 16-bit PNG and Display P3 PNG come out as 8-bit sRGB WebP', async () => {
    const base = sharp(photo).resize(400)
    const inputs: Array<[string, Buffer]> = [
      ['cmyk.jpg', await base.clone().toColourspace('cmyk').jpeg().toBuffer()],
      ['deep.png', await base.clone().toColourspace('rgb16').png().toBuffer()],
      ['p3.png', await base.clone().withIccProfile('p3').png().toBuffer()],
    ]
    expect((await sharp(inputs[0][1]).metadata()).space).toBe('cmyk')
    expect((await sharp(inputs[1][1]).metadata()).depth).toBe('ushort')
    expect((await sharp(inputs[2][1]).metadata()).icc).toBeDefined()
    for (const [name, data] of inputs) {
      const { body, status } = await uploadREST(app, 'media', { data, name })
      expect(status, name).toBe(201)
      const meta = await sharp(await objectBytes(`media/${body.doc.filename}`)).metadata()
      expect([meta.format, meta.space, meta.depth, meta.icc], name).toEqual([
        'webp',
        'srgb',
        'uchar',
        undefined,
      ])
      // The colours survive the conversion: the mean stays close to the source's.
      const [source, stored] = await Promise.all([
        sharp(photo).resize(400).stats(),
        sharp(await objectBytes(`media/${body.doc.filename}`)).stats(),
      ])
      for (let c = 0; c < 3; c++)
        expect(Math.abs(source.channels[c].mean - stored.channels[c].mean), name).toBeLessThan(
          name === 'p3.png' ? 25 : 8,
        )
    }
  })

  it('accepts a WebP upload and a JPEG whose name says .png (the bytes decide)', async () => {
    const webp = await sharp(photo).resize(300).webp().toBuffer()
    const first = await uploadREST(app, 'category-images', { data: webp, name: 'already.webp' })
    expect(first.status).toBe(201)
    expect([first.body.doc.width, first.body.doc.height]).toEqual([300, 225])
    const second = await uploadREST(app, 'category-images', {
      data: await sharp(photo).resize(320).jpeg().toBuffer(),
      name: 'mislabelled.png',
    })
    expect(second.status).toBe(201)
    expect(second.body.doc.mimeType).toBe('image/webp')
  })
})

const extraRefusals = () => [
  {
    collection: 'media',
    file: async () => ({ data: Buffer.alloc(0), name: 'empty.png' }),
    message:
      "The file's content is not a JPEG, PNG or WebP image, whatever its name says, so it is not allowed for Media. Allowed extensions are .jpg, .jpeg, .png and .webp.",
    what: 'an empty file',
  },
  {
    collection: 'media',
    file: async () => ({
      data: Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>',
      ),
      name: 'logo.png',
      type: 'image/png',
    }),
    message:
      "The file's content is not a JPEG, PNG or WebP image, whatever its name says, so it is not allowed for Media. Allowed extensions are .jpg, .jpeg, .png and .webp.",
    what: 'an SVG named .png',
  },
  {
    collection: 'media',
    file: async () => ({ data: await sharp(photo).resize(64).tiff().toBuffer(), name: 'scan.jpg' }),
    message:
      "The file's content is not a JPEG, PNG or WebP image, whatever its name says, so it is not allowed for Media. Allowed extensions are .jpg, .jpeg, .png and .webp.",
    what: 'a TIFF renamed .jpg',
  },
  {
    collection: 'media',
    file: async () => ({
      data: await sharp(photo).resize(64).avif({ effort: 0 }).toBuffer(),
      name: 'photo.webp',
    }),
    message:
      "The file's content is not a JPEG, PNG or WebP image, whatever its name says, so it is not allowed for Media. Allowed extensions are .jpg, .jpeg, .png and .webp.",
    what: 'an AVIF renamed .webp',
  },
  {
    collection: 'media',
    file: async () => ({ data: await smallGIF(), name: 'anim.png' }),
    message:
      "The file's content is not a JPEG, PNG or WebP image, whatever its name says, so it is not allowed for Media. Allowed extensions are .jpg, .jpeg, .png and .webp.",
    what: 'a GIF renamed .png',
  },
  {
    collection: 'media',
    file: async () => ({
      data: (await sharp(photo).resize(800).png().toBuffer()).subarray(0, 3000),
      name: 'cut.png',
    }),
    message:
      'The image could not be decoded because it is truncated or corrupt. Upload a complete image to Media.',
    status: 422,
    what: 'a truncated PNG',
  },
  {
    collection: 'media',
    file: async () => ({
      data: (await sharp(photo).resize(800).webp().toBuffer()).subarray(0, 3000),
      name: 'cut.webp',
    }),
    message:
      'The image could not be decoded because it is truncated or corrupt. Upload a complete image to Media.',
    status: 422,
    what: 'a truncated WebP',
  },
  {
    collection: 'media',
    file: async () => ({ data: pngBomb(16000, 16000), name: 'bomb16k.png' }),
    message:
      'The image is 16000 x 16000 pixels; the longest side Media accepts is 12000 pixels. Upload a smaller image.',
    status: 422,
    what: 'a 16000 x 16000 PNG bomb',
  },
  {
    collection: 'media',
    file: async () => ({ data: pngBomb(20000, 20000), name: 'bomb20k.png' }),
    message:
      'The image is 20000 x 20000 pixels; the longest side Media accepts is 12000 pixels. Upload a smaller image.',
    status: 422,
    what: 'a 20000 x 20000 PNG bomb',
  },
  {
    collection: 'media',
    file: async () => ({ data: await pngWithBadIDATCRC(), name: 'crc.png' }),
    message:
      'The image could not be decoded because it is truncated or corrupt. Upload a complete image to Media.',
    status: 422,
    what: 'a PNG with a bad IDAT CRC',
  },
  {
    collection: 'media',
    file: async () => ({ data: pngClaiming(100, 100), name: 'header-only.png' }),
    message:
      'The image could not be decoded because it is truncated or corrupt. Upload a complete image to Media.',
    status: 422,
    what: 'a header-only PNG',
  },
]

describe('refused uploads get a 400 with a clear message and leave nothing behind', () => {
  const refusals: Array<{
    collection: string
    file: () => Promise<{ data: Buffer; name: string; type?: string }>
    message: string
    status?: number
    what: string
  }> = [
    {
      collection: 'avatars',
      file: async () => ({ data: await smallGIF(), name: 'party.gif', type: 'image/gif' }),
      message:
        'File extension ".gif" is not allowed for Avatars. Allowed extensions are .jpg, .jpeg, .png and .webp.',
      what: 'a real GIF',
    },
    {
      collection: 'product-images',
      file: async () => ({
        data: Buffer.from('just some notes, not an image\n'),
        name: 'notes.png',
        type: 'image/png',
      }),
      message:
        "The file's content is not a JPEG, PNG or WebP image, whatever its name says, so it is not allowed for Product Images. Allowed extensions are .jpg, .jpeg, .png and .webp.",
      what: 'a text file named .png',
    },
    {
      collection: 'media',
      file: async () => ({
        data: Buffer.from('<!doctype html><script>alert(1)</script>'),
        name: 'page.JPG',
        type: 'image/jpeg',
      }),
      message:
        "The file's content is not a JPEG, PNG or WebP image, whatever its name says, so it is not allowed for Media. Allowed extensions are .jpg, .jpeg, .png and .webp.",
      what: 'HTML named .JPG',
    },
    {
      collection: 'category-images',
      file: async () => ({
        data: await sharp(photo).resize(100).png().toBuffer(),
        name: 'noextension',
        type: 'image/png',
      }),
      message:
        'A file without an extension is not allowed for Category Images. Allowed extensions are .jpg, .jpeg, .png and .webp.',
      what: 'a name without an extension',
    },
    {
      collection: 'media',
      file: async () => ({ data: pngClaiming(60000, 60000), name: 'bomb.png' }),
      message:
        'The image is 60000 x 60000 pixels; the longest side Media accepts is 12000 pixels. Upload a smaller image.',
      status: 422,
      what: 'a PNG whose header claims 60000 x 60000',
    },
    {
      collection: 'product-images',
      file: async () => ({
        data: await sharp({
          create: { background: '#888', channels: 3, height: 100, width: 60000 },
        })
          .png()
          .toBuffer(),
        name: 'strip.png',
      }),
      message:
        'The image is 60000 x 100 pixels; the longest side Product Images accepts is 12000 pixels. Upload a smaller image.',
      status: 422,
      what: 'a 60000 x 100 strip',
    },
    {
      collection: 'media',
      file: async () => ({ data: pngClaiming(9000, 8000), name: 'big.png' }),
      message:
        'The image is 9000 x 8000 pixels (72 megapixels); Media accepts at most 64 megapixels. Upload a smaller image.',
      status: 422,
      what: 'a 72-megapixel PNG header',
    },
    {
      collection: 'avatars',
      file: async () => ({ data: await animatedWebP(200), name: 'dance.webp' }),
      message:
        'The image is animated (200 frames); Avatars accepts only still images. Upload a single-frame image.',
      status: 422,
      what: 'a 200-frame animated WebP',
    },
    {
      // libvips reads an APNG's still image only; the frame count is in its acTL chunk.
      collection: 'media',
      file: async () => ({ data: await animatedPNG(3), name: 'blink.png' }),
      message:
        'The image is animated (3 frames); Media accepts only still images. Upload a single-frame image.',
      status: 422,
      what: 'a 3-frame animated PNG',
    },
    {
      collection: 'media',
      file: async () => ({
        data: (await sharp(photo).resize(800).jpeg().toBuffer()).subarray(0, 2000),
        name: 'cut.jpg',
      }),
      message:
        'The image could not be decoded because it is truncated or corrupt. Upload a complete image to Media.',
      status: 422,
      what: 'a truncated JPEG',
    },
    // Product images keep their originals, written ahead of the rest of the set: a file that
    // fails only when decoded must leave neither its original nor the original's clean-up row.
    {
      collection: 'product-images',
      file: async () => ({
        data: (await sharp(photo).resize(800).jpeg().toBuffer()).subarray(0, 2000),
        name: 'cut.jpg',
      }),
      message:
        'The image could not be decoded because it is truncated or corrupt. Upload a complete image to Product Images.',
      status: 422,
      what: 'a truncated JPEG, to a collection that keeps originals',
    },
  ]

  refusals.push(...extraRefusals())
  for (const refusal of refusals) {
    it(`${refusal.what} → ${refusal.status ?? 400}`, async () => {
      const rowsBefore = await rowCount(refusal.collection)
      const keysBefore = await app.listKeys()
      const [{ last }] = await app.sql<{ last: null | number }>(
        'select max(id) as last from image_asset_cleanup',
      )
      const { body, status } = await uploadREST(app, refusal.collection, await refusal.file())
      expect(status).toBe(refusal.status ?? 400)
      expect(body.errors[0].message).toBe(refusal.message)
      expect(body.errors[0].data.errors).toEqual([{ message: refusal.message, path: 'file' }])
      expect(JSON.stringify(body)).not.toMatch(/node_modules|at .*\.js:\d+/)
      expect(await rowCount(refusal.collection)).toBe(rowsBefore)
      expect(await app.listKeys()).toEqual(keysBefore)
      // Nothing was left for the clean-up either.
      expect(
        await app.sql('select id from image_asset_cleanup where id > $1', [Number(last ?? 0)]),
      ).toEqual([])
      // The server still answers.
      expect((await fetch(`${app.baseURL}/api/${refusal.collection}?limit=1`)).status).toBe(200)
    })
  }

  it('a file over the collection byte limit gets 413 before it is decoded', async () => {
    const rowsBefore = await rowCount('avatars')
    const keysBefore = await app.listKeys()
    const { body, status } = await uploadREST(app, 'avatars', {
      data: Buffer.alloc(16 * 1024 * 1024, 0xff),
      name: 'huge.jpg',
    })
    expect(status).toBe(413)
    const message = 'The file is 16 MB; Avatars accepts files up to 15 MB. Upload a smaller file.'
    expect(body.errors[0].message).toBe(message)
    expect(body.errors[0].data.errors).toEqual([{ message, path: 'file' }])
    expect(await rowCount('avatars')).toBe(rowsBefore)
    expect(await app.listKeys()).toEqual(keysBefore)
  })

  it('an upload over the largest limit is aborted with 413 while it streams in; one of exactly that limit is taken', async () => {
    const rowsBefore = await rowCount('media')
    const { body, status } = await uploadREST(app, 'media', {
      data: Buffer.alloc(25 * 1024 * 1024 + 1, 0xff),
      name: 'huge.jpg',
    })
    expect(status).toBe(413)
    const message = 'The file is larger than 25 MB, the most Media accepts. Upload a smaller file.'
    expect(body.errors[0].message).toBe(message)
    expect(body.errors[0].data.errors).toEqual([{ message, path: 'file' }])
    expect(await rowCount('media')).toBe(rowsBefore)

    // The multipart parser stops a file when it reaches its limit: a JPEG padded to exactly the
    // largest collection's `maxBytes` (25 MiB) is read whole and taken.
    const jpeg = await gradientJPEG(800, 600, [0, 0, 0], [255, 255, 255])
    const exact = Buffer.alloc(25 * 1024 * 1024)
    jpeg.copy(exact)
    const taken = await uploadREST(app, 'media', { data: exact, name: 'exact.jpg' })
    expect(taken.status, JSON.stringify(taken.body)).toBe(201)
    expect(taken.body.doc.originalFilesize).toBe(25 * 1024 * 1024)
  })

  it('a create without a file is refused', async () => {
    const response = await fetch(`${app.baseURL}/api/media`, {
      body: JSON.stringify({ alt: 'nothing' }),
      headers: { Authorization: `JWT ${app.token}`, 'Content-Type': 'application/json' },
      method: 'POST',
    })
    expect(response.status).toBe(400)
    expect((await response.json()).errors[0].message).toBe(
      'No file was uploaded. Media needs an image file. Allowed extensions are .jpg, .jpeg, .png and .webp.',
    )
  })

  it('creating from a URL is switched off by default: refused without fetching anything', async () => {
    let fetched = 0
    const host = http.createServer((_req, res) => {
      fetched++
      res.end()
    })
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
    const url = `http://localhost:${(host.address() as AddressInfo).port}/photo.jpg`
    try {
      for (const body of [{ url }, { filename: 'photo.jpg', url }]) {
        const response = await fetch(`${app.baseURL}/api/media`, {
          body: JSON.stringify(body),
          headers: { Authorization: `JWT ${app.token}`, 'Content-Type': 'application/json' },
          method: 'POST',
        })
        expect(response.status).toBe(400)
        expect((await response.json()).errors[0].message).toBe(
          'Creating an image from a URL is switched off for Media. Upload the file itself. Allowed extensions are .jpg, .jpeg, .png and .webp.',
        )
      }
      // Payload's own paste-URL proxy is off too.
      const paste = await fetch(
        `${app.baseURL}/api/media/paste-url?src=${encodeURIComponent(url)}`,
        { headers: { Authorization: `JWT ${app.token}` } },
      )
      expect(paste.status).toBe(400)
      expect(fetched).toBe(0)
    } finally {
      await new Promise((resolve) => host.close(resolve))
    }
  })

  it('an anonymous upload is refused with 401, logged as one info line (not an error with a stack per request)', async () => {
    const logged = { error: [] as unknown[], info: [] as unknown[] }
    const error = vi
      .spyOn(app.payload.logger, 'error')
      .mockImplementation((...args: unknown[]) => void logged.error.push(args))
    const info = vi
      .spyOn(app.payload.logger, 'info')
      .mockImplementation((...args: unknown[]) => void logged.info.push(args))
    try {
      const form = new FormData()
      form.append('file', new Blob([new Uint8Array(photo)]), 'x.jpg')
      const response = await fetch(`${app.baseURL}/api/media`, { body: form, method: 'POST' })
      expect(response.status).toBe(401)
    } finally {
      error.mockRestore()
      info.mockRestore()
    }
    expect(logged.error).toEqual([])
    expect(JSON.stringify(logged.info)).toContain(
      'Unauthorized, you must be logged in to make this request.',
    )
  })

  it('a replacement for a document that does not exist is a 404 before the file is read: no image work, no object', async () => {
    const keysBefore = await app.listKeys()
    const rows = async () =>
      Number((await app.sql<{ n: string }>('select count(*) as n from image_asset_cleanup'))[0].n)
    const rowsBefore = await rows()
    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(photo)]), 'photo.jpg')
    form.append('_payload', '{}')
    const response = await fetch(`${app.baseURL}/api/media/987654`, {
      body: form,
      headers: { Authorization: `JWT ${app.token}` },
      method: 'PATCH',
    })
    expect(response.status).toBe(404)
    expect(await app.listKeys()).toEqual(keysBefore)
    // No upload was recorded for clean-up either: nothing was stored.
    expect(await rows()).toBe(rowsBefore)
  })

  it('the Local API refuses the same way', async () => {
    const rowsBefore = await rowCount('avatars')
    const data = await smallGIF()
    const attempt = app.payload.create({
      collection: 'avatars',
      data: {},
      file: { data, mimetype: 'image/gif', name: 'x.GIF', size: data.length },
    })
    await expect(attempt).rejects.toBeInstanceOf(ImageUploadError)
    await expect(attempt).rejects.toMatchObject({
      message:
        'File extension ".gif" is not allowed for Avatars. Allowed extensions are .jpg, .jpeg, .png and .webp.',
      status: 400,
    })
    expect(await rowCount('avatars')).toBe(rowsBefore)
  })
})

describe('hostile names and polyglots', () => {
  const names = [
    '../../x.png',
    '..\\..\\windows\\x.png',
    'a%00.png',
    'evil\u202Egnp.png',
    `${'a'.repeat(250)}.png`,
    'CON.png',
    '#?%[]&.png',
    'Cafe\u0301.png',
  ]
  for (const name of names) {
    it(`the name ${JSON.stringify(name.length > 40 ? `${name.slice(0, 20)}…` : name)} cannot influence the key`, async () => {
      const { body, status } = await uploadREST(app, 'media', {
        data: await sharp(photo).resize(64).png().toBuffer(),
        name,
      })
      expect(status, JSON.stringify(body)).toBe(201)
      expect(body.doc.filename).toMatch(/^[0-9a-f]{16}-[0-9a-f]{8}\.webp$/)
      expect(await app.listKeys(`media/${body.doc.filename}`)).toEqual([
        `media/${body.doc.filename}`,
      ])
      const display: string = body.doc.originalFilename
      // eslint-disable-next-line no-control-regex -- control characters are what this test looks for
      expect(display).not.toMatch(/[/\\\u0000-\u001f\u202a-\u202e\u2066-\u2069]/)
      expect(Array.from(display).length).toBeLessThanOrEqual(255)
      expect(display).toBe(display.normalize('NFC'))
    })
  }

  it('a name over 255 characters (Payload cuts it, extension included) is refused with a clear 400', async () => {
    const rowsBefore = await rowCount('media')
    const { body, status } = await uploadREST(app, 'media', {
      data: await sharp(photo).resize(64).png().toBuffer(),
      name: `${'a'.repeat(300)}.png`,
    })
    expect(status).toBe(400)
    expect(body.errors[0].message).toBe(
      'The file name is longer than 255 characters (UTF-16 units: an emoji counts as two), so its extension was cut off on the way in. Rename the file and upload it to Media again. Allowed extensions are .jpg, .jpeg, .png and .webp.',
    )
    expect(await rowCount('media')).toBe(rowsBefore)
  })

  it('a name ending in a space or an invisible character keeps its extension (as its display name does)', async () => {
    const data = await sharp(photo).resize(64).png().toBuffer()
    for (const name of ['trailing space.png ', 'zero width.png\u200b', 'no break.png\u00a0']) {
      const { body, status } = await uploadREST(app, 'avatars', { data, name })
      expect(status, JSON.stringify(name)).toBe(201)
      expect(body.doc.originalFilename).toBe(name.slice(0, -1))
    }
  })

  it('a name with quotes or a line break is kept as the uploader wrote it (browsers send them as %22, %0D, %0A)', async () => {
    const data = await sharp(photo).resize(64).png().toBuffer()
    // fetch's FormData escapes the part's file name as browsers do.
    const { body, status } = await uploadREST(app, 'avatars', {
      data,
      name: 'My "best"\r\nphoto.png',
    })
    expect(status, JSON.stringify(body)).toBe(201)
    expect(body.doc.originalFilename).toBe('My "best"  photo.png')
    const head = await app.s3.send(
      new HeadObjectCommand({ Bucket: app.bucket, Key: `avatars/${body.doc.filename}` }),
    )
    expect(head.ContentDisposition).toBe(
      `inline; filename="My _best_  photo.webp"; filename*=UTF-8''My%20%22best%22%20%20photo.webp`,
    )
  })

  it('file parts nothing reads leave no temp file: a part under another name, a bulk update with a file', async () => {
    const data = await sharp(photo).resize(64).png().toBuffer()
    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(data)]), 'kept.png')
    form.append('extra', new Blob([new Uint8Array(data)]), 'extra.png')
    form.append('_payload', '{}')
    const created = await fetch(`${app.baseURL}/api/avatars`, {
      body: form,
      headers: { Authorization: `JWT ${app.token}` },
      method: 'POST',
    })
    expect(created.status).toBe(201)
    const { doc } = (await created.json()) as { doc: { id: number } }
    expect(await readdir(tempDir)).toEqual([])

    const bulk = new FormData()
    bulk.append('file', new Blob([new Uint8Array(data)]), 'bulk.png')
    bulk.append('_payload', '{}')
    const refused = await fetch(`${app.baseURL}/api/avatars?where[id][equals]=${doc.id}`, {
      body: bulk,
      headers: { Authorization: `JWT ${app.token}` },
      method: 'PATCH',
    })
    expect(refused.status).toBe(400)
    expect(await readdir(tempDir)).toEqual([])
  })

  it("the clean-up runner removes Payload's temp files an hour old that no request read (parts sent to the app's other endpoints, a killed process's)", async () => {
    // A file part sent with a login: Payload writes it and never removes it.
    const form = new FormData()
    form.append('email', 'nobody@example.com')
    form.append('password', 'wrong')
    form.append('x', new Blob([new Uint8Array(1000)]), 'x.png')
    const login = await fetch(`${app.baseURL}/api/users/login`, { body: form, method: 'POST' })
    expect(login.status).toBeGreaterThanOrEqual(400)
    const [left] = await readdir(tempDir)
    expect(left).toMatch(/^tmp-\d+-\d+$/)
    const old = new Date(Date.now() - TEMP_FILE_MAX_AGE_MS - 60_000)
    await utimes(path.join(tempDir, left), old, old)
    // A recent part (an upload still being read) and a file that is not Payload's stay.
    await writeFile(path.join(tempDir, 'tmp-1-1700000000000'), 'recent')
    await writeFile(path.join(tempDir, 'notes.txt'), 'not a temp file')
    await utimes(path.join(tempDir, 'notes.txt'), old, old)
    try {
      expect(await sweepTempFiles(app.payload)).toBe(1)
      expect((await readdir(tempDir)).sort()).toEqual(['notes.txt', 'tmp-1-1700000000000'])
    } finally {
      for (const name of await readdir(tempDir)) await rm(path.join(tempDir, name))
    }
  })

  it('a zTXt zlib bomb (200 MB of text in 200 KB) is not inflated into the result: the image is stored, its text is not', async () => {
    const data = await pngWithZTXtBomb(200 * 1024 * 1024)
    expect(data.length).toBeLessThan(300 * 1024)
    const { body, status } = await uploadREST(app, 'media', { data, name: 'ztxt.png' })
    expect(status).toBe(201)
    expect([body.doc.width, body.doc.height]).toEqual([64, 64])
    const stored = await objectBytes(`media/${body.doc.filename}`)
    expect(stored.length).toBeLessThan(2000)
    expect((await sharp(stored).metadata()).comments).toBeUndefined()
  })

  it('HTML appended to a PNG, or script in a JPEG comment, does not survive: the stored bytes are a fresh encode', async () => {
    const script = '<script>alert(document.cookie)</script>'
    const png = Buffer.concat([
      await sharp(photo).resize(200).png().toBuffer(),
      Buffer.from(`<html>${script}</html>`),
    ])
    const jpeg = await sharp(photo).resize(200).jpeg().toBuffer()
    // Insert a COM segment (0xFFFE) with the script right after the SOI marker.
    const comment = Buffer.from(script)
    const com = Buffer.concat([
      Buffer.from([0xff, 0xfe, (comment.length + 2) >> 8, (comment.length + 2) & 0xff]),
      comment,
    ])
    const jpegWithComment = Buffer.concat([jpeg.subarray(0, 2), com, jpeg.subarray(2)])
    for (const [data, name] of [
      [png, 'poly.png'],
      [jpegWithComment, 'poly.jpg'],
    ] as const) {
      const { body, status } = await uploadREST(app, 'media', { data, name })
      expect(status).toBe(201)
      const stored = await objectBytes(`media/${body.doc.filename}`)
      expect(stored.includes(Buffer.from('<script'))).toBe(false)
      expect(stored.subarray(0, 4).toString('latin1')).toBe('RIFF')
    }
  })
})

describe('malformed multipart bodies', () => {
  it('a "file" part without a file name (or with an empty one) gets a clear 400 naming the problem, not Payload\'s JSON error', async () => {
    const png = await sharp(photo).resize(32).png().toBuffer()
    const boundary = 'n0name'
    // Without a name, a part is a field to the parser unless its type is application/octet-stream:
    // then it is a file that Payload names `tmp-<n>-<ms>`.
    for (const [disposition, type] of [
      ['form-data; name="file"', 'image/png'],
      ['form-data; name="file"; filename=""', 'image/png'],
      ['form-data; name="file"', 'application/octet-stream'],
    ]) {
      const body = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${type}\r\n\r\n`,
        ),
        png,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ])
      const rowsBefore = await rowCount('media')
      const response = await fetch(`${app.baseURL}/api/media`, {
        body,
        headers: {
          Authorization: `JWT ${app.token}`,
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
        },
        method: 'POST',
      })
      expect(response.status, `${disposition}, ${type}`).toBe(400)
      const { errors } = (await response.json()) as { errors: Array<{ message: string }> }
      expect(errors[0].message, `${disposition}, ${type}`).toBe(
        'The "file" part has no file name (or, for a direct upload, its reference is not JSON), so its type cannot be checked. Nothing was saved to Media; send the file with its name. Allowed extensions are .jpg, .jpeg, .png and .webp.',
      )
      expect(await rowCount('media')).toBe(rowsBefore)
    }
  })

  it('a file name with a control character gets a clear 400, and the next request on the same keep-alive connection succeeds', async () => {
    const jpg = await gradientJPEG(300, 200, [0, 0, 0], [255, 255, 255])
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const send = (name: string) =>
      new Promise<{ body: any; status: number }>((resolve, reject) => {
        const boundary = 'b0undary'
        const head = Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: image/jpeg\r\n\r\n`,
          'latin1',
        )
        const body = Buffer.concat([head, jpg, Buffer.from(`\r\n--${boundary}--\r\n`)])
        const url = new URL(`${app.baseURL}/api/media`)
        const request = http.request(
          {
            agent,
            headers: {
              Authorization: `JWT ${app.token}`,
              'Content-Length': body.length,
              'Content-Type': `multipart/form-data; boundary=${boundary}`,
            },
            host: url.hostname,
            method: 'POST',
            path: url.pathname,
            port: url.port,
          },
          (res) => {
            let text = ''
            res.on('data', (chunk) => (text += chunk))
            res.on('end', () => resolve({ body: JSON.parse(text), status: res.statusCode! }))
          },
        )
        request.on('error', reject)
        request.end(body)
      })
    try {
      const rowsBefore = await rowCount('media')
      for (const name of ['bell\x07.jpg', 'start\x01.jpg']) {
        const refused = await send(name)
        expect(refused.status, name).toBe(400)
        expect(refused.body.errors[0].message).toBe(
          'The upload could not be read because its multipart body is malformed or incomplete (a file name with control characters such as \\x01, a body cut off before its closing boundary, or a Content-Type without a boundary). Nothing was saved to Media; send the whole form again, with the file renamed if its name has control characters.',
        )
        const next = await send('fine.jpg')
        expect(next.status, JSON.stringify(next.body)).toBe(201)
      }
      expect(await rowCount('media')).toBe(rowsBefore + 2)
    } finally {
      agent.destroy()
    }
  })
})

describe('refused document fields and form parts', () => {
  /** A multipart upload of a small JPEG to media with `payload` as its raw `_payload` and `files` copies of the file. */
  const post = async (payload: string, files = 1) => {
    const jpg = await gradientJPEG(300, 200, [0, 0, 0], [255, 255, 255])
    const form = new FormData()
    for (let i = 0; i < files; i++)
      form.append('file', new Blob([new Uint8Array(jpg)], { type: 'image/jpeg' }), `f${i}.jpg`)
    form.append('_payload', payload)
    const response = await fetch(`${app.baseURL}/api/media`, {
      body: form,
      headers: { Authorization: `JWT ${app.token}` },
      method: 'POST',
    })
    return { body: (await response.json()) as any, status: response.status }
  }

  const cases: Array<{
    files?: number
    message: string
    payload: () => string
    status: number
    what: string
  }> = [
    {
      message:
        'The upload\'s document fields could not be read, because the "_payload" field is not valid JSON. Nothing was saved to Media; send the fields as one JSON object in the multipart field "_payload".',
      payload: () => '{"alt":',
      status: 400,
      what: '`_payload` that is not JSON',
    },
    {
      message:
        'The upload\'s document fields could not be read, because the fields are nested more than 64 levels deep. Nothing was saved to Media; send the fields as one JSON object in the multipart field "_payload".',
      payload: () => `{"alt":"x","z":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
      status: 400,
      what: "fields nested 20,000 levels deep (Payload's deep copy would overflow the stack)",
    },
    {
      message:
        'The upload\'s form is too large for this server (a field over 1 MB, such as a long "_payload", or too many fields or files). Nothing was saved to Media; send the document\'s fields in "_payload" and one file.',
      payload: () => JSON.stringify({ alt: 'x'.repeat(2 * 1024 * 1024) }),
      status: 413,
      what: 'a 2 MB `_payload`',
    },
    {
      message:
        'The upload\'s document fields could not be read, because the "_payload" field is not a JSON object. Nothing was saved to Media; send the fields as one JSON object in the multipart field "_payload".',
      payload: () => '"just a string"',
      status: 400,
      what: '`_payload` that is JSON but not an object',
    },
    {
      files: 2,
      message:
        'The upload has 2 files in its "file" field, and a document of Media holds one image. Nothing was saved; send one file per request.',
      payload: () => '{"alt":"x"}',
      status: 400,
      what: 'two files',
    },
  ]
  for (const { files, message, payload, status, what } of cases) {
    it(`${what} → ${status}, before any image work, leaving nothing`, async () => {
      const rows = await rowCount('media')
      const keys = await app.listKeys('media/')
      const refused = await post(payload(), files)
      expect(refused.status).toBe(status)
      expect(refused.body.errors[0].message).toBe(message)
      expect(await rowCount('media')).toBe(rows)
      expect(await app.listKeys('media/')).toEqual(keys)
    })
  }
})

describe('the Local API without a transaction held', () => {
  it('prepareImage processes and stores first; payload.create with its session records it, and its clean-up row is gone', async () => {
    const bytes = await sharp(photo).resize(700).jpeg().toBuffer()
    const session = await prepareImage(app.payload, 'media', { data: bytes, name: 'local.jpg' })
    // Stored before any document exists, and recorded for clean-up until the record step claims it.
    for (const key of session.keys) expect(await app.listKeys(key)).toEqual([key])
    expect(
      await app.sql('select reason from image_asset_cleanup where id = $1', [session.intent]),
    ).toEqual([{ reason: 'upload' }])
    const doc = await app.payload.create({
      collection: 'media',
      context: sessionContext(session),
      data: { alt: 'local' },
    })
    expect(doc).toMatchObject({
      alt: 'local',
      filename: session.data.filename,
      mimeType: 'image/webp',
      originalFilename: 'local.jpg',
      width: 700,
    })
    expect(
      await app.sql('select id from image_asset_cleanup where id = $1', [session.intent]),
    ).toEqual([])
    // A name the collection refuses is refused before anything is read.
    await expect(
      prepareImage(app.payload, 'media', { data: bytes, name: 'local.gif' }),
    ).rejects.toBeInstanceOf(ImageUploadError)
  })
})

describe('replacing and deleting', () => {
  it('replacing a file stores the new one and deletes the old object; deleting the document deletes its object', async () => {
    const created = await uploadREST(app, 'media', {
      data: await sharp(photo).resize(640).jpeg().toBuffer(),
      name: 'a.jpg',
    })
    const oldKey = `media/${created.body.doc.filename}`
    expect(await app.listKeys('media/')).toContain(oldKey)

    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(await transparentPNG(300, 200))]), 'b.png')
    const replaced = await fetch(`${app.baseURL}/api/media/${created.body.doc.id}`, {
      body: form,
      headers: { Authorization: `JWT ${app.token}` },
      method: 'PATCH',
    })
    const replacedBody = await replaced.json()
    expect(replaced.status, JSON.stringify(replacedBody)).toBe(200)
    const doc = replacedBody.doc
    expect([doc.width, doc.height]).toEqual([300, 200])
    const newKey = `media/${doc.filename}`
    expect(newKey).not.toBe(oldKey)
    // The old object goes after the commit, by the app's own clean-up.
    await vi.waitFor(
      async () => {
        const keys = await app.listKeys('media/')
        expect(keys).toContain(newKey)
        expect(keys).not.toContain(oldKey)
      },
      { interval: 100, timeout: 15_000 },
    )

    const deleted = await fetch(`${app.baseURL}/api/media/${doc.id}`, {
      headers: { Authorization: `JWT ${app.token}` },
      method: 'DELETE',
    })
    expect(deleted.status).toBe(200)
    await vi.waitFor(async () => expect(await app.listKeys('media/')).not.toContain(newKey), {
      interval: 100,
      timeout: 15_000,
    })
    expect(await app.sql('select id from media where id = $1', [doc.id])).toEqual([])
  })

  it('the file the document already has, sent again with a later save (as the admin’s form does), is not processed again when it is byte for byte the kept original: same image, same URLs, the fields saved', async () => {
    const limiter = runtimeOf(app.payload).limiter
    for (const slug of ['product-images'] as const) {
      const bytes = await sharp(photo).resize(700).jpeg().toBuffer()
      const created = await uploadREST(
        app,
        slug,
        { data: bytes, name: 'same.jpg' },
        { alt: 'First' },
      )
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const resend = (data: Buffer, alt: string) => {
        const form = new FormData()
        form.append('file', new Blob([new Uint8Array(data)], { type: 'image/jpeg' }), 'same.jpg')
        form.append('_payload', JSON.stringify({ alt }))
        return fetch(`${app.baseURL}/api/${slug}/${created.body.doc.id}`, {
          body: form,
          headers: { Authorization: `JWT ${app.token}` },
          method: 'PATCH',
        })
      }
      const work = vi.spyOn(limiter, 'run')
      try {
        const again = await resend(bytes, 'Second')
        const body = (await again.json()) as { doc: Record<string, any> }
        expect(again.status, JSON.stringify(body)).toBe(200)
        expect(work).not.toHaveBeenCalled()
        expect([body.doc.alt, body.doc.filename, body.doc.url]).toEqual([
          'Second',
          created.body.doc.filename,
          created.body.doc.url,
        ])
        // Another file under the same name is a replacement as usual.
        const other = await sharp(photo).resize(700).flop().jpeg().toBuffer()
        const replaced = await resend(other, 'Third')
        expect(replaced.status).toBe(200)
        expect(work).toHaveBeenCalledTimes(1)
        expect(((await replaced.json()) as { doc: { filename: string } }).doc.filename).not.toBe(
          created.body.doc.filename,
        )
      } finally {
        work.mockRestore()
      }
    }
    // Without a kept original nothing tells it from an edited file of the same name and size: it
    // is a replacement.
    const bytes = await sharp(photo).resize(500).jpeg().toBuffer()
    const created = await uploadREST(app, 'media', { data: bytes, name: 'same.jpg' }, { alt: 'x' })
    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'same.jpg')
    const again = await fetch(`${app.baseURL}/api/media/${created.body.doc.id}`, {
      body: form,
      headers: { Authorization: `JWT ${app.token}` },
      method: 'PATCH',
    })
    expect(again.status).toBe(200)
    expect(((await again.json()) as { doc: { filename: string } }).doc.filename).not.toBe(
      created.body.doc.filename,
    )
  })

  it('duplicating is switched off for image collections (it would re-encode a compressed WebP)', async () => {
    const created = await uploadREST(app, 'category-images', {
      data: await sharp(photo).resize(900).jpeg().toBuffer(),
      name: 'orig.jpg',
    })
    const rowsBefore = await rowCount('category-images')
    const response = await fetch(
      `${app.baseURL}/api/category-images/${created.body.doc.id}/duplicate`,
      {
        headers: { Authorization: `JWT ${app.token}` },
        method: 'POST',
      },
    )
    expect(response.status).toBe(404)
    expect(await rowCount('category-images')).toBe(rowsBefore)
  })

  it('a replacement with a refused file keeps the document and its object as they were', async () => {
    const created = await uploadREST(app, 'avatars', {
      data: await sharp(photo).resize(500).jpeg().toBuffer(),
      name: 'me.jpg',
    })
    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(await smallGIF())]), 'me.gif')
    const response = await fetch(`${app.baseURL}/api/avatars/${created.body.doc.id}`, {
      body: form,
      headers: { Authorization: `JWT ${app.token}` },
      method: 'PATCH',
    })
    expect(response.status).toBe(400)
    const [row] = await app.sql('select filename from avatars where id = $1', [created.body.doc.id])
    expect(row.filename).toBe(created.body.doc.filename)
    expect(await app.listKeys('avatars/')).toContain(`avatars/${created.body.doc.filename}`)
  })
})
