/** What one upload collection does to every image: fit inside a box, never enlarge, encode WebP. */
export type ImagePreset = {
  /** Width of the box the image is fitted inside, in pixels. */
  width: number
  /** Height of the box the image is fitted inside, in pixels. */
  height: number
  /** WebP quality, 1 to 100. */
  quality: number
}

export const AVATARS_SLUG = 'avatars'
export const CATEGORY_IMAGES_SLUG = 'category-images'
export const PRODUCT_IMAGES_SLUG = 'product-images'
export const MEDIA_SLUG = 'media'

export type BuiltInSlug =
  typeof AVATARS_SLUG | typeof CATEGORY_IMAGES_SLUG | typeof MEDIA_SLUG | typeof PRODUCT_IMAGES_SLUG

type BuiltIn = {
  labels: { plural: string; singular: string }
  preset: ImagePreset
  variantWidths: readonly number[]
}

/** The four built-in collections and their presets: the box each image is fitted inside and its WebP quality. */
export const BUILT_IN_COLLECTIONS: Readonly<Record<BuiltInSlug, BuiltIn>> = {
  [AVATARS_SLUG]: {
    labels: { plural: 'Avatars', singular: 'Avatar' },
    preset: { height: 200, quality: 85, width: 240 },
    variantWidths: [64, 128, 240],
  },
  [CATEGORY_IMAGES_SLUG]: {
    labels: { plural: 'Category Images', singular: 'Category Image' },
    preset: { height: 800, quality: 90, width: 800 },
    variantWidths: [320, 800],
  },
  [PRODUCT_IMAGES_SLUG]: {
    labels: { plural: 'Product Images', singular: 'Product Image' },
    preset: { height: 840, quality: 75, width: 1024 },
    variantWidths: [320, 640, 1024],
  },
  [MEDIA_SLUG]: {
    labels: { plural: 'Media', singular: 'Media' },
    preset: { height: 1080, quality: 75, width: 1920 },
    variantWidths: [640, 1280, 1920],
  },
}

export const isBuiltInSlug = (slug: string): slug is BuiltInSlug =>
  Object.prototype.hasOwnProperty.call(BUILT_IN_COLLECTIONS, slug)

/** WebP encoder effort: 6 is the slowest setting and gives the smallest files. */
export const DEFAULT_WEBP_EFFORT = 6

/**
 * WebP encoder effort of the variants and shapes: they are encoded beside the main image, and at 5
 * take about half the CPU of 6 for about 2.5% more bytes (measured in the request-path benchmark).
 */
export const DEFAULT_WEBP_VARIANT_EFFORT = 5

/** Extensions accepted on upload, compared case-insensitively. */
export const DEFAULT_ALLOWED_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp']

/** Variant widths of a custom collection that sets none. */
export const DEFAULT_VARIANT_WIDTHS: readonly number[] = [320, 640, 1280]

/** Width of the blurred placeholder stored on each document, in pixels. */
export const PLACEHOLDER_WIDTH = 16
