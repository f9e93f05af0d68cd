import type { CollectionConfig, Payload, PayloadRequest } from 'payload'

import { ImageUploadError, messages } from '../errors.js'
import { describeError, type ObjectStore } from './objects.js'

/**
 * clean up: the durable record (an outbox) of objects that may no longer be referenced, and the
 * runner that deletes them after commit.
 *
 * - An upload records its new keys (`reason: 'upload'`) before it writes them, in a statement of
 *   its own; the record step deletes that row in its transaction. A row left behind (the upload
 *   failed, lost a race, or the process died) becomes due once no upload can still record it.
 * - Replacing or deleting a document records the keys it no longer references (`'replaced'`,
 *   `'deleted'`) in the same transaction as the document write, due at once. Its `transition`
 *   (`<collection>:<id>:<filename>`) is unique: two writes that start from the same file cannot both
 *   commit, so the loser retries from the winner's state and nothing goes unrecorded.
 * - The runner claims due rows (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several app processes
 *   never take the same row nor wait for one another), deletes every key that no document
 *   references, and retries failures with a growing delay; the row shows the last error meanwhile.
 */
export const CLEANUP_SLUG = 'image-asset-cleanup'

/** After the store deadline, the record step has this long to commit; past it the upload is refused. */
export const RECORD_WINDOW_MS = 10_000
/** Extra wait before an upload's row is due, so that a record step that just made it has committed. */
const INTENT_MARGIN_MS = 15_000
/**
 * A claimed row is this process's for this long: one row's deletes take at most 15 s (bounded in
 * `objects.ts`), so the lease outlives them, and a process killed mid-row holds it no longer.
 */
const LEASE_MS = 30_000
/** Rows are claimed one at a time, so a killed process strands at most one row, for one lease. */
const BATCH = 1
/** Finished transitions are kept this long (their unique key guards against a very late writer), then pruned. */
const KEEP_DONE_MS = 24 * 60 * 60 * 1000
const PRUNE_EVERY_MS = 10 * 60 * 1000

export type CleanupReason = 'deleted' | 'replaced' | 'upload'

const loggedIn = ({ req }: { req: PayloadRequest }) => Boolean(req.user)

export const cleanupCollection: CollectionConfig = {
  slug: CLEANUP_SLUG,
  access: { create: () => false, delete: () => false, read: loggedIn, update: () => false },
  admin: {
    defaultColumns: ['collection', 'reason', 'due', 'attempts', 'lastError', 'doneAt'],
    description:
      'Objects in the bucket that no document references any more, waiting to be deleted by the app. A row with an error is retried by itself with a growing delay.',
    group: 'Images',
    useAsTitle: 'collection',
  },
  fields: [
    { name: 'collection', type: 'text', required: true },
    { name: 'document', type: 'text' },
    { name: 'reason', type: 'select', options: ['upload', 'replaced', 'deleted'], required: true },
    { name: 'keys', type: 'json', required: true },
    { name: 'transition', type: 'text', index: true, unique: true },
    { name: 'due', type: 'date', index: true, required: true },
    { name: 'attempts', type: 'number', defaultValue: 0 },
    { name: 'leaseUntil', type: 'date' },
    { name: 'lastError', type: 'textarea' },
    { name: 'doneAt', type: 'date', index: true },
  ],
  labels: { plural: 'Pending deletions', singular: 'Pending deletion' },
}

type Row = { attempts?: null | number; collection: string; id: number | string; keys: unknown; transition?: null | string }

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * Records the keys an upload is about to write, before it writes them (a statement of its own, no
 * transaction held). Returns the row's id and the time by which the upload must be recorded.
 */
export const recordUpload = async (payload: Payload, collection: string, keys: readonly string[], storeDeadline: number) => {
  const recordBy = storeDeadline + RECORD_WINDOW_MS
  const row = await payload.db.create({
    collection: CLEANUP_SLUG,
    data: { attempts: 0, collection, due: iso(recordBy + INTENT_MARGIN_MS), keys: [...keys], reason: 'upload' },
  })
  return { id: row.id as number | string, recordBy }
}

/** In the record transaction: the upload's objects now belong to a document. False when the row is gone. */
export const settleUpload = async (req: PayloadRequest, id: number | string): Promise<boolean> => {
  // One statement that locks the row only if no runner has claimed it: from here the runner skips
  // it (SKIP LOCKED) until this transaction ends, and a claim that came first makes this refuse.
  const unclaimed = await req.payload.db.updateOne({
    collection: CLEANUP_SLUG,
    data: { attempts: 0 },
    options: { atomic: true },
    req,
    where: { and: [{ id: { equals: id } }, { leaseUntil: { exists: false } }] },
  })
  if (!unclaimed) return false
  await req.payload.db.deleteOne({ collection: CLEANUP_SLUG, req, returning: false, where: { id: { equals: id } } })
  return true
}

