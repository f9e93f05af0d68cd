import type { CollectionSlug, Payload } from 'payload'

import { objectKey, prefixOf } from './keys.js'

type StoredDoc = {
  avif?: unknown
  filename?: unknown
  objectKeys?: unknown
  originalKey?: unknown
  prefix?: unknown
  shapes?: unknown
  variants?: unknown
}

/**
 * Every object key a document points at: its main image, variants, AVIF versions, shapes and
 * kept original. Documents record them in `objectKeys`; older ones are read from their file fields.
 */
export const documentKeys = (doc: StoredDoc | undefined, slug: string): string[] => {
  if (!doc) return []
  if (Array.isArray(doc.objectKeys) && doc.objectKeys.length > 0)
    return doc.objectKeys.filter((k): k is string => typeof k === 'string')
  if (typeof doc.filename !== 'string' || doc.filename === '') return []
  const prefix = prefixOf(doc, slug)
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])
  const shapes = Object.values(doc.shapes && typeof doc.shapes === 'object' ? doc.shapes : {})
  const versions = [
    ...list(doc.variants),
    ...list(doc.avif),
    ...shapes.flatMap((shape) => {
      const { avif, variants } = (shape ?? {}) as { avif?: unknown; variants?: unknown }
      return [shape, ...list(variants), ...list(avif)]
    }),
  ]
  const names = [
    doc.filename,
    ...versions.map((v) => (v as { filename?: unknown } | null)?.filename),
  ]
  const keys = names
    .filter((name): name is string => typeof name === 'string' && name !== '')
    .map((name) => objectKey(prefix, name))
  return typeof doc.originalKey === 'string' && doc.originalKey !== ''
    ? [...keys, doc.originalKey]
    : keys
}

/**
 * Local API options for the questions "which documents point at these objects?": every document,
 * whatever the caller's access, trashed ones included (a collection with `trash`: a trashed
 * document can be restored, and its objects with it).
 */
export const EVERY_DOCUMENT = { overrideAccess: true, trash: true } as const

/** A document as stored, whatever the caller's access, trashed or not; null when there is none. */
export const storedDocument = async (
  payload: Payload,
  collection: string,
  id: number | string,
): Promise<Record<string, unknown> | null> =>
  (await payload.findByID({
    collection: collection as CollectionSlug,
    depth: 0,
    disableErrors: true,
    id,
    ...EVERY_DOCUMENT,
  })) as Record<string, unknown> | null
