import { objectKey } from './keys.js'

type StoredDoc = { filename?: unknown; prefix?: unknown; variants?: unknown }

/** Every object key a document points at: its main image and its variants. */
export const documentKeys = (doc: StoredDoc | undefined, slug: string): string[] => {
  if (!doc || typeof doc.filename !== 'string' || doc.filename === '') return []
  const prefix = typeof doc.prefix === 'string' && doc.prefix !== '' ? doc.prefix : slug
  const variants = Array.isArray(doc.variants) ? doc.variants : []
  const names = [doc.filename, ...variants.map((v: { filename?: unknown }) => v?.filename)]
  return names.filter((name): name is string => typeof name === 'string' && name !== '').map((name) => objectKey(prefix, name))
}
