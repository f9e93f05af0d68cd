import type { Config } from 'payload'

import { imageCollection } from './collections/imageCollection.js'
import { ImageAssetsConfigError } from './errors.js'
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
    const withCollections: Config = {
      ...config,
      collections: [...existing, ...resolved.collections.map(imageCollection)],
    }
    return s3StoragePlugin(resolved.storage, resolved.collections)(withCollections)
  }
