import { readFile } from 'node:fs/promises'
import path from 'node:path'

import type { ResolvedCollection } from '../options.js'
import { objectKey, prefixOf } from '../storage/keys.js'
import { type ObjectStore, s3Status } from '../storage/objects.js'

/**
 * The bytes to re-process: the kept original, else the stored file in the bucket. A document of an
 * adopted collection made before the plugin may have its file only where Payload's local storage
 * put it (the collection's `staticDir`): it is read from there, once, and converted.
 */
export const readSource = async (
  store: ObjectStore,
  collection: ResolvedCollection,
  doc: { filename: string; originalKey?: null | string; prefix?: unknown },
): Promise<Buffer> => {
  try {
    return await store.get(
      doc.originalKey ?? objectKey(prefixOf(doc, collection.slug), doc.filename),
    )
  } catch (error) {
    if (s3Status(error) !== 404 || !collection.adoptedFrom || doc.originalKey) throw error
    const file = path.resolve(collection.adoptedFrom.staticDir, path.basename(doc.filename))
    return readFile(file).catch(() => {
      throw error
    })
  }
}
