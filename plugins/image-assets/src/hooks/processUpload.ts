import type { CollectionBeforeOperationHook } from 'payload'

import { uploadErrors } from '../errors.js'
import type { WorkLimiter } from '../image/limiter.js'
import { assertAllowedName, assertAllowedSize, processImage } from '../image/pipeline.js'
import type { ResolvedCollection } from '../options.js'
import { discardUpload, readUpload, setPending } from './pending.js'

/**
 * beforeOperation (create, update): runs the image pipeline before Payload sees the file.
 *
 * The name is checked first, so a refused file is never read or decoded. The processed WebP is
 * held for `attachImage` (beforeChange) and `req.file` is detached meanwhile, so that Payload's own
 * upload step does not decode and re-encode it (it re-processes every WebP when `sharp` is set).
 */
export const processUploadHook =
  (collection: ResolvedCollection, limiter: WorkLimiter): CollectionBeforeOperationHook =>
  async ({ args, operation, req }) => {
    if (operation !== 'create' && operation !== 'update') return args
    const file = req.file
    if (!file) {
      const isDuplicate = operation === 'create' && Boolean((args as { duplicateFromID?: unknown }).duplicateFromID)
      if (operation === 'create' && !isDuplicate && !(args as { draft?: boolean }).draft) {
        throw uploadErrors.fileMissing(collection.slug, collection.label, collection.allowedExtensions)
      }
      return args
    }
    try {
      assertAllowedName(file.name, collection)
      assertAllowedSize(file.size, collection)
    } catch (error) {
      await discardUpload(file)
      throw error
    }
    const data = await readUpload(file)
    const done = await limiter.run(() => processImage({ data, name: file.name }, collection))
    if (!done) throw uploadErrors.busy(collection.slug, collection.label)
    const image = done.value
    setPending(req, { image, originalName: file.name })
    req.file = undefined
    // A multipart request with a file and no `_payload` field has no data; give the hooks an object.
    return { ...args, data: (args as { data?: object }).data ?? {} }
  }
