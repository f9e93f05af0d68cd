import type { CSSProperties, HTMLAttributes, ImgHTMLAttributes } from 'react'

/** One stored version of an image (a WebP variant or an AVIF version), as the plugin returns it. */
export type PictureVersion = {
  filename?: null | string
  filesize?: null | number
  height?: null | number
  /** Undefined in `proxy` delivery, where only the main image has a URL. */
  url?: null | string
  width?: null | number
}

/**
 * An image document of one of the plugin's upload collections, as REST, GraphQL or the Local API
 * return it. Every field is optional so that the types Payload generates for an app
 * (`payload generate:types`, e.g. `ProductImage`) can be passed without a cast; an image without
 * `url` renders nothing.
 */
export type PictureImage = {
  /** The editor's alt text. */
  alt?: null | string
  /** The AVIF versions (`PictureVersion[]`), when the collection stores them. */
  avif?: unknown
  /** `"<url> 320w, …"` of the AVIF versions; null without AVIF or in `proxy` delivery. */
  avifSrcSet?: null | string
  filename?: null | string
  filesize?: null | number
  /** Height of the main WebP in pixels. */
  height?: null | number
  id?: number | string
  mimeType?: null | string
  originalFilename?: null | string
  /** A tiny `data:image/webp;base64,…` URI, shown blurred until the image has loaded. */
  placeholder?: null | string
  /** `"<url> 320w, …, <main url> <width>w"`: the variants and the main WebP; null in `proxy` delivery. */
  srcSet?: null | string
  /**
   * The collection's fixed shapes by name (`{ url, width, height, srcSet, avifSrcSet, … }`), cut
   * around the editor's focal point; see the `shape` option.
   */
  shapes?: unknown
  /** The main WebP. */
  url?: null | string
  /**
   * The smaller WebP versions (`PictureVersion[]`, ascending widths). Typed `unknown` because the
   * field is a JSON field, which Payload's generated types may describe as any JSON value.
   */
  variants?: unknown
  /** Width of the main WebP in pixels. */
  width?: null | number
}

/** What `Picture` and `getImageProps` accept: an image, or a relationship that was not populated. */
export type PictureSource = PictureImage | null | number | string | undefined

export type ImageOptions = {
  /** Alt text; overrides the document's `alt`. Without both, `alt=""` (a decorative image). */
  alt?: string
  /**
   * Whether to paint the document's `placeholder` as the image's background until it loads.
   * Switch it off for images with transparency: the placeholder stays visible through the
   * transparent pixels. @default true
   */
  placeholder?: boolean
  /**
   * The image that is the page's Largest Contentful Paint: loaded eagerly with
   * `fetchpriority="high"` instead of lazily. @default false
   */
  priority?: boolean
  /**
   * Render one of the collection's shapes (`shapes.<name>`: a fixed width x height cut around the
   * focal point, e.g. a square tile) instead of the main image; the main image when the document
   * has no such shape (made before the shape was configured: `reoptimize` adds it).
   */
  shape?: string
  /** The `sizes` attribute: how wide the image is shown. @default '100vw' (when there is a srcSet) */
  sizes?: string
}

/** The shape `name` of `image` as an image of its own (alt text and placeholder from the document). */
const shapeOf = (image: PictureImage, name: string): PictureImage | undefined => {
  const shapes = image.shapes
  if (!shapes || typeof shapes !== 'object') return undefined
  const shape = (shapes as Record<string, unknown>)[name]
  if (!shape || typeof shape !== 'object' || !text((shape as PictureImage).url)) return undefined
  return { ...(shape as PictureImage), alt: image.alt, placeholder: image.placeholder }
}

