import { uploadErrors } from '../errors.js'
import type { ResolvedCollection } from '../options.js'
import { FORMAT_NAMES, formatsFor } from './formats.js'
import { extensionOf, isAllowedExtension } from './guard.js'
import { readHeader, sniffFormat } from './inspect.js'
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
    // Payload's multipart parser cuts names at 255 characters, extension included.
    if (filename.length >= 255) throw uploadErrors.nameTooLong(collection.slug, collection.label, collection.allowedExtensions)
    throw uploadErrors.extensionNotAllowed(collection.slug, ext, collection.label, collection.allowedExtensions)
  }
}

/** guard: refuses an upload over the collection's byte limit (HTTP 413), before it is decoded. */
export const assertAllowedSize = (bytes: number, collection: ResolvedCollection): void => {
  if (bytes > collection.limits.maxBytes) {
    throw uploadErrors.fileTooLarge(collection.slug, bytes, collection.label, collection.limits.maxBytes)
  }
}

/**
 * The whole image path for one upload: guard (name, size), inspect (real format from the bytes,
 * then dimensions and frames from the header against the collection's limits), transform (one
 * decode, one WebP encode). Throws an `ImageUploadError` for anything that cannot become a clean
 * WebP; nothing is written by this module.
 */
export const processImage = async (
  upload: { data: Buffer; name: string },
  collection: ResolvedCollection,
): Promise<ProcessedImage> => {
  assertAllowedName(upload.name, collection)
  assertAllowedSize(upload.data.length, collection)

  const allowedFormats = formatsFor(collection.allowedExtensions)
  const formatNotAllowed = () =>
    uploadErrors.formatNotAllowed(
      collection.slug,
      collection.label,
      allowedFormats.map((f) => FORMAT_NAMES[f]),
      collection.allowedExtensions,
    )
  const format = sniffFormat(upload.data)
  if (!format || !allowedFormats.includes(format)) throw formatNotAllowed()

  const header = await readHeader(upload.data)
  if (!header) throw uploadErrors.imageUndecodable(collection.slug, collection.label)
  // The loader libvips chose must be the one the signature named: no other decoder runs on uploads.
  if (header.format !== format) throw formatNotAllowed()
  const { animation, maxPixels, maxSide, timeoutSeconds } = collection.limits
  if (Math.max(header.width, header.height) > maxSide) {
    throw uploadErrors.imageSideTooLong(collection.slug, header.width, header.height, collection.label, maxSide)
  }
  if (header.width * header.height > maxPixels) {
    throw uploadErrors.imageTooManyPixels(collection.slug, header.width, header.height, collection.label, maxPixels)
  }
  if (header.frames > 1 && animation === 'refuse') {
    throw uploadErrors.imageAnimated(collection.slug, header.frames, collection.label)
  }

  try {
    // The header was checked; the decoder's own pixel limit stays on as a second guard.
    const encoded = await encodeWebP(upload.data, collection.preset, collection.effort, format, maxPixels, timeoutSeconds)
    return { ...encoded, mimeType: 'image/webp' }
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('timeout')) {
      throw uploadErrors.imageTimeout(collection.slug, collection.label, timeoutSeconds)
    }
    throw uploadErrors.imageUndecodable(collection.slug, collection.label)
  }
}
