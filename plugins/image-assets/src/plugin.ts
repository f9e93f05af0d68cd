import type { Config } from 'payload'

import { imageCollection } from './collections/imageCollection.js'
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
  (config: Config): Config | Promise<Config> => {
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
    const maxBytes = Math.max(...resolved.collections.map((c) => c.limits.maxBytes))
    const withCollections: Config = {
      ...config,
      collections: [...existing, ...resolved.collections.map(imageCollection)],
      upload: {
        ...config.upload,
        abortOnLimit: config.upload?.abortOnLimit ?? true,
        limits: { ...config.upload?.limits, fileSize: config.upload?.limits?.fileSize ?? maxBytes },
        responseOnLimit: config.upload?.responseOnLimit ?? messages.requestTooLarge(config.upload?.limits?.fileSize ?? maxBytes),
      },
    }
    return s3StoragePlugin(resolved.storage, resolved.collections)(withCollections)
  }
