/** Test images generated from raw pixels with sharp (nothing downloaded). */
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
  return sharp(pixels, { raw: { channels: 4, height, width } }).png().toBuffer()
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
      IFD3: { GPSLatitude: '51/1 30/1 0/1', GPSLatitudeRef: 'N', GPSLongitude: '0/1 7/1 0/1', GPSLongitudeRef: 'W' },
    })
    .toBuffer()
}

/** A small real GIF. */
export const smallGIF = (): Promise<Buffer> =>
  sharp({ create: { background: '#3366cc', channels: 3, height: 32, width: 32 } }).gif().toBuffer()

/** The RGBA value of one pixel of an encoded image. */
export const pixelAt = async (image: Buffer, x: number, y: number): Promise<[number, number, number, number]> => {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  const i = (y * info.width + x) * 4
  return [data[i], data[i + 1], data[i + 2], data[i + 3]]
}
