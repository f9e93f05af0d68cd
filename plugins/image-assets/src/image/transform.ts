import sharp, { type Sharp } from 'sharp'

import type { ImagePreset } from '../presets.js'
import type { InputFormat } from './formats.js'
import { CENTRE, type Crop, cropPixels, type Focal, focalRegion, type Region } from './geometry.js'
import { sniffFormat } from './inspect.js'

export type EncodedImage = {
  data: Buffer
  height: number
  width: number
}

/** One fixed shape: the shape itself and its smaller variants (ascending widths). */
export type EncodedShape = { main: EncodedImage; variants: EncodedImage[] }

/** A shape to make: exactly `width` x `height` (never enlarged), cover fit around the focal point. */
export type ShapeSpec = {
  height: number
  name: string
  quality: number
  variantWidths: readonly number[]
  width: number
}

/** The main WebP, its smaller variants (ascending widths), a tiny placeholder, and optional AVIFs. */
export type EncodedSet = {
  /** AVIF versions of the variants and the main image, ascending widths (empty unless asked for). */
  avif: EncodedImage[]
  main: EncodedImage
  placeholder: string
  /** The collection's shapes, by name. */
  shapes: Record<string, EncodedShape>
  variants: EncodedImage[]
}

/** What the editor chose: the part of the picture to keep, and where its subject is. */
export type Framing = {
  /** Percent of the picture as shown (after EXIF orientation); null keeps all of it. */
  crop?: Crop | null
  /** Percent of the cropped picture; steers every cover fit (the shapes). @default the centre */
  focal?: Focal
}

export type TransformOptions = {
  /** Also encode AVIF versions of the main image and every variant. */
  avif?: boolean
  /** WebP effort of the main image. */
  effort: number
  /** WebP effort of the variants and shapes. @default `effort` */
  variantEffort?: number
  format?: InputFormat
  /** The decoder's own pixel limit, a second guard behind the header check. */
  maxPixels?: number | false
  /** Placeholder width in pixels; 0 for none. */
  placeholderWidth?: number
  /** One deadline for the whole set (epoch ms); every encode counts against it. Takes precedence over `timeoutSeconds`. */
  deadline?: number
  /** The whole set's time limit in seconds, from the start of the call (0: none). */
  timeoutSeconds?: number
  /** Widths of the smaller variants; widths at or above the main image's are dropped. */
  variantWidths?: readonly number[]
  /** Crop and focal point. */
  framing?: Framing
  /** Fixed shapes, cover-fitted around the focal point. */
  shapes?: readonly ShapeSpec[]
  /**
   * Called once the variants, the shapes and the placeholder are encoded, while the main image
   * may still be: from then on the set's encodes leave a core free.
   */
  onOthersDone?: () => void
}

/** The image's deadline ran out (recognised by type, not by message text). */
export class DeadlineExceeded extends Error {
  constructor() {
    super('the image deadline ran out')
    this.name = 'DeadlineExceeded'
  }
}

/** libvips could not decode the input: the one failure that is the upload's fault (422). */
export class DecodeFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(`decoding failed: ${cause instanceof Error ? cause.message : String(cause)}`)
    this.name = 'DecodeFailed'
  }
}

/** Seconds left before `deadline` for sharp's own timeout (at least 1), or 0 for no deadline; throws once it has passed. */
const secondsLeft = (deadline: number | undefined): number => {
  if (deadline === undefined) return 0
  const left = deadline - Date.now()
  if (left <= 0) throw new DeadlineExceeded()
  return Math.max(1, Math.ceil(left / 1000))
}

/** Runs one sharp call; a failure after the deadline is the deadline's, whatever sharp said. */
const withinDeadline = async <T>(
  deadline: number | undefined,
  work: (seconds: number) => Promise<T>,
): Promise<T> => {
  const seconds = secondsLeft(deadline)
  try {
    return await work(seconds)
  } catch (error) {
    if (deadline !== undefined && Date.now() >= deadline - 250) throw new DeadlineExceeded()
    throw error
  }
}

type Pixels = { channels: 1 | 2 | 3 | 4; data: Buffer; height: number; width: number }

