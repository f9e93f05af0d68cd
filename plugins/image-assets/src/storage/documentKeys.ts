import { objectKey, prefixOf } from './keys.js'

type StoredDoc = {
  avif?: unknown
  filename?: unknown
  objectKeys?: unknown
  originalKey?: unknown
  prefix?: unknown
  variants?: unknown
}

/**
 * Every object key a document points at: its main image, variants, AVIF versions and kept
 * original. Documents record them in `objectKeys`; older ones are read from their file fields.
 */
export const documentKeys = (doc: StoredDoc | undefined, slug: string): string[] => {
  if (!doc) return []
  if (Array.isArray(doc.objectKeys) && doc.objectKeys.length > 0)
    return doc.objectKeys.filter((k): k is string => typeof k === 'string')
  if (typeof doc.filename !== 'string' || doc.filename === '') return []
  const prefix = prefixOf(doc, slug)
  const versions = [
    ...(Array.isArray(doc.variants) ? doc.variants : []),
    ...(Array.isArray(doc.avif) ? doc.avif : []),
  ]
  const names = [doc.filename, ...versions.map((v: { filename?: unknown }) => v?.filename)]
  const keys = names
    .filter((name): name is string => typeof name === 'string' && name !== '')
    .map((name) => objectKey(prefix, name))
  return typeof doc.originalKey === 'string' && doc.originalKey !== ''
    ? [...keys, doc.originalKey]
    : keys
}
