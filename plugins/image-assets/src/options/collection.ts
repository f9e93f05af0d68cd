import { ImageAssetsConfigError, messages } from '../errors.js'
import {
  BUILT_IN_COLLECTIONS,
  DEFAULT_VARIANT_WIDTHS,
  type ImagePreset,
  isBuiltInSlug,
} from '../presets.js'
import { boolean, deliveryMode, extensions, fail, integer, type KeysOf, object } from './check.js'
import type {
  DeliveryMode,
  ImageCollectionOptions,
  ImageLimits,
  ImageShape,
  ResolvedCollection,
  ResolvedShape,
} from './types.js'

/** What a collection inherits from the plugin-wide options. */
export type CollectionDefaults = {
  allowedExtensions: string[]
  delivery: DeliveryMode
  directUploads: boolean
  effort: number
  limits: Required<ImageLimits>
  variantEffort: number
}

const COLLECTION_KEYS: KeysOf<ImageCollectionOptions> = {
  access: true,
  allowedExtensions: true,
  avif: true,
  delivery: true,
  directUploads: true,
  fields: true,
  height: true,
  keepOriginal: true,
  labels: true,
  limits: true,
  placeholder: true,
  quality: true,
  requireAlt: true,
  shapes: true,
  variants: true,
  width: true,
}

const SHAPE_KEYS: KeysOf<ImageShape> = { height: true, quality: true, variants: true, width: true }

/** A shape's name: a JSON key and a GraphQL field name. */
const SHAPE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/

const resolveShapes = (path: string, value: unknown, quality: number): ResolvedShape[] => {
  if (value === undefined) return []
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail(path, 'an object of shapes ({ square: { width: 600, height: 600 } })', value)
  return Object.entries(value as Record<string, ImageShape>).map(([name, options]) => {
    const at = `${path}.${name}`
    if (!SHAPE_NAME.test(name))
      fail(at, 'a shape name of letters, digits and "_", starting with a letter', name)
    const shape = object<ImageShape>(at, options, SHAPE_KEYS)
    const width = integer(`${at}.width`, shape.width, 1, 16383)
    return {
      height: integer(`${at}.height`, shape.height, 1, 16383),
      name,
      quality: integer(`${at}.quality`, shape.quality ?? quality, 1, 100),
      variantWidths: variantWidths(`${at}.variants`, shape.variants, []).filter((w) => w < width),
      width,
    }
  })
}

const LIMIT_KEYS: KeysOf<ImageLimits> = {
  animation: true,
  maxBytes: true,
  maxPixels: true,
  maxSide: true,
  timeoutSeconds: true,
}

const variantWidths = (path: string, value: unknown, base: readonly number[]): number[] => {
  if (value === undefined) return [...base]
  if (value === false) return []
  if (!Array.isArray(value)) return fail(path, 'an array of widths in pixels, or false', value)
  return [...new Set(value.map((w: unknown, i) => integer(`${path}[${i}]`, w, 16, 16383)))].sort(
    (a, b) => a - b,
  )
}

/** A slug Payload accepts as a collection slug and a URL path segment. */
const SLUG = /^[a-z0-9][a-z0-9-_]*$/

export const DEFAULT_LIMITS: Readonly<Required<ImageLimits>> = {
  animation: 'refuse',
  maxBytes: 25 * 1024 * 1024,
  maxPixels: 64_000_000,
  maxSide: 12_000,
  timeoutSeconds: 30,
}

export const resolveLimits = (
  path: string,
  options: ImageLimits | undefined,
  base: Required<ImageLimits>,
): Required<ImageLimits> => {
  if (options === undefined) return base
  const input = object<ImageLimits>(path, options, LIMIT_KEYS)
  const animation = input.animation ?? base.animation
  if (animation !== 'refuse' && animation !== 'first-frame')
    fail(`${path}.animation`, '"refuse" or "first-frame"', animation)
  return {
    animation,
    maxBytes: integer(`${path}.maxBytes`, input.maxBytes ?? base.maxBytes, 1, 2 ** 31 - 1),
    maxPixels: integer(`${path}.maxPixels`, input.maxPixels ?? base.maxPixels, 1, 1_000_000_000),
    maxSide: integer(`${path}.maxSide`, input.maxSide ?? base.maxSide, 1, 100_000),
    timeoutSeconds: integer(
      `${path}.timeoutSeconds`,
      input.timeoutSeconds ?? base.timeoutSeconds,
      1,
      3600,
    ),
  }
}

/**
 * Width, height and quality: a built-in collection's preset fills in what is not given; a new
 * collection must give all three, and every one missing is named at once.
 */
const resolvePreset = (
  path: string,
  input: ImageCollectionOptions,
  base: ImagePreset | undefined,
): ImagePreset => {
  const given = {
    height: input.height ?? base?.height,
    quality: input.quality ?? base?.quality,
    width: input.width ?? base?.width,
  }
  const missing = (['width', 'height', 'quality'] as const).filter((k) => given[k] === undefined)
  if (missing.length > 1) {
    throw new ImageAssetsConfigError(
      messages.missingOptions({
        expected:
          'a collection that is not built in needs a width and a height in pixels (integers between 1 and 16383) and a WebP quality (an integer between 1 and 100)',
        paths: missing.map((k) => `${path}.${k}`),
      }),
    )
  }
  return {
    height: integer(`${path}.height`, given.height, 1, 16383),
    quality: integer(`${path}.quality`, given.quality, 1, 100),
    width: integer(`${path}.width`, given.width, 1, 16383),
  }
}

export const resolveCollection = (
  slug: string,
  options: ImageCollectionOptions,
  defaults: CollectionDefaults,
): ResolvedCollection => {
  const path = `collections.${slug}`
  if (!SLUG.test(slug)) fail(`${path}`, 'a slug of lower-case letters, digits, "-" and "_"', slug)
  const input = object<ImageCollectionOptions>(path, options, COLLECTION_KEYS, 'an object or false')
  const builtIn = isBuiltInSlug(slug) ? BUILT_IN_COLLECTIONS[slug] : undefined
  const labels = input.labels ?? builtIn?.labels ?? { plural: slug, singular: slug }
  const preset = resolvePreset(path, input, builtIn?.preset)
  return {
    slug,
    access: input.access,
    allowedExtensions:
      input.allowedExtensions === undefined
        ? defaults.allowedExtensions
        : extensions(`${path}.allowedExtensions`, input.allowedExtensions),
    avif: boolean(`${path}.avif`, input.avif, false),
    delivery: deliveryMode(`${path}.delivery`, input.delivery ?? defaults.delivery),
    directUploads: boolean(`${path}.directUploads`, input.directUploads, defaults.directUploads),
    effort: defaults.effort,
    variantEffort: defaults.variantEffort,
    fields: input.fields ?? [],
    keepOriginal: boolean(`${path}.keepOriginal`, input.keepOriginal, false),
    label: labels.plural,
    labels,
    limits: resolveLimits(`${path}.limits`, input.limits, defaults.limits),
    placeholder: boolean(`${path}.placeholder`, input.placeholder, true),
    preset,
    requireAlt: boolean(`${path}.requireAlt`, input.requireAlt, false),
    shapes: resolveShapes(`${path}.shapes`, input.shapes, preset.quality),
    variantWidths: variantWidths(
      `${path}.variants`,
      input.variants,
      builtIn?.variantWidths ?? DEFAULT_VARIANT_WIDTHS,
    ),
  }
}
