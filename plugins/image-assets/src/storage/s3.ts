import { s3Storage } from '@payloadcms/storage-s3'
import type { Plugin } from 'payload'

import type { ResolvedCollection, ResolvedStorage } from '../options.js'
import { objectKey } from './keys.js'
import { mediaURL } from './url.js'

/**
 * store: every plugin collection goes to one bucket through `@payloadcms/storage-s3`, under a
 * prefix named after its slug. `disablePayloadAccessControl` keeps the app from streaming media:
 * documents carry the object's own URL at the media origin.
 */
export const s3StoragePlugin = (storage: ResolvedStorage, collections: readonly ResolvedCollection[]): Plugin =>
  s3Storage({
    bucket: storage.bucket,
    collections: Object.fromEntries(
      collections.map(({ slug }) => [
        slug,
        {
          disablePayloadAccessControl: true as const,
          generateFileURL: ({ filename, prefix }: { filename: string; prefix?: string }) =>
            mediaURL(storage, objectKey(prefix || slug, filename)),
          prefix: slug,
        },
      ]),
    ),
    config: {
      credentials: storage.credentials,
      endpoint: storage.endpoint,
      forcePathStyle: storage.forcePathStyle,
      region: storage.region,
    },
  })
