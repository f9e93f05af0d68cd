import sharp from 'sharp'
import { describe, expect, it } from 'vitest'

import {
  displayFilename,
  encodeWebP,
  extensionOf,
  mediaURL,
  messages,
  objectFilename,
  sniffFormat,
} from 'payload-image-assets/internal'

describe('extensionOf', () => {
  const cases: Array<[string, string]> = [
    ['photo.jpg', '.jpg'],
    ['Photo.JPEG', '.jpeg'],
    ['archive.tar.PNG', '.png'],
    ['noext', ''],
    ['.hidden', ''],
    ['trailingdot.', ''],
    ['../../x.png', '.png'],
    ['dir\\evil.webp', '.webp'],
    ['x.png.gif', '.gif'],
  ]
  for (const [name, ext] of cases)
    it(`${JSON.stringify(name)} → ${JSON.stringify(ext)}`, () =>
      expect(extensionOf(name)).toBe(ext))
})

describe('sniffFormat reads the real format from the bytes', () => {
  it('recognises JPEG, PNG and WebP and nothing else', async () => {
    const base = sharp({ create: { background: '#808080', channels: 3, height: 8, width: 8 } })
    expect(sniffFormat(await base.clone().jpeg().toBuffer())).toBe('jpeg')
    expect(sniffFormat(await base.clone().png().toBuffer())).toBe('png')
    expect(sniffFormat(await base.clone().webp().toBuffer())).toBe('webp')
    expect(sniffFormat(await base.clone().gif().toBuffer())).toBeUndefined()
    expect(sniffFormat(await base.clone().tiff().toBuffer())).toBeUndefined()
    expect(sniffFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined()
    expect(sniffFormat(Buffer.from('RIFF....WAVEfmt '))).toBeUndefined()
    expect(sniffFormat(Buffer.alloc(0))).toBeUndefined()
  })
})

describe('encodeWebP', () => {
  it('fits inside the box, never enlarges, and writes WebP', async () => {
    const input = await sharp({
      create: { background: '#336699', channels: 3, height: 300, width: 1000 },
    })
      .jpeg()
      .toBuffer()
    const fitted = await encodeWebP(input, { height: 200, quality: 80, width: 240 }, 6)
    expect([fitted.width, fitted.height]).toEqual([240, 72])
    expect((await sharp(fitted.data).metadata()).format).toBe('webp')
    const small = await encodeWebP(input, { height: 4000, quality: 80, width: 4000 }, 6)
    expect([small.width, small.height]).toEqual([1000, 300])
  })
})

describe('encodeImageSet: the other versions done before the main image', () => {
  const photo = () =>
    sharp({ create: { background: '#336699', channels: 3, height: 1500, width: 2000 } })
      .jpeg()
      .toBuffer()
  const preset = { height: 1200, quality: 80, width: 1600 }

  it('tells once, before the set is returned, that the variants, shapes and placeholder are encoded', async () => {
    const { encodeImageSet } = await import('payload-image-assets/internal')
    const events: string[] = []
    const set = encodeImageSet(await photo(), preset, {
      effort: 4,
      onOthersDone: () => events.push('others done'),
      placeholderWidth: 16,
      shapes: [{ height: 300, name: 'square', quality: 80, variantWidths: [150], width: 300 }],
      variantWidths: [400, 800],
    }).then((result) => {
      events.push('set returned')
      return result
    })
    const { main, placeholder, shapes, variants } = await set
    expect(events).toEqual(['others done', 'set returned'])
    expect(variants.map((v) => v.width)).toEqual([400, 800])
    expect(shapes.square.variants.map((v) => v.width)).toEqual([150])
    expect(placeholder).toMatch(/^data:image\/webp;base64,/)
    expect(main.width).toBe(1600)
  })

  it('does not tell it when the image cannot be decoded', async () => {
    const { encodeImageSet } = await import('payload-image-assets/internal')
    const truncated = (await photo()).subarray(0, 2000)
    let told = 0
    await expect(
      encodeImageSet(truncated, preset, {
        effort: 4,
        onOthersDone: () => told++,
        variantWidths: [400],
      }),
    ).rejects.toThrow()
    expect(told).toBe(0)
  })
})

describe('encodeImageSet: variants are lighter than the wider images', () => {
  it('drops a variant of a flat graphic with transparency that would cost more bytes than the main image', async () => {
    const { encodeImageSet } = await import('payload-image-assets/internal')
    // A translucent shape on a transparent background: resampling softens its edges, so a
    // variant can take more bytes than the full-size image.
    const graphic = await sharp(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400"><ellipse cx="300" cy="200" rx="280" ry="180" fill="rgb(200,30,60)" fill-opacity="0.6"/></svg>',
      ),
    )
      .png()
      .toBuffer()
    const preset = { height: 1200, quality: 80, width: 1600 }
    const { main, variants } = await encodeImageSet(graphic, preset, {
      effort: 6,
      variantEffort: 5,
      variantWidths: [160, 320, 480],
    })
    // The 480 px version, encoded alike, is heavier than the 600 px main image.
    const wide = await sharp(graphic)
      .resize({ width: 480 })
      .webp({ effort: 5, quality: 80 })
      .toBuffer()
    expect(wide.length).toBeGreaterThanOrEqual(main.data.length)
    expect(variants.map((v) => v.width)).toEqual([160, 320])
    const bytes = [...variants, main].map((image) => image.data.length)
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b))
    expect(new Set(bytes).size).toBe(bytes.length)
    expect((await sharp(variants[1]!.data).metadata()).hasAlpha).toBe(true)
  })
})