/**
 * The one decode: orient (EXIF), crop (in percent of the oriented picture), convert to sRGB, fit
 * inside the preset's box without enlarging, and hand back 8-bit pixels. Alpha is kept; EXIF, XMP, IPTC and ICC metadata go no further.
 *
 * Shrink-on-load is used for JPEG (DCT scaling, as good as a full decode and much faster) but not
 * for WebP: libwebp's scaled decode aliases fine detail, which costs quality and, at the same
 * WebP quality, up to twice the bytes (pixel art in the benchmark corpus).
 */
const decode = async (
  input: Buffer,
  preset: ImagePreset,
  format: InputFormat | undefined,
  maxPixels: number | false,
  deadline: number | undefined,
  crop: Crop | null = null,
): Promise<Pixels> => {
  try {
    // `pages: 1`: only the first frame is ever decoded (animated input is refused or flattened to it).
    const open = () => sharp(input, { limitInputPixels: maxPixels, pages: 1, sequentialRead: true })
    const shrinkOnLoad = format !== 'webp'
    let cut: ((image: Sharp) => Sharp) | undefined
    if (crop) {
      const { autoOrient } = await open().metadata()
      cut = croppedFit(crop, autoOrient.width, autoOrient.height, preset, shrinkOnLoad)
    }
    const { data, info } = await withinDeadline(deadline, (seconds) => {
      const oriented = open().autoOrient()
      return (
        cut
          ? cut(oriented)
          : oriented.resize({
              fastShrinkOnLoad: shrinkOnLoad,
              fit: 'inside',
              height: preset.height,
              width: preset.width,
              withoutEnlargement: true,
            })
      )
        .toColourspace('srgb')
        .raw({ depth: 'uchar' })
        .timeout({ seconds })
        .toBuffer({ resolveWithObject: true })
    })
    return { channels: info.channels, data, height: info.height, width: info.width }
  } catch (error) {
    if (error instanceof DeadlineExceeded) throw error
    throw new DecodeFailed(error)
  }
}

/**
 * A crop (percent of the oriented `width` x `height` picture) fitted inside the preset's box. When
 * the crop is larger than the box, the whole picture is resized first (so JPEG keeps its
 * shrink-on-load: a crop cut before resizing would force a full-size decode) and the crop is cut
 * from the smaller picture; otherwise it is cut at full size.
 */
const croppedFit = (
  crop: Crop,
  width: number,
  height: number,
  preset: ImagePreset,
  fastShrinkOnLoad: boolean,
): ((image: Sharp) => Sharp) => {
  const region = cropPixels(crop, width, height)
  const scale = Math.min(1, preset.width / region.width, preset.height / region.height)
  if (scale === 1) return (image) => image.extract(region)
  const scaledWidth = Math.max(1, Math.round(width * scale))
  const scaledHeight = Math.max(1, Math.round(height * scale))
  const left = Math.min(scaledWidth - 1, Math.round(region.left * scale))
  const top = Math.min(scaledHeight - 1, Math.round(region.top * scale))
  const scaled: Region = {
    height: Math.max(1, Math.min(scaledHeight - top, Math.round(region.height * scale))),
    left,
    top,
    width: Math.max(1, Math.min(scaledWidth - left, Math.round(region.width * scale))),
  }
  return (image) =>
    image
      .resize({ fastShrinkOnLoad, fit: 'fill', height: scaledHeight, width: scaledWidth })
      .extract(scaled)
}

const fromPixels = (pixels: Pixels) =>
  sharp(pixels.data, {
    raw: { channels: pixels.channels, height: pixels.height, width: pixels.width },
  })

const encode = async (image: Sharp, deadline: number | undefined): Promise<EncodedImage> => {
  const { data, info } = await withinDeadline(deadline, (seconds) =>
    image.timeout({ seconds }).toBuffer({ resolveWithObject: true }),
  )
  return { data, height: info.height, width: info.width }
}

/** The widths actually produced for an image `width` pixels wide: smaller ones only, no duplicates. */
export const variantWidthsFor = (width: number, wanted: readonly number[]): number[] =>
  [...new Set(wanted)].filter((w) => w < width).sort((a, b) => a - b)

