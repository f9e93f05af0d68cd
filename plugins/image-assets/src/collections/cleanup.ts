import type { CollectionConfig } from 'payload'

import { internalCollection, type IsAdmin } from './internal.js'

/**
 * The clean-up outbox: objects that may no longer be referenced, deleted by the runner after
 * commit (see storage/cleanup.ts for how rows are written, storage/cleanupRunner.ts for the runner).
 */
export const CLEANUP_SLUG = 'image-asset-cleanup'

export const cleanupCollection = (isAdmin: IsAdmin): CollectionConfig =>
  internalCollection(isAdmin, {
    slug: CLEANUP_SLUG,
    admin: {
      defaultColumns: ['collection', 'reason', 'due', 'attempts', 'lastError', 'doneAt'],
      description:
        'Objects in the bucket that no document references any more, waiting to be deleted by the app. A row with an error is retried by itself with a growing delay.',
      useAsTitle: 'collection',
    },
    fields: [
      { name: 'collection', type: 'text', required: true },
      { name: 'document', type: 'text' },
      {
        name: 'reason',
        type: 'select',
        options: ['upload', 'replaced', 'deleted'],
        required: true,
      },
      { name: 'keys', type: 'json', required: true },
      { name: 'transition', type: 'text', index: true, unique: true },
      { name: 'due', type: 'date', index: true, required: true },
      { name: 'attempts', type: 'number', defaultValue: 0 },
      { name: 'leaseUntil', type: 'date' },
      { name: 'lastError', type: 'textarea' },
      { name: 'doneAt', type: 'date', index: true },
    ],
    labels: { plural: 'Pending deletions', singular: 'Pending deletion' },
  })