describe('encodeImageSet: variant effort', () => {
  // Noise, so that the encoder's effort shows in the bytes.
  const width = 640
  const height = 480
  const noise = Buffer.alloc(width * height * 3)
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24

  it('encodes the variants and shapes at their own effort and leaves the main image as it was', async () => {
    const { encodeImageSet } = await import('payload-image-assets/internal')
    const input = await sharp(noise, { raw: { channels: 3, height, width } })
      .blur(1.2)
      .png()
      .toBuffer()
    const options = {
      effort: 6,
      shapes: [{ height: 200, name: 'square', quality: 80, variantWidths: [], width: 200 }],
      variantWidths: [320],
    }
    const preset = { height: 480, quality: 80, width: 640 }
    const same = await encodeImageSet(input, preset, options)
    const fast = await encodeImageSet(input, preset, { ...options, variantEffort: 0 })
    expect(fast.main.data.equals(same.main.data)).toBe(true)
    expect(fast.variants[0].data.equals(same.variants[0].data)).toBe(false)
    expect(fast.shapes.square.main.data.equals(same.shapes.square.main.data)).toBe(false)
    // Omitted, the variants take the main image's effort.
    const again = await encodeImageSet(input, preset, { ...options, variantEffort: 6 })
    expect(again.variants[0].data.equals(same.variants[0].data)).toBe(true)
  })

  it('the plugin option reaches the pipeline and the settings fingerprint', async () => {
    const { processImage, resolveOptions, settingsFingerprint } =
      await import('payload-image-assets/internal')
    const collection = (webpVariantEffort: number) =>
      resolveOptions({ webpVariantEffort }, { S3_BUCKET: 'media' }).collections.find(
        (c) => c.slug === 'category-images',
      )!
    const [slow, fast] = [collection(6), collection(0)]
    expect(settingsFingerprint(fast)).not.toBe(settingsFingerprint(slow))
    const data = await sharp(noise, { raw: { channels: 3, height, width } })
      .resize(1000, 1000)
      .blur(1.2)
      .jpeg()
      .toBuffer()
    const upload = { data, name: 'noise.jpg' }
    const [a, b] = [await processImage(upload, slow), await processImage(upload, fast)]
    expect(b.data.equals(a.data)).toBe(true)
    expect(b.variants.map((v) => v.width)).toEqual(a.variants.map((v) => v.width))
    expect(b.variants[0].data.equals(a.variants[0].data)).toBe(false)
  })
})