/**
 * transform: one decode of the source, then the main WebP, every smaller variant and the
 * placeholder, all encoded from the same decoded pixels.
 */
export const encodeImageSet = async (
  input: Buffer,
  preset: ImagePreset,
  options: TransformOptions,
): Promise<EncodedSet> => {
  const {
    effort,
    maxPixels = false,
    placeholderWidth = 0,
    timeoutSeconds = 0,
    variantWidths = [],
  } = options
  const deadline =
    options.deadline ?? (timeoutSeconds > 0 ? Date.now() + timeoutSeconds * 1000 : undefined)
  const pixels = await decode(
    input,
    preset,
    options.format ?? sniffFormat(input),
    maxPixels,
    deadline,
    options.framing?.crop,
  )
  const webp = (image: Sharp, quality = preset.quality, at = effort) =>
    encode(image.webp({ effort: at, quality }), deadline)
  const variantEffort = options.variantEffort ?? effort
  const focal = options.framing?.focal ?? CENTRE
  // The main WebP, the variants and the placeholder are encoded at once from the same pixels: on
  // two or more cores the set costs about what the main image costs (the benchmark's "full set").
  const others = [
    settledAll(
      variantWidthsFor(pixels.width, variantWidths).map((width) =>
        webp(fromPixels(pixels).resize({ width }), preset.quality, variantEffort),
      ),
    ),
    placeholderWidth > 0
      ? encode(
          fromPixels(pixels)
            .resize({ fit: 'inside', height: placeholderWidth, width: placeholderWidth })
            .webp({ effort: 4, quality: 40 }),
          deadline,
        ).then((tiny) => `data:image/webp;base64,${tiny.data.toString('base64')}`)
      : Promise.resolve(''),
    encodeShapes(options.shapes ?? [], pixels, focal, (image, shape) =>
      webp(image, shape.quality, variantEffort),
    ),
  ] as const
  let mainFailed = false
  const mainImage = webp(fromPixels(pixels)).catch((error: unknown) => {
    mainFailed = true
    throw error
  })
  const { onOthersDone } = options
  if (onOthersDone) {
    // Not when the main image has failed already: the set is lost anyway.
    void Promise.all(others)
      .then(() => {
        if (!mainFailed) onOthersDone()
      })
      .catch(() => undefined)
  }
  const [main, encoded, placeholder, encodedShapes] = await settled([mainImage, ...others] as const)
  const variants = lighterThanWider(encoded, main)
  const shapes = Object.fromEntries(
    Object.entries(encodedShapes).map(([name, shape]) => [
      name,
      { main: shape.main, variants: lighterThanWider(shape.variants, shape.main) },
    ]),
  )
  const avif = options.avif
    ? await avifVersions(pixels, [...variants.map((v) => v.width), main.width], preset, deadline)
    : []
  return { avif, main, placeholder, shapes, variants }
}

/** One shape cut from the decoded pixels: the focal point's region, at the shape's size or smaller. */
const shapeImage = (pixels: Pixels, shape: ShapeSpec, focal: Focal, width = shape.width) => {
  const region = focalRegion(pixels.width, pixels.height, shape.width, shape.height, focal)
  const height = Math.max(1, Math.round((width * shape.height) / shape.width))
  return fromPixels(pixels)
    .extract(region)
    .resize({ fit: 'cover', height, width, withoutEnlargement: true })
}

/**
 * The variants worth serving: each has fewer bytes than every wider one kept and the main image.
 * A photo's always do; a small flat graphic (a logo with transparency) can give a variant larger
 * than its main image (resampling softens its edges), which would only cost smaller screens more
 * bytes: it is dropped, and those screens get the next wider image.
 */
const lighterThanWider = (variants: EncodedImage[], main: EncodedImage): EncodedImage[] => {
  const kept: EncodedImage[] = []
  let wider = main.data.length
  for (const variant of [...variants].sort((a, b) => b.width - a.width)) {
    if (variant.data.length >= wider) continue
    kept.unshift(variant)
    wider = variant.data.length
  }
  return kept
}

