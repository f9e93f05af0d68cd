import { uploadError } from '../errors.js'
import type { ResolvedCollection } from '../options.js'
import { FORMAT_NAMES, FORMATS, formatsFor, type InputFormat } from './formats.js'
import { extensionOf, isAllowedExtension } from './guard.js'
import { readHeader, sniffFormat } from './inspect.js'
import {
  DeadlineExceeded,
  DecodeFailed,
  encodeImageSet,
  type EncodedImage,
  type EncodedShape,
  type Framing,
} from './transform.js'
import { PLACEHOLDER_WIDTH } from '../presets.js'

/** What an upload became: the main WebP, its variants, a placeholder, and what the original was. */
export type ProcessedImage = {
  avif: EncodedImage[]
  data: Buffer
  height: number
  mimeType: 'image/webp'
  original: { bytes: number; format: InputFormat; height: number; width: number }
  placeholder: string
  shapes: Record<string, EncodedShape>
  variants: EncodedImage[]
  width: number
}

/** Encoding failed for a reason other than the file (out of memory, a bug): logged with its cause, answered 500. */
export class ImageProcessingFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(`processing the image failed: ${cause instanceof Error ? cause.message : String(cause)}`)
    this.name = 'ImageProcessingFailed'
  }
}

/** guard: refuses a name whose extension is not allowed. Cheap; runs before any byte is read. */
export const assertAllowedName = (filename: string, collection: ResolvedCollection): void => {
  const ext = extensionOf(filename)
  if (!isAllowedExtension(ext, collection.allowedExtensions)) {
    // Payload's multipart parser cuts names at 255 characters, extension included.
    if (filename.length >= 255)
      throw uploadError('NAME_TOO_LONG', collection.slug, {
        allowed: collection.allowedExtensions,
        label: collection.label,
      })
    throw uploadError('EXTENSION_NOT_ALLOWED', collection.slug, {
      allowed: collection.allowedExtensions,
      ext,
      label: collection.label,
    })
  }
}

/** guard: refuses an upload over the collection's byte limit (HTTP 413), before it is decoded. */
export const assertAllowedSize = (bytes: number, collection: ResolvedCollection): void => {
  if (bytes > collection.limits.maxBytes) {
    throw uploadError('FILE_TOO_LARGE', collection.slug, {
      bytes,
      label: collection.label,
      maxBytes: collection.limits.maxBytes,
    })
  }
}

/** What the inspection found: the real format and the header's dimensions, all within the collection's limits. */
export type InspectedImage = { format: InputFormat; height: number; width: number }

/**
 * guard and inspect, the cheap steps before any pixel is decoded: the name's extension, the byte
 * size, the real format from the bytes (and the loader libvips picks for them), then dimensions and
 * frames from the header against the collection's limits. Throws an `ImageUploadError` (4xx).
 */
export const inspectImage = async (
  upload: { data: Buffer; name: string },
  collection: ResolvedCollection,
): Promise<InspectedImage> => {
  assertAllowedName(upload.name, collection)
  assertAllowedSize(upload.data.length, collection)

  const allowedFormats = formatsFor(collection.allowedExtensions)
  const formatNotAllowed = () =>
    uploadError('FORMAT_NOT_ALLOWED', collection.slug, {
      allowed: collection.allowedExtensions,
      formats: allowedFormats.map((f) => FORMAT_NAMES[f]),
      label: collection.label,
    })
  const format = sniffFormat(upload.data)
  if (!format || !allowedFormats.includes(format)) throw formatNotAllowed()

  const header = await readHeader(upload.data)
  if (!header) throw uploadError('IMAGE_UNDECODABLE', collection.slug, { label: collection.label })
  // The loader libvips chose must be the one the signature named: no other decoder runs on uploads.
  if (header.format !== FORMATS[format].loader) throw formatNotAllowed()
  const { animation, maxPixels, maxSide } = collection.limits
  if (Math.max(header.width, header.height) > maxSide) {
    throw uploadError('IMAGE_TOO_LARGE', collection.slug, {
      height: header.height,
      label: collection.label,
      maxSide,
      width: header.width,
    })
  }
  if (header.width * header.height > maxPixels) {
    throw uploadError('IMAGE_TOO_LARGE', collection.slug, {
      height: header.height,
      label: collection.label,
      maxPixels,
      width: header.width,
    })
  }
  if (header.frames > 1 && animation === 'refuse') {
    throw uploadError('IMAGE_ANIMATED', collection.slug, {
      frames: header.frames,
      label: collection.label,
    })
  }
  return { format, height: header.height, width: header.width }
}

/**
 * transform, for an upload `inspectImage` passed: one decode; the main WebP, its variants, the
 * shapes and a placeholder encoded from it. Only a failed decode is the file's fault (422); a
 * deadline that ran out is `IMAGE_TIMEOUT` (503); anything else is `ImageProcessingFailed`.
 */
export const transformImage = async (
  upload: { data: Buffer },
  collection: ResolvedCollection,
  inspected: InspectedImage,
  /** One deadline for the whole image (epoch ms); by default `timeoutSeconds` from now. */
  deadline = Date.now() + collection.limits.timeoutSeconds * 1000,
  /** The editor's crop and focal point. */
  framing: Framing = {},
  /** See `TransformOptions.onOthersDone`. */
  onOthersDone?: () => void,
): Promise<ProcessedImage> => {
  const { format } = inspected
  try {
    // The header was checked; the decoder's own pixel limit stays on as a second guard.
    const { avif, main, placeholder, shapes, variants } = await encodeImageSet(
      upload.data,
      collection.preset,
      {
        // AVIF versions are background work (ops/avif.ts), never a request's.
        effort: collection.effort,
        variantEffort: collection.variantEffort,
        format,
        maxPixels: collection.limits.maxPixels,
        placeholderWidth: collection.placeholder ? PLACEHOLDER_WIDTH : 0,
        deadline,
        framing,
        onOthersDone,
        shapes: collection.shapes,
        variantWidths: collection.variantWidths,
      },
    )
    return {
      ...main,
      avif,
      mimeType: 'image/webp',
      original: {
        bytes: upload.data.length,
        format,
        height: inspected.height,
        width: inspected.width,
      },
      placeholder,
      shapes,
      variants,
    }
  } catch (error) {
    // Only a failed decode is the file's fault; anything else (out of memory, a bug) is the server's.
    if (error instanceof DeadlineExceeded)
      throw uploadError('IMAGE_TIMEOUT', collection.slug, {
        label: collection.label,
        seconds: collection.limits.timeoutSeconds,
      })
    if (error instanceof DecodeFailed)
      throw uploadError('IMAGE_UNDECODABLE', collection.slug, { label: collection.label })
    throw new ImageProcessingFailed(error)
  }
}

/**
 * The whole image path for one upload: `inspectImage` (guard and inspect), then `transformImage`.
 * Throws an `ImageUploadError` for anything that cannot become a clean WebP; nothing is written by
 * this module.
 */
export const processImage = async (
  upload: { data: Buffer; name: string },
  collection: ResolvedCollection,
  deadline = Date.now() + collection.limits.timeoutSeconds * 1000,
  framing: Framing = {},
): Promise<ProcessedImage> =>
  transformImage(upload, collection, await inspectImage(upload, collection), deadline, framing)
