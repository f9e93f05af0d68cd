import type { CollectionBeforeChangeHook, PayloadRequest } from 'payload'

import type { WorkLimiter } from '../image/limiter.js'
import { assertAllowedName } from '../image/pipeline.js'
import type { ResolvedCollection } from '../options.js'
import type { Delivery } from '../storage/delivery.js'
import { documentFiles } from '../storage/documentFiles.js'
import type { StoredObject } from '../storage/objects.js'
import { readUpload, takePending } from './pending.js'
import { processWithinLimit } from './processUpload.js'

const writes = new WeakMap<PayloadRequest, StoredObject[]>()

/** The objects `attachImage` prepared for this request, once (for `storeImage` to write). */
export const takeWrites = (req: PayloadRequest): StoredObject[] | undefined => {
  const value = writes.get(req)
  writes.delete(req)
  return value
}

/**
 * beforeChange: records the processed image on the document (record) and prepares its objects
 * (main WebP, variants, AVIF versions, the original when kept, with their keys and headers) for
 * `storeImage`, which writes them after the database write.
 *
 * It is also an enforcement point of its own: a file that reached Payload some other way than the
 * REST/Local API upload goes through the same pipeline here, and a change that sets a filename
 * without a new file must still name an allowed extension.
 */
export const attachImageHook =
  (collection: ResolvedCollection, limiter: WorkLimiter, delivery: Delivery): CollectionBeforeChangeHook =>
  async ({ data, originalDoc, req }) => {
    let pending = takePending(req)
    if (!pending && req.file) {
      const file = req.file
      pending = await processWithinLimit(req, { data: await readUpload(file), name: file.name }, collection, limiter)
    }
    req.file = undefined
    if (!pending) {
      if (typeof data.filename === 'string' && data.filename !== originalDoc?.filename) {
        assertAllowedName(data.filename, collection)
      }
      return data
    }
    const files = documentFiles({ collection, delivery, image: pending.image, originalName: pending.originalName, source: pending.source })
    writes.set(req, files.objects)
    return { ...data, ...files.data }
  }
