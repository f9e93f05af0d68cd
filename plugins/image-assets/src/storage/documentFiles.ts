import { settingsFingerprint } from '../image/fingerprint.js'
import { FORMATS, type InputFormat } from '../image/formats.js'
import { CENTRE, type Crop, type Focal } from '../image/geometry.js'
import type { ProcessedImage } from '../image/pipeline.js'
import type { EncodedImage } from '../image/transform.js'
import type { ResolvedCollection } from '../options.js'
import type { Delivery } from './delivery.js'
import { contentDisposition } from './headers.js'
import { displayFilename, objectFilename, objectKey } from './keys.js'
import type { StoredObject } from './objects.js'

/** Encoded versions with the object file names they are stored under. */
export const named = (list: readonly EncodedImage[], extension: string) =>
  list.map((v) => ({ ...v, filename: objectFilename(v.data, extension) }))

/** What a document records of each stored version (its URL is added when it is read). */
export const listed = (list: ReturnType<typeof named>) =>
  list.map(({ data, filename, height, width }) => ({
    filename,
    filesize: data.length,
    height,
    width,
  }))

/** Where kept originals live: a prefix of their own, outside every public collection prefix. */
export const ORIGINALS_PREFIX = 'originals'

/** A kept original as it is stored: private, under a content-hashed key of its own. */
export const originalObject = (
  collection: ResolvedCollection,
  source: Buffer,
  format: InputFormat,
  originalName: string,
): StoredObject => {
  const { extension, mimeType } = FORMATS[format]
  return {
    body: source,
    cacheControl: 'private, no-store',
    contentDisposition: contentDisposition(displayFilename(originalName) || 'original', extension),
    contentType: mimeType,
    key: objectKey(`${ORIGINALS_PREFIX}/${collection.slug}`, objectFilename(source, extension)),
  }
}

/**
 * store + record: from a processed image, the objects to write (main WebP, variants, shapes, AVIF
 * versions) and the document fields that describe them. `keptOriginal` is the key of the original
 * in the bucket (written ahead by the upload, or kept as it is by re-optimization); the original
 * itself is never among the objects (see `originalObject`).
 */
export const documentFiles = (args: {
  collection: ResolvedCollection
  delivery: Delivery
  image: ProcessedImage
  keptOriginal?: string
  originalName: string
  /** The crop (percent of the original) and focal point (percent of the main image) to record. */
  framing?: { crop: Crop | null; focal: Focal }
}): { data: Record<string, unknown>; objects: StoredObject[] } => {
  const { collection, delivery, image } = args
  const prefix = collection.slug
  const display = displayFilename(args.originalName)
  const filename = objectFilename(image.data)
  const variants = named(image.variants, '.webp')
  const avif = named(image.avif, '.avif')
  const object = (name: string, body: Buffer, type: 'avif' | 'webp' = 'webp'): StoredObject => ({
    body,
    cacheControl: delivery.cacheControl,
    contentDisposition: contentDisposition(display || 'image', `.${type}`),
    contentType: `image/${type}`,
    key: objectKey(prefix, name),
  })
  const shapes = Object.entries(image.shapes).map(([name, shape]) => ({
    main: named([shape.main], '.webp')[0],
    name,
    variants: named(shape.variants, '.webp'),
  }))
  const objects = [
    object(filename, image.data),
    ...variants.map((v) => object(v.filename, v.data)),
    ...avif.map((v) => object(v.filename, v.data, 'avif')),
    ...shapes.flatMap((s) => [s.main, ...s.variants].map((v) => object(v.filename, v.data))),
  ]
  const originalKey = args.keptOriginal ?? null
  const framing = args.framing ?? { crop: null, focal: CENTRE }
  return {
    data: {
      avif: avif.length > 0 ? listed(avif) : null,
      crop: framing.crop,
      focalX: framing.focal.x,
      focalY: framing.focal.y,
      shapes: Object.fromEntries(
        shapes.map((s) => [s.name, { ...listed([s.main])[0], variants: listed(s.variants) }]),
      ),
      filename,
      filesize: image.data.length,
      fingerprint: settingsFingerprint(collection),
      height: image.height,
      mimeType: image.mimeType,
      objectKeys: [...objects.map((o) => o.key), ...(args.keptOriginal ? [args.keptOriginal] : [])],
      originalFilename: display,
      originalFilesize: image.original.bytes,
      originalHeight: image.original.height,
      originalKey,
      originalWidth: image.original.width,
      placeholder: image.placeholder || null,
      prefix,
      variants: listed(variants),
      width: image.width,
    },
    objects,
  }
}
