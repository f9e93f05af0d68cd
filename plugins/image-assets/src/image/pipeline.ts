import { uploadErrors } from '../errors.js'
import type { ResolvedCollection } from '../options.js'
import { FORMAT_NAMES, formatsFor } from './formats.js'
import { extensionOf, isAllowedExtension } from './guard.js'
import { sniffFormat } from './inspect.js'
import { encodeWebP } from './transform.js'

export type ProcessedImage = {
  data: Buffer
  height: number
  mimeType: 'image/webp'
  width: number
}

/** guard: refuses a name whose extension is not allowed. Cheap; runs before any byte is read. */
export const assertAllowedName = (filename: string, collection: ResolvedCollection): void => {
  const ext = extensionOf(filename)
  if (!isAllowedExtension(ext, collection.allowedExtensions)) {
    throw uploadErrors.extensionNotAllowed(collection.slug, ext, collection.label, collection.allowedExtensions)
  }
}

/**
 * The whole image path for one upload: guard (name), inspect (real format from the bytes),
 * transform (one decode, one WebP encode). Throws an `ImageUploadError` for anything that cannot
 * become a clean WebP; nothing is written by this module.
 */
export const processImage = async (
  upload: { data: Buffer; name: string },
  collection: ResolvedCollection,
): Promise<ProcessedImage> => {
  assertAllowedName(upload.name, collection)

  const allowedFormats = formatsFor(collection.allowedExtensions)
  const format = sniffFormat(upload.data)
  if (!format || !allowedFormats.includes(format)) {
    throw uploadErrors.formatNotAllowed(
      collection.slug,
      collection.label,
      allowedFormats.map((f) => FORMAT_NAMES[f]),
      collection.allowedExtensions,
    )
  }

  try {
    const encoded = await encodeWebP(upload.data, collection.preset, collection.effort, format)
    return { ...encoded, mimeType: 'image/webp' }
  } catch {
    throw uploadErrors.imageUndecodable(collection.slug, collection.label)
  }
}
