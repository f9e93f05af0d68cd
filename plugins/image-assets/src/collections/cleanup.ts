import type { CollectionConfig } from 'payload'

/**
 * The clean-up outbox: objects that may no longer be referenced, deleted by the runner after
 * commit (see storage/cleanup.ts for how rows are written, storage/cleanupRunner.ts for the runner).
 */
export const CLEANUP_SLUG = 'image-asset-cleanup'

/** Visible and readable to administrators only (`isAdmin`), in the admin's "Image maintenance" group. */
export const cleanupCollection = (
  isAdmin: (user: Record<string, unknown>) => boolean,
): CollectionConfig => ({
  slug: CLEANUP_SLUG,
  access: {
    create: () => false,
    delete: () => false,
    read: ({ req }) => Boolean(req.user && isAdmin(req.user)),
    update: () => false,
  },
  admin: {
    defaultColumns: ['collection', 'reason', 'due', 'attempts', 'lastError', 'doneAt'],
    description:
      'Objects in the bucket that no document references any more, waiting to be deleted by the app. A row with an error is retried by itself with a growing delay.',
    group: 'Image maintenance',
    hidden: ({ user }) => !user || !isAdmin(user),
    useAsTitle: 'collection',
  },
  fields: [
    { name: 'collection', type: 'text', required: true },
    { name: 'document', type: 'text' },
    { name: 'reason', type: 'select', options: ['upload', 'replaced', 'deleted'], required: true },
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
