import type { CollectionAfterChangeHook, CollectionAfterDeleteHook } from 'payload'

import { uploadErrors } from '../errors.js'
import type { ResolvedCollection } from '../options.js'
import { documentKeys } from '../storage/documentKeys.js'
import { type ObjectStore, ObjectWriteError } from '../storage/objects.js'
import { recordOrphans } from '../storage/orphans.js'
import { takeWrites } from './attachImage.js'
import { retryLater } from './retryAfter.js'

/**
 * afterChange: writes the objects `attachImage` prepared. It runs after the database write and
 * inside the request's transaction, so a failed write (reported as a 503 on the `file` field) rolls
 * the row back, and the objects of the set already written are deleted again. When a replacement
 * succeeded, the previous objects are deleted; deletes that keep failing are recorded.
 */
export const storeImageHook =
  (collection: ResolvedCollection, store: ObjectStore): CollectionAfterChangeHook =>
  async ({ doc, operation, previousDoc, req }) => {
    const objects = takeWrites(req)
    if (!objects) return doc
    try {
      await store.putAll(objects)
    } catch (error) {
      req.payload.logger.error({ err: error, msg: `payload-image-assets: storing an image for ${collection.slug} failed` })
      if (error instanceof ObjectWriteError && error.failedDeletes.length > 0) {
        await recordOrphans(req.payload, collection.slug, 'rollback-failed', error.failedDeletes)
      }
      retryLater(req, 10)
      throw uploadErrors.storageFailed(collection.slug, collection.label)
    }
    if (operation === 'update') {
      const current = new Set(documentKeys(doc, collection.slug))
      const stale = documentKeys(previousDoc, collection.slug).filter((key) => !current.has(key))
      const failed = await store.deleteAll(stale)
      if (failed.length > 0) await recordOrphans(req.payload, collection.slug, 'delete-failed', failed)
    }
    return doc
  }

/** afterDelete: deletes the document's objects; deletes that keep failing are recorded. */
export const removeImageHook =
  (collection: ResolvedCollection, store: ObjectStore): CollectionAfterDeleteHook =>
  async ({ doc, req }) => {
    const failed = await store.deleteAll(documentKeys(doc, collection.slug))
    if (failed.length > 0) await recordOrphans(req.payload, collection.slug, 'delete-failed', failed)
    return doc
  }