describe('object names and URLs', () => {
  it('names objects by content hash plus a random part, never by the upload name', () => {
    const a = objectFilename(Buffer.from('same bytes'))
    const b = objectFilename(Buffer.from('same bytes'))
    expect(a).toMatch(/^[0-9a-f]{16}-[0-9a-f]{8}\.webp$/)
    expect(a.slice(0, 16)).toBe(b.slice(0, 16))
    expect(a).not.toBe(b)
    expect(objectFilename(Buffer.from('other bytes')).slice(0, 16)).not.toBe(a.slice(0, 16))
  })

  it('keeps a display name without paths, control or bidi characters', () => {
    expect(displayFilename('../../etc/passwd.png')).toBe('passwd.png')
    expect(displayFilename('evil\u202Egnp.exe')).toBe('evilgnp.exe')
    expect(displayFilename('a\u0000b.png')).toBe('ab.png')
    expect(displayFilename('Cafe\u0301.jpg')).toBe('Café.jpg')
    expect(Array.from(displayFilename(`${'x'.repeat(300)}.png`))).toHaveLength(255)
  })

  const storage = {
    bucket: 'media',
    forcePathStyle: false,
    region: 'eu-west-1',
    timeoutSeconds: 30,
  }
  const cases: Array<[string, Parameters<typeof mediaURL>[0], string]> = [
    [
      'a CDN base URL',
      {
        ...storage,
        endpoint: 'http://127.0.0.1:4569',
        mediaBaseURL: 'https://cdn.example.com/assets',
      },
      'https://cdn.example.com/assets/media/a%20b.webp',
    ],
    [
      'a path-style endpoint',
      { ...storage, endpoint: 'http://127.0.0.1:4569', forcePathStyle: true },
      'http://127.0.0.1:4569/media/media/a%20b.webp',
    ],
    [
      'a virtual-hosted endpoint',
      { ...storage, endpoint: 'https://acc.r2.cloudflarestorage.com' },
      'https://media.acc.r2.cloudflarestorage.com/media/a%20b.webp',
    ],
    ['AWS', storage, 'https://media.s3.eu-west-1.amazonaws.com/media/a%20b.webp'],
  ]
  for (const [what, s, url] of cases)
    it(`builds the URL for ${what}`, () => expect(mediaURL(s, 'media/a b.webp')).toBe(url))
})

describe('messages', () => {
  it('names the extension, the collection and the allowed list', () => {
    expect(
      messages.upload('EXTENSION_NOT_ALLOWED', {
        allowed: ['.jpg', '.jpeg', '.png', '.webp'],
        ext: '.gif',
        label: 'Avatars',
      }),
    ).toBe(
      'File extension ".gif" is not allowed for Avatars. Allowed extensions are .jpg, .jpeg, .png and .webp.',
    )
  })
  it('never echoes control, bidi or path characters from a hostile extension', () => {
    expect(
      messages.upload('EXTENSION_NOT_ALLOWED', {
        allowed: ['.png'],
        ext: '.p\u202Eng/../x',
        label: 'Media',
      }),
    ).toBe('File extension ".png..x" is not allowed for Media. Allowed extensions are .png.')
  })
})

describe('header limits', () => {
  it('keeps the first frame of an animated WebP when a collection allows it', async () => {
    const { animatedWebP } = await import('../helpers/images')
    const { processImage, resolveOptions } = await import('payload-image-assets/internal')
    const media = resolveOptions(
      { collections: { media: { limits: { animation: 'first-frame' } } } },
      { S3_BUCKET: 'b' },
    ).collections.find((c) => c.slug === 'media')!
    const image = await processImage({ data: await animatedWebP(5), name: 'a.webp' }, media)
    const meta = await sharp(image.data).metadata()
    expect([meta.width, meta.height, meta.pages ?? 1]).toEqual([32, 32, 1])
  })
})

describe('processing timeout', () => {
  it('stops an image that takes longer than the collection allows, with a 503', async () => {
    const { processImage, resolveOptions } = await import('payload-image-assets/internal')
    const size = 4000
    const pixels = Buffer.alloc(size * size * 3)
    let seed = 1
    for (let i = 0; i < pixels.length; i++)
      pixels[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 23
    const noise = await sharp(pixels, { raw: { channels: 3, height: size, width: size } })
      .png({ compressionLevel: 0 })
      .toBuffer()
    const posters = resolveOptions(
      {
        collections: {
          posters: {
            height: 4000,
            labels: { plural: 'Posters', singular: 'Poster' },
            limits: { maxBytes: 100 * 1024 * 1024, maxPixels: 20_000_000, timeoutSeconds: 1 },
            quality: 90,
            width: 4000,
          },
        },
      },
      { S3_BUCKET: 'b' },
    ).collections.find((c) => c.slug === 'posters')!
    await expect(processImage({ data: noise, name: 'noise.png' }, posters)).rejects.toMatchObject({
      code: 'IMAGE_TIMEOUT',
      message:
        'Processing the image took longer than 1 second, the limit for Posters. Try again later, or upload a smaller image.',
      status: 503,
    })
  })
})
