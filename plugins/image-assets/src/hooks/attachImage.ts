import type { CollectionBeforeChangeHook } from 'payload'

import { uploadErrors } from '../errors.js'
import type { WorkLimiter } from '../image/limiter.js'
import { assertAllowedName, processImage } from '../image/pipeline.js'
import type { ResolvedCollection } from '../options.js'
import { displayFilename, objectFilename } from '../storage/keys.js'
import { readUpload, takePending } from './pending.js'

/**
 * beforeChange: records the processed WebP on the document (record) and hands its bytes to the
 * storage adapter, which writes them after this hook.
 *
 * It is also an enforcement point of its own: a file that reached Payload some other way than the
 * REST/Local API upload (a duplicate, a URL fetch) goes through the same pipeline here, and a
 * change that sets a filename without a new file must still name an allowed extension.
 */
export const attachImageHook =
  (collection: ResolvedCollection, limiter: WorkLimiter): CollectionBeforeChangeHook =>
  async ({ data, originalDoc, req }) => {
    let pending = takePending(req)
    if (!pending && req.file) {
      const file = req.file
      const data = await readUpload(file)
      const done = await limiter.run(() => processImage({ data, name: file.name }, collection))
      if (!done) throw uploadErrors.busy(collection.slug, collection.label)
      pending = { image: done.value, originalName: file.name }
    }
    if (!pending) {
      if (typeof data.filename === 'string' && data.filename !== originalDoc?.filename) {
        assertAllowedName(data.filename, collection)
      }
      return data
    }
    const { image, originalName } = pending
    const filename = objectFilename(image.data)
    req.file = { data: image.data, mimetype: image.mimeType, name: filename, size: image.data.length }
    return {
      ...data,
      filename,
      filesize: image.data.length,
      height: image.height,
      mimeType: image.mimeType,
      originalFilename: displayFilename(originalName),
      width: image.width,
    }
  }
