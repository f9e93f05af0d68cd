import sharp, { type Sharp } from 'sharp'

import type { ImagePreset } from '../presets.js'
import type { InputFormat } from './formats.js'
import { sniffFormat } from './inspect.js'

export type EncodedImage = {
  data: Buffer
  height: number
  width: number
}

/** The main WebP, its smaller variants (ascending widths), a tiny placeholder, and optional AVIFs. */
export type EncodedSet = {
  /** AVIF versions of the variants and the main image, ascending widths (empty unless asked for). */
  avif: EncodedImage[]
  main: EncodedImage
  placeholder: string
  variants: EncodedImage[]
}

export type TransformOptions = {
  /** Also encode AVIF versions of the main image and every variant. */
  avif?: boolean
  effort: number
  format?: InputFormat
  /** The decoder's own pixel limit, a second guard behind the header check. */
  maxPixels?: number | false
  /** Placeholder width in pixels; 0 for none. */
  placeholderWidth?: number
  timeoutSeconds?: number
  /** Widths of the smaller variants; widths at or above the main image's are dropped. */
  variantWidths?: readonly number[]
}

type Pixels = { channels: 1 | 2 | 3 | 4; data: Buffer; height: number; width: number }

/**
 * The one decode: orient (EXIF), convert to sRGB, fit inside the preset's box without enlarging,
 * and hand back 8-bit pixels. Alpha is kept; EXIF, XMP, IPTC and ICC metadata go no further.
 *
 * Shrink-on-load is used for JPEG (DCT scaling, as good as a full decode and much faster) but not
 * for WebP: libwebp's scaled decode aliases fine detail, which costs quality and, at the same
 * WebP quality, up to twice the bytes (pixel art in the benchmark corpus).
 */
const decode = async (input: Buffer, preset: ImagePreset, format: InputFormat | undefined, maxPixels: number | false, timeoutSeconds: number): Promise<Pixels> => {
  // `pages: 1`: only the first frame is ever decoded (animated input is refused or flattened to it).
  const { data, info } = await sharp(input, { limitInputPixels: maxPixels, pages: 1, sequentialRead: true })
    .autoOrient()
    .resize({ fastShrinkOnLoad: format !== 'webp', fit: 'inside', height: preset.height, width: preset.width, withoutEnlargement: true })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .timeout({ seconds: timeoutSeconds })
    .toBuffer({ resolveWithObject: true })
  return { channels: info.channels, data, height: info.height, width: info.width }
}

const fromPixels = (pixels: Pixels) =>
  sharp(pixels.data, { raw: { channels: pixels.channels, height: pixels.height, width: pixels.width } })

const webp = async (image: Sharp, quality: number, effort: number, timeoutSeconds: number): Promise<EncodedImage> => {
  const { data, info } = await image.webp({ effort, quality }).timeout({ seconds: timeoutSeconds }).toBuffer({ resolveWithObject: true })
  return { data, height: info.height, width: info.width }
}

/** The widths actually produced for an image `width` pixels wide: smaller ones only, no duplicates. */
export const variantWidthsFor = (width: number, wanted: readonly number[]): number[] =>
  [...new Set(wanted)].filter((w) => w < width).sort((a, b) => a - b)

/**
 * transform: one decode of the source, then the main WebP, every smaller variant and the
 * placeholder, all encoded from the same decoded pixels.
 */
export const encodeImageSet = async (input: Buffer, preset: ImagePreset, options: TransformOptions): Promise<EncodedSet> => {
  const { effort, maxPixels = false, placeholderWidth = 0, timeoutSeconds = 0, variantWidths = [] } = options
  const pixels = await decode(input, preset, options.format ?? sniffFormat(input), maxPixels, timeoutSeconds)
  const main = await webp(fromPixels(pixels), preset.quality, effort, timeoutSeconds)
  const variants: EncodedImage[] = []
  for (const width of variantWidthsFor(pixels.width, variantWidths)) {
    variants.push(await webp(fromPixels(pixels).resize({ width }), preset.quality, effort, timeoutSeconds))
  }
  let placeholder = ''
  if (placeholderWidth > 0) {
    const tiny = await fromPixels(pixels)
      .resize({ fit: 'inside', height: placeholderWidth, width: placeholderWidth })
      .webp({ effort: 4, quality: 40 })
      .toBuffer()
    placeholder = `data:image/webp;base64,${tiny.toString('base64')}`
  }
  const avif: EncodedImage[] = []
  if (options.avif) {
    for (const width of [...variants.map((v) => v.width), main.width]) {
      const image = width === pixels.width ? fromPixels(pixels) : fromPixels(pixels).resize({ width })
      const { data, info } = await image.avif({ effort: 4, quality: avifQuality(preset.quality) }).timeout({ seconds: timeoutSeconds }).toBuffer({ resolveWithObject: true })
      avif.push({ data, height: info.height, width: info.width })
    }
  }
  return { avif, main, placeholder, variants }
}

/** AVIF reaches WebP's visual quality at a lower setting; this keeps the two about equal. */
const avifQuality = (webpQuality: number): number => Math.max(1, Math.round(webpQuality * 0.75))

/** The main WebP alone (what `encodeImageSet` stores as the main object). */
export const encodeWebP = async (
  input: Buffer,
  preset: ImagePreset,
  effort: number,
  format: InputFormat | undefined = sniffFormat(input),
  maxPixels: number | false = false,
  timeoutSeconds = 0,
): Promise<EncodedImage> => (await encodeImageSet(input, preset, { effort, format, maxPixels, timeoutSeconds })).main
