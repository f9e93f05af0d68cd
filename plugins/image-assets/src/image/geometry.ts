/**
 * Crop and focal-point arithmetic, in percent (as Payload's admin sends them), independent of any
 * image's pixel size.
 *
 * - A document's `crop` is a rectangle in percent of the original as it is shown (after EXIF
 *   orientation): the main image, its variants and its shapes are all made from that rectangle.
 * - Its focal point (`focalX`, `focalY`) is in percent of the main image (the cropped picture), so
 *   a frontend can use it as it is (`object-position: <focalX>% <focalY>%`).
 */

export type Crop = { height: number; width: number; x: number; y: number }
export type Focal = { x: number; y: number }

export const CENTRE: Readonly<Focal> = { x: 50, y: 50 }

/** Below this many percent two values are the same (the admin's sliders send long fractions). */
const EPSILON = 0.01

/** The smallest crop side, in percent: `parseCrop` refuses less, so nothing smaller is ever recorded. */
const MIN_SIDE = 0.5

const round = (value: number): number => Math.round(value * 1000) / 1000

const isPercent = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 100

/** Thrown for a crop or focal point that is not percentages of the image; the caller names the field. */
export class GeometryInvalid extends Error {
  constructor(readonly field: 'crop' | 'focal') {
    super(`invalid ${field}`)
    this.name = 'GeometryInvalid'
  }
}

const toNumber = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() !== '' ? Number(value) : value

/**
 * A crop as given (numbers or numeric strings, as a query string carries them), checked; null for
 * no crop or one that keeps the whole image. Throws `GeometryInvalid` when it is not a rectangle
 * inside the image.
 */
export const parseCrop = (value: unknown): Crop | null => {
  if (value === null || value === undefined || value === '') return null
  if (typeof value !== 'object') throw new GeometryInvalid('crop')
  const raw = value as Record<string, unknown>
  if (raw.unit !== undefined && raw.unit !== '%') throw new GeometryInvalid('crop')
  const [x, y, width, height] = (['x', 'y', 'width', 'height'] as const).map((k) =>
    toNumber(raw[k]),
  )
  if (![x, y, width, height].every(isPercent)) throw new GeometryInvalid('crop')
  const crop = {
    height: round(height as number),
    width: round(width as number),
    x: round(x as number),
    y: round(y as number),
  }
  if (crop.width < MIN_SIDE || crop.height < MIN_SIDE) throw new GeometryInvalid('crop')
  if (crop.x + crop.width > 100 + EPSILON || crop.y + crop.height > 100 + EPSILON)
    throw new GeometryInvalid('crop')
  return isWhole(crop) ? null : crop
}

/** A focal point given as two coordinates (numbers or numeric strings); undefined when neither is. */
export const parseFocal = (x: unknown, y: unknown): Focal | undefined => {
  if ((x === undefined || x === null) && (y === undefined || y === null)) return undefined
  const [fx, fy] = [toNumber(x), toNumber(y)]
  if (!isPercent(fx) || !isPercent(fy)) throw new GeometryInvalid('focal')
  return { x: round(fx), y: round(fy) }
}

const isWhole = (crop: Crop): boolean =>
  crop.x <= EPSILON &&
  crop.y <= EPSILON &&
  crop.width >= 100 - EPSILON &&
  crop.height >= 100 - EPSILON

export const sameCrop = (a: Crop | null, b: Crop | null): boolean =>
  a === null || b === null
    ? a === b
    : (['x', 'y', 'width', 'height'] as const).every((k) => Math.abs(a[k] - b[k]) < EPSILON)

export const sameFocal = (a: Focal, b: Focal): boolean =>
  Math.abs(a.x - b.x) < EPSILON && Math.abs(a.y - b.y) < EPSILON

/**
 * `inner`, given in percent of the picture `outer` cut out, in percent of the whole (never thinner
 * than the smallest crop a write may give, so a recorded crop always reads back).
 */
export const composeCrop = (outer: Crop | null, inner: Crop | null): Crop | null => {
  if (!outer) return inner
  if (!inner) return outer
  const side = (size: number, at: number) => {
    const length = Math.max(MIN_SIDE, round(size))
    return { at: round(Math.min(at, 100 - length)), length }
  }
  const across = side((inner.width * outer.width) / 100, outer.x + (inner.x * outer.width) / 100)
  const down = side((inner.height * outer.height) / 100, outer.y + (inner.y * outer.height) / 100)
  return { height: down.length, width: across.length, x: across.at, y: down.at }
}

/**
 * `target` (percent of the whole) in percent of the picture `outer` cut out: the crop to apply to
 * an image that is already cropped to `outer`. Undefined when `target` reaches outside `outer`.
 */
export const cropWithin = (outer: Crop | null, target: Crop | null): Crop | null | undefined => {
  if (!outer) return target
  const whole = target ?? { height: 100, width: 100, x: 0, y: 0 }
  const inner = {
    height: round((whole.height / outer.height) * 100),
    width: round((whole.width / outer.width) * 100),
    x: round(((whole.x - outer.x) / outer.width) * 100),
    y: round(((whole.y - outer.y) / outer.height) * 100),
  }
  if (inner.x < -EPSILON || inner.y < -EPSILON) return undefined
  if (inner.x + inner.width > 100 + EPSILON || inner.y + inner.height > 100 + EPSILON)
    return undefined
  return isWhole(inner) ? null : inner
}

/** A point given in percent of the whole picture, in percent of the part `crop` keeps (clamped to it). */
export const focalWithin = (crop: Crop | null, focal: Focal): Focal => {
  if (!crop) return focal
  const clamp = (v: number) => Math.min(100, Math.max(0, round(v)))
  return {
    x: clamp(((focal.x - crop.x) / crop.width) * 100),
    y: clamp(((focal.y - crop.y) / crop.height) * 100),
  }
}

export type Region = { height: number; left: number; top: number; width: number }

/** A crop's rectangle in the pixels of a `width` x `height` picture (at least one pixel, inside it). */
export const cropPixels = (crop: Crop, width: number, height: number): Region => {
  const left = Math.min(width - 1, Math.max(0, Math.round((crop.x / 100) * width)))
  const top = Math.min(height - 1, Math.max(0, Math.round((crop.y / 100) * height)))
  return {
    height: Math.max(1, Math.min(height - top, Math.round((crop.height / 100) * height))),
    left,
    top,
    width: Math.max(1, Math.min(width - left, Math.round((crop.width / 100) * width))),
  }
}

/**
 * The largest rectangle of the `shapeWidth` : `shapeHeight` aspect inside a `width` x `height`
 * picture, placed so that the focal point is as near its centre as the picture's edges allow (a
 * cover fit steered by the focal point).
 */
export const focalRegion = (
  width: number,
  height: number,
  shapeWidth: number,
  shapeHeight: number,
  focal: Focal,
): Region => {
  const aspect = shapeWidth / shapeHeight
  const regionWidth = Math.max(1, Math.min(width, Math.round(height * aspect)))
  const regionHeight = Math.max(1, Math.min(height, Math.round(regionWidth / aspect)))
  const place = (size: number, region: number, at: number) =>
    Math.min(size - region, Math.max(0, Math.round((at / 100) * size - region / 2)))
  return {
    height: regionHeight,
    left: place(width, regionWidth, focal.x),
    top: place(height, regionHeight, focal.y),
    width: regionWidth,
  }
}
