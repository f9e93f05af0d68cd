/**
 * The public API of payload-image-assets: the plugin, its option and document types, the
 * collection slugs, the error classes and codes, and the operations a user calls (upload
 * outside a request, re-optimize, reconcile). Everything else is internal; the repository's own
 * tests and benchmark reach it through `payload-image-assets/internal` (see ./internal.ts).
 */
export { imageAssetsPlugin } from './plugin.js'
export type {
  DeliveryMode,
  ImageAssetsPluginOptions,
  ImageCollectionOptions,
  ImageLimits,
  RemoteURLOptions,
  SignedURLOptions,
  StorageOptions,
} from './options.js'
export {
  AVATARS_SLUG,
  BUILT_IN_COLLECTIONS,
  CATEGORY_IMAGES_SLUG,
  MEDIA_SLUG,
  PRODUCT_IMAGES_SLUG,
} from './presets.js'
export { CLEANUP_SLUG } from './collections/cleanup.js'
export { LEDGER_SLUG } from './collections/ledger.js'
export { ImageAssetsConfigError, ImageUploadError } from './errors.js'
export type { ImageUploadErrorCode } from './errors.js'
export { prepareImage } from './upload/prepare.js'
export { sessionContext } from './upload/session.js'
export type { UploadSession } from './upload/session.js'
export { runtimeOf } from './ops/runtime.js'
export type { Runtime } from './ops/runtime.js'
export { queueReoptimize, reoptimizeAll, reoptimizeDocument } from './ops/reoptimize.js'
export type { Progress, ReoptimizeResult } from './ops/reoptimize.js'
export { missingAvif } from './ops/avif.js'
export { reconcile } from './ops/reconcile.js'
export type { ReconcileReport } from './ops/reconcile.js'
