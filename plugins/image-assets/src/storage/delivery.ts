import type { ResolvedCollection, ResolvedOptions } from '../options.js'
import { cacheControl } from './headers.js'
import { objectKey } from './keys.js'
import type { ObjectStore } from './objects.js'
import { mediaURL, signedMediaURL } from './url.js'

/**
 * deliver: how one collection's objects are reached. The same function gives the URL for REST,
 * GraphQL, the Local API and the admin UI, so every reader sees the same URL for a document.
 */
export type Delivery = {
  cacheControl: string
  mode: ResolvedCollection['delivery']
  /** The URL of `<prefix>/<filename>`; undefined in `proxy` mode (Payload's own URL stays). */
  url: (prefix: string, filename: string) => Promise<string | undefined>
}

export const deliveryFor = (
  collection: ResolvedCollection,
  options: ResolvedOptions,
  store: ObjectStore,
): Delivery => ({
  cacheControl: cacheControl(collection.delivery, options.signedURLs),
  mode: collection.delivery,
  url: async (prefix, filename) => {
    const key = objectKey(prefix || collection.slug, filename)
    if (collection.delivery === 'public') return mediaURL(options.storage, key)
    if (collection.delivery === 'signed')
      return signedMediaURL(store.client, options.storage, options.signedURLs, key)
    return undefined
  },
})