/** An upload that will not be recorded: its objects are due for deletion now (or after `delayMs`). */
export const abandonUpload = async (payload: Payload, id: number | string, delayMs = 0): Promise<void> => {
  try {
    await payload.db.updateOne({ collection: CLEANUP_SLUG, data: { due: iso(Date.now() + delayMs) }, id, returning: false })
  } catch (error) {
    // The row stays due at its original time: the objects are still deleted, a minute later.
    payload.logger.warn({ err: error, msg: 'payload-image-assets: could not bring an abandoned upload forward for clean-up' })
  }
}

/**
 * In the transaction that replaces or deletes a document's file: records the keys it no longer
 * references. Throws `WriteConflict` (409) when another write from the same file got there first.
 */
export const recordTransition = async (
  req: PayloadRequest,
  entry: { collection: string; document: number | string; from: null | string | undefined; keys: readonly string[]; label: string; reason: 'deleted' | 'replaced' },
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
  constructor(collection: string, label: string, override readonly cause?: unknown) {
    super({ code: 'UPLOAD_CONFLICT', collection, message: messages.uploadConflict(label), status: 409 })
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
  const { cause, code, data, message } = error as { cause?: unknown; code?: unknown; data?: { errors?: Array<{ path?: unknown }> }; message?: unknown }
  if (code === '40P01' || code === '40001') return true
  if (Array.isArray(data?.errors) && data.errors.some((e) => e?.path === 'transition')) return true
  if (typeof message === 'string' && /unique constraint .*transition/i.test(message)) return true
  return isWriteConflict(cause, depth + 1)
}

type PostgresAdapter = { name?: string; pool?: { query: (text: string, values: unknown[]) => Promise<{ rows: Row[] }> }; schemaName?: string; tableNameMap?: Map<string, string> }

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`

/** Claims up to `limit` due rows for this process: atomically and without waiting on PostgreSQL, with a lease elsewhere. */
const claimDue = async (payload: Payload, limit: number): Promise<Row[]> => {
  const now = Date.now()
  const db = payload.db as unknown as PostgresAdapter
  if (db.name === 'postgres' && db.pool) {
    const table = `${db.schemaName ? `${quote(db.schemaName)}.` : ''}${quote(db.tableNameMap?.get('image_asset_cleanup') ?? 'image_asset_cleanup')}`
    const { rows } = await db.pool.query(
      `UPDATE ${table} SET lease_until = $2, attempts = coalesce(attempts, 0) + 1
       WHERE id IN (SELECT id FROM ${table} WHERE done_at IS NULL AND due <= $1 AND (lease_until IS NULL OR lease_until < $1)
                    ORDER BY due LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING id, collection, keys, transition, attempts`,
      [iso(now), iso(now + LEASE_MS), limit],
    )
    return rows
  }
  const { docs } = await payload.db.find({
    collection: CLEANUP_SLUG,
    limit,
    pagination: false,
    sort: 'due',
    where: {
      and: [
        { doneAt: { exists: false } },
        { due: { less_than_equal: iso(now) } },
        { or: [{ leaseUntil: { exists: false } }, { leaseUntil: { less_than: iso(now) } }] },
      ],
    },
  })
  for (const doc of docs) {
    await payload.db.updateOne({ collection: CLEANUP_SLUG, data: { attempts: Number((doc as { attempts?: unknown }).attempts ?? 0) + 1, leaseUntil: iso(now + LEASE_MS) }, id: doc.id, returning: false })
  }
  return docs as unknown as Row[]
}

/** Which of `keys` a document of `collection` still references. */
export const referencedKeys = async (payload: Payload, collection: string, keys: readonly string[]): Promise<Set<string>> => {
  if (keys.length === 0 || !payload.collections[collection]) return new Set()
  const { docs } = await payload.find({
    collection,
    depth: 0,
    limit: 0,
    overrideAccess: true,
    pagination: false,
    select: { objectKeys: true },
    where: { objectKeys: { in: [...keys] } },
  })
  return new Set(docs.flatMap((d) => ((d as { objectKeys?: string[] }).objectKeys ?? []).filter((k) => keys.includes(k))))
}

const backoffMs = (attempts: number) => Math.min(60 * 60 * 1000, 5_000 * 2 ** Math.max(0, attempts - 1))

/** Deletes one claimed row's unreferenced objects; returns how many objects were deleted and how many failed. */
const settleRow = async (payload: Payload, store: ObjectStore, row: Row) => {
  const keys = (Array.isArray(row.keys) ? row.keys : typeof row.keys === 'string' ? JSON.parse(row.keys) : []).filter((k: unknown): k is string => typeof k === 'string')
  const referenced = await referencedKeys(payload, row.collection, keys)
  const failed = await store.deleteAll(keys.filter((k: string) => !referenced.has(k)))
  if (failed.length === 0) {
    if (row.transition) {
      await payload.db.updateOne({ collection: CLEANUP_SLUG, data: { doneAt: iso(Date.now()), lastError: null, leaseUntil: null }, id: row.id, returning: false })
    } else {
      await payload.db.deleteOne({ collection: CLEANUP_SLUG, returning: false, where: { id: { equals: row.id } } })
    }
    return { deleted: keys.length - referenced.size, failed: 0 }
  }
  const attempts = Number(row.attempts ?? 1)
  payload.logger.warn({ keys: failed.map((f) => f.key), msg: `payload-image-assets: ${failed.length} object(s) could not be deleted yet (attempt ${attempts}); retrying later`, reason: failed[0].error })
  await payload.db.updateOne({
    collection: CLEANUP_SLUG,
    data: { due: iso(Date.now() + backoffMs(attempts)), keys: failed.map((f) => f.key), lastError: failed[0].error, leaseUntil: null },
    id: row.id,
    returning: false,
  })
  return { deleted: keys.length - referenced.size - failed.length, failed: failed.length }
}

/**
 * The in-app clean-up: every `intervalMs`, and soon after `nudge()`, claims due rows and settles
 * them. One per Payload instance; any number of processes may run one against the same database.
 */
export class CleanupRunner {
  private timer: NodeJS.Timeout | undefined
  private soon: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined
  private lastPrune = 0
  private stopped = false
  private again = false

  constructor(
    readonly payload: Payload,
    readonly store: ObjectStore,
    readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return
    this.timer = setInterval(() => void this.tick(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.timer)
    clearTimeout(this.soon)
  }

  /** Runs a pass shortly (after the current request's transaction has had time to commit). */
  nudge(delayMs = 200): void {
    if (this.stopped || this.intervalMs <= 0 || this.soon) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      void this.tick()
    }, delayMs)
    this.soon.unref()
  }

  private async tick(): Promise<void> {
    if (this.stopped) return
    if (this.running) {
      // A write committed during this pass: run once more right after it.
      this.again = true
      return
    }
    do {
      this.again = false
      this.running = this.runOnce().catch((error) => this.payload.logger.error({ err: error, msg: 'payload-image-assets: clean-up pass failed' }))
      await this.running
      this.running = undefined
    } while (this.again && !this.stopped)
  }

  /** One pass: settles every due row (a batch at a time); returns the objects deleted and failed. */
  async runOnce(): Promise<{ deleted: number; failed: number; rows: number }> {
    const totals = { deleted: 0, failed: 0, rows: 0 }
    for (;;) {
      const rows = await claimDue(this.payload, BATCH)
      if (rows.length === 0) break
      for (const row of rows) {
        const result = await settleRow(this.payload, this.store, row)
        totals.deleted += result.deleted
        totals.failed += result.failed
        totals.rows++
      }
      if (this.stopped) break
    }
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = Date.now()
      await this.payload.db.deleteMany({ collection: CLEANUP_SLUG, where: { doneAt: { less_than: iso(Date.now() - KEEP_DONE_MS) } } })
    }
    return totals
  }
}

const runners = new WeakMap<Payload, CleanupRunner>()

/** Starts the clean-up runner of a Payload instance (from `onInit`) and stops it with `payload.destroy()`. */
export const startCleanup = (payload: Payload, store: ObjectStore, intervalMs: number): CleanupRunner => {
  const runner = new CleanupRunner(payload, store, intervalMs)
  runners.set(payload, runner)
  runner.start()
  const destroy = payload.destroy.bind(payload)
  payload.destroy = async () => {
    runner.stop()
    await runner['running']
    return destroy()
  }
  return runner
}

/** Asks the instance's runner for a pass soon (after a request recorded leftovers). */
export const nudgeCleanup = (payload: Payload): void => runners.get(payload)?.nudge()

/** The instance's runner, if the plugin started one. */
export const cleanupRunnerOf = (payload: Payload): CleanupRunner | undefined => runners.get(payload)
