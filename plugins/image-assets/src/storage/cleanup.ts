import type { Payload, PayloadRequest, Where } from 'payload'

import { CLEANUP_SLUG } from '../collections/cleanup.js'
import { ImageUploadError, messages } from '../errors.js'

/**
 * Clean-up: the durable record (an outbox) of objects that may no longer be referenced, and the
 * runner that deletes them after commit.
 *
 * - An upload records its new keys (`reason: 'upload'`) before it writes them, in a statement of
 *   its own; the record step deletes that row in its transaction. A row left behind (the upload
 *   failed, lost a race, or the process died) becomes due once no upload can still record it.
 * - Replacing or deleting a document records the keys it no longer references (`'replaced'`,
 *   `'deleted'`) in the same transaction as the document write, due at once. Its `transition`
 *   (`<collection>:<id>:<filename>`) is unique: two writes that start from the same file cannot both
 *   commit, so the loser retries from the winner's state and nothing goes unrecorded.
 * - The runner (`cleanupRunner.ts`) deletes what the rows list once they are due.
 */

/** After the store deadline, the record step has this long to commit; past it the upload is refused. */
const RECORD_WINDOW_MS = 10_000
/** Extra wait before an upload's row is due, so that a record step that just made it has committed. */
const INTENT_MARGIN_MS = 15_000

/** A clean-up row as the runner claims it. */
export type Row = {
  attempts?: null | number
  collection: string
  id: number | string
  keys: unknown
  transition?: null | string
}

export const iso = (ms: number) => new Date(ms).toISOString()

/**
 * Records the keys an upload is about to write, before it writes them (a statement of its own, no
 * transaction held). Returns the row's id and the time by which the upload must be recorded.
 */
export const recordUpload = async (
  payload: Payload,
  collection: string,
  keys: readonly string[],
  storeDeadline: number,
) => {
  const recordBy = storeDeadline + RECORD_WINDOW_MS
  const row = await payload.db.create({
    collection: CLEANUP_SLUG,
    data: {
      attempts: 0,
      collection,
      due: iso(recordBy + INTENT_MARGIN_MS),
      keys: [...keys],
      reason: 'upload',
    },
  })
  return { id: row.id as number | string, recordBy }
}

/**
 * An upload's row that no runner has claimed, ever: a claim sets a lease and counts an attempt, and
 * a runner that could not delete every object gives the lease back (the row is retried later), so
 * the lease alone would let a late upload take back a row whose objects are partly deleted.
 */
const unclaimed = (id: number | string): Where => ({
  and: [{ id: { equals: id } }, { leaseUntil: { exists: false } }, { attempts: { equals: 0 } }],
})

/**
 * Adds keys to an upload's row before they are written (a statement of its own), and moves its
 * deadline to `storeDeadline`'s; only while no runner has claimed the row. False when one has (the
 * objects already written may be deleted at any moment: the upload cannot go on).
 */
export const extendUpload = async (
  payload: Payload,
  id: number | string,
  keys: readonly string[],
  storeDeadline: number,
) => {
  const recordBy = storeDeadline + RECORD_WINDOW_MS
  const row = await payload.db.updateOne({
    collection: CLEANUP_SLUG,
    data: { due: iso(recordBy + INTENT_MARGIN_MS), keys: [...keys] },
    options: { atomic: true },
    where: unclaimed(id),
  })
  return row ? { id, recordBy } : undefined
}

/** An upload's row whose objects are all deleted again: removed, unless a runner has claimed it. */
export const discardUpload = async (payload: Payload, id: number | string): Promise<void> => {
  await payload.db.deleteOne({
    collection: CLEANUP_SLUG,
    returning: false,
    where: unclaimed(id),
  })
}

/** In the record transaction: the upload's objects now belong to a document. False when the row is gone. */
export const settleUpload = async (req: PayloadRequest, id: number | string): Promise<boolean> => {
  // One statement that locks the row only if no runner has claimed it: from here the runner skips
  // it (SKIP LOCKED) until this transaction ends, and a claim that came first makes this refuse.
  const settled = await req.payload.db.updateOne({
    collection: CLEANUP_SLUG,
    data: { attempts: 0 },
    options: { atomic: true },
    req,
    where: unclaimed(id),
  })
  if (!settled) return false
  await req.payload.db.deleteOne({
    collection: CLEANUP_SLUG,
    req,
    returning: false,
    where: { id: { equals: id } },
  })
  return true
}

/** An upload that will not be recorded: its objects are due for deletion now (or after `delayMs`). */
export const abandonUpload = async (
  payload: Payload,
  id: number | string,
  delayMs = 0,
): Promise<void> => {
  try {
    await payload.db.updateOne({
      collection: CLEANUP_SLUG,
      data: { due: iso(Date.now() + delayMs) },
      id,
      returning: false,
    })
  } catch (error) {
    // The row stays due at its original time: the objects are still deleted, a minute later.
    payload.logger.warn({
      err: error,
      msg: 'payload-image-assets: could not bring an abandoned upload forward for clean-up',
    })
  }
}

/**
 * In the transaction that replaces or deletes a document's file: records the keys it no longer
 * references. Throws `WriteConflict` (409) when another write from the same file got there first.
 */
export const recordTransition = async (
  req: PayloadRequest,
  entry: {
    collection: string
    document: number | string
    from: null | string | undefined
    keys: readonly string[]
    label: string
    reason: 'deleted' | 'replaced'
  },
): Promise<void> => {
  try {
    await req.payload.db.create({
      collection: CLEANUP_SLUG,
      data: {
        attempts: 0,
        collection: entry.collection,
        document: String(entry.document),
        due: iso(Date.now()),
        keys: [...entry.keys],
        reason: entry.reason,
        transition: `${entry.collection}:${entry.document}:${entry.from ?? ''}`,
      },
      req,
    })
  } catch (error) {
    // Whatever the entry point (REST retries it; GraphQL and the Local API answer it), a lost race is a 409 with a plain message.
    if (isWriteConflict(error)) throw new WriteConflict(entry.collection, entry.label, error)
    throw error
  }
}

/** Another write from the same file committed first; the operation may be retried from the new state. */
export class WriteConflict extends ImageUploadError {
  constructor(
    collection: string,
    label: string,
    override readonly cause?: unknown,
  ) {
    super({
      code: 'UPLOAD_CONFLICT',
      collection,
      message: messages.upload('UPLOAD_CONFLICT', { label }),
      status: 409,
    })
  }
}

/**
 * True for a database error caused by a concurrent write: another write from the same file
 * recorded its transition first (Payload reports the unique key as a ValidationError on
 * `transition`), a deadlock, or a serialization failure. The operation can be retried.
 */
export const isWriteConflict = (error: unknown, depth = 0): boolean => {
  if (!error || typeof error !== 'object' || depth > 6) return false
  if (error instanceof WriteConflict) return true
  const { cause, code, data, message } = error as {
    cause?: unknown
    code?: unknown
    data?: { errors?: Array<{ path?: unknown }> }
    message?: unknown
  }
  if (code === '40P01' || code === '40001') return true
  if (Array.isArray(data?.errors) && data.errors.some((e) => e?.path === 'transition')) return true
  if (typeof message === 'string' && /unique constraint .*transition/i.test(message)) return true
  return isWriteConflict(cause, depth + 1)
}
