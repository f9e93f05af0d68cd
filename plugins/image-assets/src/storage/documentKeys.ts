import { objectKey } from './keys.js'

type StoredDoc = { avif?: unknown; filename?: unknown; prefix?: unknown; variants?: unknown }

/** Every object key a document points at: its main image, its variants and its AVIF versions. */
export const documentKeys = (doc: StoredDoc | undefined, slug: string): string[] => {
  if (!doc || typeof doc.filename !== 'string' || doc.filename === '') return []
  const prefix = typeof doc.prefix === 'string' && doc.prefix !== '' ? doc.prefix : slug
  const variants = [...(Array.isArray(doc.variants) ? doc.variants : []), ...(Array.isArray(doc.avif) ? doc.avif : [])]
  const names = [doc.filename, ...variants.map((v: { filename?: unknown }) => v?.filename)]
  return names.filter((name): name is string => typeof name === 'string' && name !== '').map((name) => objectKey(prefix, name))
}