/** Every shape and its variants, encoded at once by `encodeOne`. */
const encodeShapes = async (
  shapes: readonly ShapeSpec[],
  pixels: Pixels,
  focal: Focal,
  encodeOne: (image: Sharp, shape: ShapeSpec) => Promise<EncodedImage>,
): Promise<Record<string, EncodedShape>> => {
  const done = await settledAll(
    shapes.map(async (shape) => {
      const [main, variants] = await settled([
        encodeOne(shapeImage(pixels, shape, focal), shape),
        settledAll(
          shape.variantWidths
            .filter((w) => w < shape.width)
            .map((w) => encodeOne(shapeImage(pixels, shape, focal, w), shape)),
        ),
      ] as const)
      // A picture smaller than the shape gives a smaller shape; its variants at or above that go.
      return [shape.name, { main, variants: variants.filter((v) => v.width < main.width) }] as const
    }),
  )
  return Object.fromEntries(done)
}

/**
 * Waits for every encode, then fails with the first failure: no encode is left running after the
 * call returns (the caller's slot in the work limit is released only when all are done).
 */
const settled = async <T extends readonly unknown[]>(work: {
  [K in keyof T]: Promise<T[K]>
}): Promise<T> => {
  const results = await Promise.allSettled(work)
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) throw (failed as PromiseRejectedResult).reason
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T
}

/** `settled` for a list of the same kind. */
const settledAll = <T>(work: Promise<T>[]): Promise<T[]> => settled<T[]>(work)

/** AVIF versions at the given widths (ascending), one after another: background work, not a request's. */
const avifVersions = async (
  pixels: Pixels,
  widths: readonly number[],
  preset: ImagePreset,
  deadline: number | undefined,
): Promise<EncodedImage[]> => {
  const out: EncodedImage[] = []
  for (const width of widths) {
    const image = width === pixels.width ? fromPixels(pixels) : fromPixels(pixels).resize({ width })
    out.push(
      await encode(image.avif({ effort: 4, quality: avifQuality(preset.quality) }), deadline),
    )
  }
  return out
}

/**
 * The AVIF versions of an image already stored: one decode of `input` (the kept original, else the
 * main WebP) fitted to the preset, then one AVIF per width. The jobs queue's AVIF task runs this.
 */
export const encodeAvifSet = async (
  input: Buffer,
  preset: ImagePreset,
  widths: readonly number[],
  options: {
    deadline?: number
    framing?: Framing
    maxPixels?: number | false
    shapes?: readonly ShapeSpec[]
  } = {},
): Promise<{ shapes: Record<string, EncodedShape>; versions: EncodedImage[] }> => {
  const { deadline } = options
  const pixels = await decode(
    input,
    preset,
    sniffFormat(input),
    options.maxPixels ?? false,
    deadline,
    options.framing?.crop,
  )
  const fitted = [...new Set(widths.map((w) => Math.min(w, pixels.width)))].sort((a, b) => a - b)
  const versions = await avifVersions(pixels, fitted, preset, deadline)
  // One after another, like the other AVIF versions: background work.
  const shapes: Record<string, EncodedShape> = {}
  for (const shape of options.shapes ?? []) {
    const one = await encodeShapes([shape], pixels, options.framing?.focal ?? CENTRE, (image) =>
      encode(image.avif({ effort: 4, quality: avifQuality(shape.quality) }), deadline),
    )
    Object.assign(shapes, one)
  }
  return { shapes, versions }
}

/**
 * The AVIF quality whose SSIM matches the WebP's at `webpQuality` (effort 4), from the benchmark
 * (`npm run bench -- --only avif`): 40, 58 and 67 at WebP 75, 85 and 90. Below about 60 the fitted
 * line would fall too low, so half the WebP quality is the floor.
 */
const avifQuality = (webpQuality: number): number =>
  Math.min(100, Math.max(1, Math.round(webpQuality / 2), Math.round(1.75 * webpQuality - 91)))

/** The main WebP alone (what `encodeImageSet` stores as the main object). */
export const encodeWebP = async (
  input: Buffer,
  preset: ImagePreset,
  effort: number,
  format: InputFormat | undefined = sniffFormat(input),
  maxPixels: number | false = false,
  timeoutSeconds = 0,
): Promise<EncodedImage> =>
  (await encodeImageSet(input, preset, { effort, format, maxPixels, timeoutSeconds })).main
