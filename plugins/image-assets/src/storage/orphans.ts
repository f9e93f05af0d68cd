import type { CollectionConfig, Payload } from 'payload'

import type { FailedDelete } from './objects.js'

/** The hidden collection where objects that could not be deleted wait for the reconcile command. */
export const ORPHANS_SLUG = 'image-asset-orphans'

export const orphansCollection: CollectionConfig = {
  slug: ORPHANS_SLUG,
  access: {
    create: () => false,
    delete: ({ req }) => Boolean(req.user),
    read: ({ req }) => Boolean(req.user),
    update: () => false,
  },
  admin: {
    defaultColumns: ['key', 'collection', 'reason', 'createdAt'],
    description: 'Objects in the bucket that no document points at any more and that could not be deleted. The reconcile command deletes them.',
    group: 'Images',
    useAsTitle: 'key',
  },
  fields: [
    { name: 'key', type: 'text', index: true, required: true },
    { name: 'collection', type: 'text', required: true },
    { name: 'reason', type: 'select', options: ['delete-failed', 'rollback-failed'], required: true },
    { name: 'error', type: 'textarea' },
  ],
  labels: { plural: 'Orphaned objects', singular: 'Orphaned object' },
}

/**
 * Records deletes that failed after their retries. It runs outside the request's transaction, so
 * the record survives a rollback of the request; if even that fails, the log keeps the keys.
 */
export const recordOrphans = async (
  payload: Payload,
  collection: string,
  reason: 'delete-failed' | 'rollback-failed',
  failed: readonly FailedDelete[],
): Promise<void> => {
  for (const { error, key } of failed) {
    payload.logger.error({ key, msg: `payload-image-assets: could not delete ${key} (${reason}); recorded for reconcile`, reason: error })
    try {
      await payload.create({ collection: ORPHANS_SLUG, data: { collection, error, key, reason }, overrideAccess: true })
    } catch (recordError) {
      payload.logger.error({ err: recordError, key, msg: 'payload-image-assets: recording an orphaned object failed' })
    }
  }
}
