/**
 * payload-image-assets/internal: NOT PUBLIC API.
 *
 * This subpath exists only for this repository's own tests, benchmark and reference app. Nothing
 * here is covered by semver: names, signatures and behaviour may change or disappear in any
 * release, including a patch release. Applications import from `payload-image-assets` (the root
 * export) and `payload-image-assets/admin` only.
 */
export { DEFAULT_LIMITS, resolveOptions, resolveStorage } from './options.js'
export {
  DEFAULT_ALLOWED_EXTENSIONS,
  DEFAULT_WEBP_EFFORT,
  DEFAULT_WEBP_VARIANT_EFFORT,
} from './presets.js'
export type { BuiltInSlug, ImagePreset } from './presets.js'
export { messages } from './errors.js'
export { extensionOf } from './image/guard.js'
export { readHeader, sniffFormat } from './image/inspect.js'
export { encodeImageSet, encodeWebP, variantWidthsFor } from './image/transform.js'
export type { EncodedImage, EncodedSet, TransformOptions } from './image/transform.js'
export { processImage } from './image/pipeline.js'
export type { ProcessedImage } from './image/pipeline.js'
export { WorkLimiter } from './image/limiter.js'
export { blockDecoders } from './image/decoders.js'
export { settingsFingerprint } from './image/fingerprint.js'
export {
  composeCrop,
  cropPixels,
  cropWithin,
  focalRegion,
  focalWithin,
  parseCrop,
  parseFocal,
} from './image/geometry.js'
export { mediaURL } from './storage/url.js'
export { displayFilename, objectFilename } from './storage/keys.js'
export { ObjectStore, ObjectWriteError } from './storage/objects.js'
export { CleanupRunner, cleanupRunnerOf, cleanupTiming } from './storage/cleanupRunner.js'
export { recordUpload, settleUpload } from './storage/cleanup.js'
export { fetchRemoteImage, RemoteFetchError } from './remote/fetch.js'
export { isAllowedHost, isPublicAddress } from './remote/addresses.js'
export { uploadEndpoints } from './upload/endpoints.js'
export { sweepTempFiles, TEMP_FILE_MAX_AGE_MS } from './upload/tempFiles.js'
export { databaseDownHook } from './upload/databaseDown.js'
export { REOPTIMIZE_QUEUE, REOPTIMIZE_TASK, staleWhere } from './ops/reoptimize.js'
export { AVIF_TASK, holdTiming, IMAGE_QUEUE, runAvifJob } from './ops/avif.js'
export { withImageUploadFields } from './admin/uploadFields.js'
