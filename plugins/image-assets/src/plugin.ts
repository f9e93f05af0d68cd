import type { Config } from 'payload'

import { imageCollection } from './collections/imageCollection.js'
import { guardStorage } from './hooks/guardStorage.js'
import { WorkLimiter } from './image/limiter.js'
import { ImageAssetsConfigError, messages } from './errors.js'
import { type ImageAssetsPluginOptions, resolveOptions } from './options.js'
import { s3StoragePlugin } from './storage/s3.js'

/**
 * Adds the image upload collections (avatars, category-images, product-images, media, and any
 * custom ones) and wires them to one S3 bucket.
 *
 * @example
 * plugins: [imageAssetsPlugin()]
 */
export const imageAssetsPlugin =
  (options: ImageAssetsPluginOptions = {}) =>
  async (config: Config): Promise<Config> => {
    const resolved = resolveOptions(options)
    const existing = config.collections ?? []
    for (const { slug } of resolved.collections) {
      if (existing.some((c) => c.slug === slug)) {
        throw new ImageAssetsConfigError(
          `the collection "${slug}" already exists in the config. Rename yours, or switch the plugin's off with collections: { "${slug}": false }.`,
        )
      }
    }
    // Payload's multipart parser aborts oversize uploads with 413 before they are buffered; unless
    // the app set its own limit, make it the largest of the plugin's per-collection limits.
    const limiter = new WorkLimiter(resolved.processing.concurrency, resolved.processing.queueDepth)
    const maxBytes = Math.max(...resolved.collections.map((c) => c.limits.maxBytes))
    const withCollections: Config = {
      ...config,
      collections: [...existing, ...resolved.collections.map((c) => imageCollection(c, limiter))],
      upload: {
        ...config.upload,
        abortOnLimit: config.upload?.abortOnLimit ?? true,
        limits: { ...config.upload?.limits, fileSize: config.upload?.limits?.fileSize ?? maxBytes },
        responseOnLimit: config.upload?.responseOnLimit ?? messages.requestTooLarge(config.upload?.limits?.fileSize ?? maxBytes),
      },
    }
    const stored = await s3StoragePlugin(resolved.storage, resolved.collections)(withCollections)
    const bySlug = new Map(resolved.collections.map((c) => [c.slug, c]))
    return {
      ...stored,
      collections: stored.collections?.map((collection) => {
        const resolvedCollection = bySlug.get(collection.slug)
        if (!resolvedCollection) return collection
        const afterChange = collection.hooks?.afterChange?.map((hook) => guardStorage(hook, resolvedCollection))
        return { ...collection, hooks: { ...collection.hooks, afterChange } }
      }),
    }
  }
