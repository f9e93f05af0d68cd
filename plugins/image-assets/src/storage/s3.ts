import { s3Storage } from '@payloadcms/storage-s3'
import type { Plugin } from 'payload'

import type { ResolvedOptions } from '../options.js'
import type { Delivery } from './delivery.js'

/**
 * store: every plugin collection goes to one bucket through `@payloadcms/storage-s3`, under a
 * prefix named after its slug. In `public` and `signed` delivery `disablePayloadAccessControl`
 * keeps the app from streaming media: documents carry the delivery URL (CDN, bucket, or presigned).
 * In `proxy` delivery Payload's file route streams the object, as it does by default.
 */
export const s3StoragePlugin = (options: ResolvedOptions, deliveries: ReadonlyMap<string, Delivery>): Plugin =>
  s3Storage({
    bucket: options.storage.bucket,
    collections: Object.fromEntries(
      options.collections.map((collection) => {
        const delivery = deliveries.get(collection.slug)!
        if (delivery.mode === 'proxy') return [collection.slug, { prefix: collection.slug }]
        return [
          collection.slug,
          {
            disablePayloadAccessControl: true as const,
            generateFileURL: async ({ filename, prefix }: { filename: string; prefix?: string }) =>
              (await delivery.url(prefix ?? collection.slug, filename)) ?? '',
            prefix: collection.slug,
          },
        ]
      }),
    ),
    config: {
      credentials: options.storage.credentials,
      endpoint: options.storage.endpoint,
      forcePathStyle: options.storage.forcePathStyle,
      region: options.storage.region,
    },
  })
