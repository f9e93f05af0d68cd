import { APIError, type CollectionAfterChangeHook } from 'payload'

import { uploadErrors } from '../errors.js'
import type { ResolvedCollection } from '../options.js'

/**
 * Wraps the storage adapter's afterChange hook (which writes the object after the database
 * write, inside the request's transaction): a failed write becomes a clear 503 on the `file`
 * field, and because the error propagates, Payload rolls the row back. Client errors pass through.
 */
export const guardStorage =
  (hook: CollectionAfterChangeHook, collection: ResolvedCollection): CollectionAfterChangeHook =>
  async (args) => {
    try {
      return await hook(args)
    } catch (error) {
      if (error instanceof APIError && error.status < 500) throw error
      args.req.payload.logger.error({ err: error, msg: `payload-image-assets: storing an image for ${collection.slug} failed` })
      throw uploadErrors.storageFailed(collection.slug, collection.label)
    }
  }
