/** Test images generated from raw pixels with sharp (nothing downloaded). */
import { deflateSync } from 'node:zlib'

import sharp from 'sharp'

export { gradientJPEG } from '../../src/dev/seed'

/** An RGBA PNG whose alpha falls from opaque (left) to fully transparent (right). */
export const transparentPNG = async (width: number, height: number): Promise<Buffer> => {
  const pixels = Buffer.alloc(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4
      pixels[i] = 200
      pixels[i + 1] = 40
      pixels[i + 2] = 90
      pixels[i + 3] = Math.round(255 * (1 - x / (width - 1)))
    }
  }
  return sharp(pixels, { raw: { channels: 4, height, width } })
    .png()
    .toBuffer()
}

/**
 * A 400 x 200 JPEG stored sideways: left half red, right half blue, with EXIF orientation 6
 * (display rotated 90° clockwise) and GPS tags. Shown upright it is 200 x 400, red on top.
 */
export const sidewaysJPEGWithGPS = async (): Promise<Buffer> => {
  const width = 400
  const height = 200
  const pixels = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) pixels[(y * width + x) * 3 + (x < width / 2 ? 0 : 2)] = 255
  }
  return sharp(pixels, { raw: { channels: 3, height, width } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .withExif({
      IFD0: { Make: 'TestCam' },
      IFD3: {
        GPSLatitude: '51/1 30/1 0/1',
        GPSLatitudeRef: 'N',
        GPSLongitude: '0/1 7/1 0/1',
        GPSLongitudeRef: 'W',
      },
    })
    .toBuffer()
}

/** A small real GIF. */
export const smallGIF = (): Promise<Buffer> =>
  sharp({ create: { background: '#3366cc', channels: 3, height: 32, width: 32 } })
    .gif()
    .toBuffer()

/** The RGBA value of one pixel of an encoded image. */
export const pixelAt = async (
  image: Buffer,
  x: number,
  y: number,
): Promise<[number, number, number, number]> => {
  const { data, info } = await sharp(image)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  const i = (y * info.width + x) * 4
  return [data[i], data[i + 1], data[i + 2], data[i + 3]]
}

const crc32 = (bytes: Buffer): number => {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

const pngChunk = (type: string, data: Buffer): Buffer => {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

/** A PNG whose header claims `width` x `height` RGB pixels but carries almost no pixel data. */
export const pngClaiming = (width: number, height: number): Buffer => {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

/** An animated WebP of `frames` distinct 32 x 32 frames (at most 256). */
export const animatedWebP = async (frames: number): Promise<Buffer> => {
  const images = await Promise.all(
    Array.from({ length: frames }, (_, i) =>
      sharp({
        create: {
          background: { b: 255 - i, g: (i * 7) % 256, r: i },
          channels: 3,
          height: 32,
          width: 32,
        },
      })
        .png()
        .toBuffer(),
    ),
  )
  return sharp(images, { join: { animated: true } })
    .webp({ effort: 0 })
    .toBuffer()
}

/**
 * A real decompression bomb: a 1-bit grey PNG of `width` x `height` zero pixels, whose few hundred
 * kilobytes inflate to `width` x `height` pixels (16000 x 16000 is 256 megapixels).
 */
export const pngBomb = (width: number, height: number): Buffer => {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([1, 0, 0, 0, 0], 8)
  const rows = Buffer.alloc((1 + Math.ceil(width / 8)) * height)
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(rows, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** The chunks of a PNG, in order. */
const pngChunks = (png: Buffer): Array<{ data: Buffer; type: string }> => {
  const chunks: Array<{ data: Buffer; type: string }> = []
  for (let at = 8; at + 12 <= png.length;) {
    const length = png.readUInt32BE(at)
    chunks.push({
      data: png.subarray(at + 8, at + 8 + length),
      type: png.toString('ascii', at + 4, at + 8),
    })
    at += 12 + length
  }
  return chunks
}

/** A valid PNG with a zTXt chunk whose text inflates to `inflatedBytes` (a zlib bomb in metadata). */
export const pngWithZTXtBomb = async (inflatedBytes: number): Promise<Buffer> => {
  const png = await sharp({ create: { background: '#c63', channels: 3, height: 64, width: 64 } })
    .png()
    .toBuffer()
  const text = Buffer.concat([
    Buffer.from('Comment\0', 'latin1'),
    Buffer.from([0]),
    deflateSync(Buffer.alloc(inflatedBytes, 0x41), { level: 9 }),
  ])
  const [ihdr, ...rest] = pngChunks(png)
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk(ihdr.type, ihdr.data),
    pngChunk('zTXt', text),
    ...rest.map((c) => pngChunk(c.type, c.data)),
  ])
}

/** A PNG whose IDAT chunk carries a wrong CRC. */
export const pngWithBadIDATCRC = async (): Promise<Buffer> => {
  const png = Buffer.from(
    await sharp({ create: { background: '#3c6', channels: 3, height: 64, width: 64 } })
      .png()
      .toBuffer(),
  )
  let at = 8
  for (;;) {
    const length = png.readUInt32BE(at)
    if (png.toString('ascii', at + 4, at + 8) === 'IDAT') {
      const crc = at + 8 + length
      png.writeUInt32BE(png.readUInt32BE(crc) ^ 0xffffffff, crc)
      return png
    }
    at += 12 + length
  }
}

/**
 * A 1600 x 900 photo-like picture: a grey gradient with noise, and a red ball (the subject) whose
 * centre is at `centreX` percent of the width.
 */
export const subjectPhoto = async (centreX: number): Promise<Buffer> => {
  const width = 1600
  const height = 900
  const pixels = Buffer.alloc(width * height * 3)
  const cx = (centreX / 100) * width
  const cy = height / 2
  let seed = 7
  const noise = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return (seed % 21) - 10
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      const inBall = (x - cx) ** 2 + (y - cy) ** 2 < 180 ** 2
      const grey = 90 + Math.round((x / width) * 60) + noise()
      pixels[i] = inBall ? 220 : grey
      pixels[i + 1] = inBall ? 30 : grey
      pixels[i + 2] = inBall ? 30 : grey
    }
  }
  return sharp(pixels, { raw: { channels: 3, height, width } })
    .jpeg({ quality: 90 })
    .toBuffer()
}

/** The share of an image's pixels that belong to the red ball. */
export const redShare = async (image: Buffer): Promise<number> => {
  const { data, info } = await sharp(image)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  let red = 0
  for (let i = 0; i < data.length; i += 3) {
    if (data[i] > 150 && data[i + 1] < 90 && data[i + 2] < 90) red++
  }
  return red / (info.width * info.height)
}

/**
 * A real animated PNG (APNG) of `frames` 32 x 32 frames: the first frame is the still image
 * (IDAT) every PNG decoder shows, the others are `fdAT` chunks that only APNG decoders play.
 */
export const animatedPNG = async (frames: number): Promise<Buffer> => {
  const pngs = await Promise.all(
    Array.from({ length: frames }, (_, i) =>
      sharp({
        create: {
          background: { b: 40, g: 90, r: (i * 60) % 256 },
          channels: 3,
          height: 32,
          width: 32,
        },
      })
        .png({ compressionLevel: 0 })
        .toBuffer(),
    ),
  )
  const idat = (png: Buffer) =>
    Buffer.concat(
      pngChunks(png)
        .filter((c) => c.type === 'IDAT')
        .map((c) => c.data),
    )
  const u32 = (...values: number[]) => {
    const out = Buffer.alloc(values.length * 4)
    values.forEach((v, i) => out.writeUInt32BE(v, i * 4))
    return out
  }
  let sequence = 0
  const frameControl = () =>
    // sequence, width, height, x, y, then delay 1/10 s, dispose none, blend source.
    pngChunk(
      'fcTL',
      Buffer.concat([u32(sequence++, 32, 32, 0, 0), Buffer.from([0, 1, 0, 10, 0, 0])]),
    )
  const [ihdr] = pngChunks(pngs[0])
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr.data),
    pngChunk('acTL', u32(frames, 0)),
    frameControl(),
    pngChunk('IDAT', idat(pngs[0])),
    ...pngs
      .slice(1)
      .flatMap((png) => [
        frameControl(),
        pngChunk('fdAT', Buffer.concat([u32(sequence++), idat(png)])),
      ]),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}
