import type { CollectionConfig } from 'payload'

import { internalCollection, type IsAdmin } from './internal.js'

/** The re-optimize ledger (see ops/ledger.ts): one row per change of a document's files. */
export const LEDGER_SLUG = 'image-asset-reoptimizations'

export const ledgerCollection = (isAdmin: IsAdmin): CollectionConfig =>
  internalCollection(isAdmin, {
    slug: LEDGER_SLUG,
    admin: {
      defaultColumns: [
        'collection',
        'document',
        'status',
        'bytesBefore',
        'bytesAfter',
        'finishedAt',
      ],
      description: 'Re-optimizations after a preset change: one row per image and settings.',
      useAsTitle: 'key',
    },
    fields: [
      { name: 'key', type: 'text', index: true, required: true, unique: true },
      { name: 'collection', type: 'text', required: true },
      { name: 'document', type: 'text', required: true },
      { name: 'fingerprint', type: 'text', required: true },
      { name: 'status', type: 'select', options: ['running', 'done'], required: true },
      { name: 'worker', type: 'text' },
      { name: 'source', type: 'select', options: ['original', 'stored-webp'] },
      { name: 'bytesBefore', type: 'number' },
      { name: 'bytesAfter', type: 'number' },
      { name: 'startedAt', type: 'date', required: true },
      { name: 'finishedAt', type: 'date' },
    ],
    labels: { plural: 'Re-optimizations', singular: 'Re-optimization' },
  })
