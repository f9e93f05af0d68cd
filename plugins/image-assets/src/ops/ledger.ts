import { type Payload, ValidationError } from 'payload'

import { LEDGER_SLUG } from '../collections/ledger.js'

/**
 * The reoptimize ledger: one row per change of a document's files, from the stored file it had to
 * the settings fingerprint it gets. Creating the row is the claim: its `key` is unique in the
 * database, so when several workers reach the same document in the same state only one of them
 * processes it; a later change (the settings moved on, or back) is a new key. A claim left
 * `running` by a crashed worker expires.
 */
const LEASE_MS = 15 * 60 * 1000

/** The ledger row's unique `key` is taken (Payload reports it as a ValidationError on `key`; the driver as 23505). */
const isDuplicateKey = (error: unknown, depth = 0): boolean => {
  if (!error || typeof error !== 'object' || depth > 5) return false
  if (error instanceof ValidationError) return error.data.errors.some((e) => e.path === 'key')
  const { cause, code } = error as { cause?: unknown; code?: unknown }
  return code === '23505' || isDuplicateKey(cause, depth + 1)
}

export type Claim = {
  id: number | string
  release: () => Promise<void>
  finish: (data: Record<string, unknown>) => Promise<void>
}

/** Claims a document for one settings fingerprint; undefined when another worker holds it or did it. */
export const claim = async (
  payload: Payload,
  entry: {
    collection: string
    document: string
    fingerprint: string
    from: string
    worker: string
  },
): Promise<Claim | undefined> => {
  const { from, ...fields } = entry
  const key = `${entry.collection}:${entry.document}:${from}:${entry.fingerprint}`
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const row = await payload.create({
        collection: LEDGER_SLUG,
        data: { ...fields, key, startedAt: new Date().toISOString(), status: 'running' },
        overrideAccess: true,
      })
      return {
        finish: async (data) => {
          await payload.update({
            collection: LEDGER_SLUG,
            data: { ...data, finishedAt: new Date().toISOString(), status: 'done' },
            id: row.id,
            overrideAccess: true,
          })
        },
        id: row.id,
        release: async () => {
          await payload
            .delete({ collection: LEDGER_SLUG, id: row.id, overrideAccess: true })
            .catch(() => undefined)
        },
      }
    } catch (error) {
      if (!isDuplicateKey(error)) throw error
      const { docs } = await payload.find({
        collection: LEDGER_SLUG,
        limit: 1,
        overrideAccess: true,
        where: { key: { equals: key } },
      })
      const held = docs[0] as { id: number | string; startedAt: string; status: string } | undefined
      if (!held || held.status === 'done' || Date.now() - Date.parse(held.startedAt) < LEASE_MS)
        return undefined
      // A claim abandoned by a crashed worker: take it over.
      await payload
        .delete({ collection: LEDGER_SLUG, id: held.id, overrideAccess: true })
        .catch(() => undefined)
    }
  }
  return undefined
}