/** The attributes of the `<img>`, ready to spread on one. */
export type PictureImgProps = {
  alt: string
  decoding: 'async'
  fetchPriority?: 'high'
  height?: number
  loading: 'eager' | 'lazy'
  sizes?: string
  src: string
  srcSet?: string
  style?: CSSProperties
  width?: number
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined

const size = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined

/**
 * `"<url> <width>w, …"` from the variants and the main image, for a document read without its
 * `srcSet` (a `select`, or a GraphQL query that did not ask for it). Undefined when no variant has
 * a URL (`proxy` delivery) or the main image's width is unknown.
 */
const srcSetOf = (image: PictureImage, src: string): string | undefined => {
  const main = size(image.width)
  if (!main || !Array.isArray(image.variants)) return undefined
  const byWidth = new Map<number, string>()
  for (const variant of image.variants as unknown[]) {
    if (!variant || typeof variant !== 'object') continue
    const { url, width } = variant as PictureVersion
    const w = size(width)
    if (text(url) && w && w < main) byWidth.set(w, url as string)
  }
  if (byWidth.size === 0) return undefined
  byWidth.set(main, src)
  return [...byWidth]
    .sort(([a], [b]) => a - b)
    .map(([w, url]) => `${url} ${w}w`)
    .join(', ')
}

/** A string for CSS `url("…")`: the characters that would end it are escaped. */
const cssURL = (value: string): string =>
  `url("${value.replace(/["\\\n\r\f]/g, (c) => `\\${c.charCodeAt(0).toString(16)} `)}")`

/**
 * The placeholder as the img's own background, stretched over the box it reserves (its width and
 * height attributes). An opaque image paints over all of it once loaded, so it goes away without
 * any script; a wrapper with `filter: blur()` would blur the image too. The tiny placeholder
 * scaled up by the browser looks blurred enough. Limitation: through the transparent pixels of an
 * image with an alpha channel the placeholder stays visible (use `placeholder={false}` there).
 */
const placeholderStyle = (placeholder: string): CSSProperties => ({
  backgroundImage: cssURL(placeholder),
  backgroundPosition: 'center',
  backgroundRepeat: 'no-repeat',
  backgroundSize: 'cover',
})

/**
 * The attributes for an `<img>` of an image document, for an app that renders its own `<img>`
 * (`<img {...props} />`), plus `avifSrcSet` for a `<source type="image/avif">` beside it (it is not
 * an img attribute, so it is not in `props`). Null for a relationship that was not populated (an
 * id) or an image without `url`.
 *
 * With `next/image`, pass `unoptimized` so that the browser fetches the plugin's URLs (the bucket or
 * the CDN) instead of sending every image through the app's `/_next/image` optimizer:
 *
 * ```tsx
 * import Image from 'next/image'
 * import { getImageProps } from 'payload-image-assets/react'
 *
 * const result = getImageProps(product.image, { priority: true })
 * if (!result) return null
 * return <Image {...result.props} unoptimized />
 * ```
 *
 * next/image keeps `alt`, `width`, `height`, `loading`, `decoding`, `fetchPriority` and `style` (the
 * placeholder), but it drops `srcSet` and, with `unoptimized`, `sizes`: it renders only `src`, the
 * largest WebP. For the smaller variants and AVIF, render `Picture` (or your own
 * `<img {...props} />`) instead.
 */
export const getImageProps = (
  document: PictureSource,
  { alt, placeholder = true, priority = false, shape, sizes }: ImageOptions = {},
): { avifSrcSet?: string; props: PictureImgProps } | null => {
  if (!document || typeof document !== 'object') return null
  const image = (shape ? shapeOf(document, shape) : undefined) ?? document
  const src = text(image.url)
  if (!src) return null
  const srcSet = text(image.srcSet) ?? srcSetOf(image, src)
  const blur = placeholder ? text(image.placeholder) : undefined
  // The order is the attribute order in the HTML: loading and sizes before srcset and src.
  const props: PictureImgProps = {
    alt: alt ?? image.alt ?? '',
    decoding: 'async',
    fetchPriority: priority ? 'high' : undefined,
    loading: priority ? 'eager' : 'lazy',
    width: size(image.width),
    height: size(image.height),
    sizes: srcSet ? (sizes ?? '100vw') : undefined,
    srcSet,
    src,
    style: blur ? placeholderStyle(blur) : undefined,
  }
  return { avifSrcSet: text(image.avifSrcSet), props }
}

export type PictureProps = ImageOptions &
  Omit<
    ImgHTMLAttributes<HTMLImageElement>,
    'alt' | 'children' | 'height' | 'placeholder' | 'sizes' | 'src' | 'srcSet' | 'width'
  > & {
    /** The image document, or the id of an unpopulated relationship (which renders nothing). */
    image: PictureSource
    /** Attributes for the `<picture>` element; `className`, `style` and the rest go on the `<img>`. */
    pictureProps?: Omit<HTMLAttributes<HTMLElement>, 'children'>
  }

/**
 * An image document as `<picture>`: a `<source type="image/avif">` when the document has AVIF
 * versions, then an `<img>` with the WebP `srcSet`, the document's width and height (so the page
 * does not shift when it loads), its alt text, lazy loading (eager and high priority with
 * `priority`), and the blurred placeholder as background. Any other prop (`className`, `style`,
 * `id`, `data-*`, even `loading`) goes on the `<img>`; `style` is merged over the placeholder's.
 *
 * A server component as much as a client one: no state, no effects, no event handlers.
 */
export const Picture = ({
  alt,
  image,
  pictureProps,
  placeholder,
  priority,
  shape,
  sizes,
  style,
  ...imgProps
}: PictureProps) => {
  const result = getImageProps(image, { alt, placeholder, priority, shape, sizes })
  if (!result) return null
  const { avifSrcSet, props } = result
  const merged = props.style || style ? { ...props.style, ...style } : undefined
  return (
    <picture {...pictureProps}>
      {avifSrcSet ? (
        <source sizes={sizes ?? '100vw'} srcSet={avifSrcSet} type="image/avif" />
      ) : null}
      <img {...props} {...imgProps} style={merged} />
    </picture>
  )
}
