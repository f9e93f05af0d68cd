export { imageAssetsPlugin } from './plugin.js'
export type { ImageAssetsPluginOptions, ImageCollectionOptions, ImageLimits, StorageOptions } from './options.js'
export { DEFAULT_LIMITS, resolveOptions, resolveStorage } from './options.js'
export {
  AVATARS_SLUG,
  BUILT_IN_COLLECTIONS,
  CATEGORY_IMAGES_SLUG,
  DEFAULT_ALLOWED_EXTENSIONS,
  DEFAULT_WEBP_EFFORT,
  MEDIA_SLUG,
  PRODUCT_IMAGES_SLUG,
} from './presets.js'
export type { BuiltInSlug, ImagePreset } from './presets.js'
export { ImageAssetsConfigError, ImageUploadError, messages } from './errors.js'
export type { ImageUploadErrorCode } from './errors.js'
export { extensionOf } from './image/guard.js'
export { readHeader, sniffFormat } from './image/inspect.js'
export { encodeWebP } from './image/transform.js'
export { processImage } from './image/pipeline.js'
export { WorkLimiter } from './image/limiter.js'
export type { ProcessedImage } from './image/pipeline.js'
export { mediaURL } from './storage/url.js'
export { displayFilename, objectFilename } from './storage/keys.js'
export { fetchRemoteImage, RemoteFetchError } from './remote/fetch.js'
export { isAllowedHost, isPublicAddress } from './remote/addresses.js'
export { blockDecoders } from './image/decoders.js'
export { encodeImageSet, variantWidthsFor } from './image/transform.js'
export type { EncodedImage, EncodedSet, TransformOptions } from './image/transform.js'
export { ObjectStore, ObjectWriteError } from './storage/objects.js'
export { CLEANUP_SLUG, CleanupRunner, cleanupRunnerOf } from './storage/cleanup.js'
export { uploadEndpoints } from './upload/endpoints.js'
export type { UploadSession } from './upload/session.js'
export { sessionContext } from './upload/session.js'
export { prepareImage } from './upload/prepare.js'
export type { DeliveryMode, RemoteURLOptions, SignedURLOptions } from './options.js'
export { reoptimizeAll, reoptimizeDocument, queueReoptimize, REOPTIMIZE_QUEUE, REOPTIMIZE_TASK, staleWhere } from './ops/reoptimize.js'
export type { Progress, ReoptimizeResult } from './ops/reoptimize.js'
export { reconcile } from './ops/reconcile.js'
export type { ReconcileReport } from './ops/reconcile.js'
export { runtimeOf } from './ops/runtime.js'
export type { Runtime } from './ops/runtime.js'
export { LEDGER_SLUG } from './ops/ledger.js'
export { settingsFingerprint } from './image/fingerprint.js'
