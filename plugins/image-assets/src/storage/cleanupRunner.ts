import { EVERY_DOCUMENT } from './documentKeys.js'
import type { Payload } from 'payload'

import { CLEANUP_SLUG } from '../collections/cleanup.js'
import { sweepTempFiles } from '../upload/tempFiles.js'
import { iso, type Row } from './cleanup.js'
import type { ObjectStore } from './objects.js'

/**
 * clean up: the runner. It claims due rows of the clean-up outbox (PostgreSQL: `FOR UPDATE SKIP
 * LOCKED`, so several app processes never take the same row nor wait for one another), deletes
 * every key that no document references, and retries failures with a growing delay; the row
 * shows the last error meanwhile.
 */

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
/**
 * Each step of a pass (a claim, a row's settling, the prune, the temp-file sweep) is given up after
 * this long: a database or bucket that stops answering ends the pass with an error instead of
 * holding it, and every later one, for ever. The step's own work may still finish; its row stays
 * leased meanwhile, and is taken up again after its lease. (An object, so that tests can shorten it.)
 */
export const cleanupTiming = { stepDeadlineMs: 60_000 }

/** `work`, or its deadline's error; `late` is told when the deadline came first (the work goes on). */
const within = <T>(work: Promise<T>, what: string, late: () => void): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      late()
      reject(new Error(`${what} did not finish within ${cleanupTiming.stepDeadlineMs / 1000} s`))
    }, cleanupTiming.stepDeadlineMs)
    timer.unref()
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}

type PostgresAdapter = {
  name?: string
  pool?: { query: (text: string, values: unknown[]) => Promise<{ rows: Row[] }> }
  schemaName?: string
  tableNameMap?: Map<string, string>
}

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
    await payload.db.updateOne({
      collection: CLEANUP_SLUG,
      data: {
        attempts: Number((doc as { attempts?: unknown }).attempts ?? 0) + 1,
        leaseUntil: iso(now + LEASE_MS),
      },
      id: doc.id,
      returning: false,
    })
  }
  return docs as unknown as Row[]
}

/** Which of `keys` a document of `collection` still references. */
export const referencedKeys = async (
  payload: Payload,
  collection: string,
  keys: readonly string[],
): Promise<Set<string>> => {
  if (keys.length === 0 || !payload.collections[collection]) return new Set()
  const { docs } = await payload.find({
    collection,
    depth: 0,
    limit: 0,
    ...EVERY_DOCUMENT,
    pagination: false,
    select: { objectKeys: true },
    where: { objectKeys: { in: [...keys] } },
  })
  return new Set(
    docs.flatMap((d) =>
      ((d as { objectKeys?: string[] }).objectKeys ?? []).filter((k) => keys.includes(k)),
    ),
  )
}

const backoffMs = (attempts: number) =>
  Math.min(60 * 60 * 1000, 5_000 * 2 ** Math.max(0, attempts - 1))

/** Deletes one claimed row's unreferenced objects; returns how many objects were deleted and how many failed. */
const settleRow = async (payload: Payload, store: ObjectStore, row: Row) => {
  const keys = (
    Array.isArray(row.keys) ? row.keys : typeof row.keys === 'string' ? JSON.parse(row.keys) : []
  ).filter((k: unknown): k is string => typeof k === 'string')
  const referenced = await referencedKeys(payload, row.collection, keys)
  const failed = await store.deleteAll(keys.filter((k: string) => !referenced.has(k)))
  if (failed.length === 0) {
    if (row.transition) {
      await payload.db.updateOne({
        collection: CLEANUP_SLUG,
        data: { doneAt: iso(Date.now()), lastError: null, leaseUntil: null },
        id: row.id,
        returning: false,
      })
    } else {
      await payload.db.deleteOne({
        collection: CLEANUP_SLUG,
        returning: false,
        where: { id: { equals: row.id } },
      })
    }
    return { deleted: keys.length - referenced.size, failed: 0 }
  }
  const attempts = Number(row.attempts ?? 1)
  payload.logger.warn({
    keys: failed.map((f) => f.key),
    msg: `payload-image-assets: ${failed.length} object(s) could not be deleted yet (attempt ${attempts}); retrying later`,
    reason: failed[0].error,
  })
  await payload.db.updateOne({
    collection: CLEANUP_SLUG,
    data: {
      due: iso(Date.now() + backoffMs(attempts)),
      keys: failed.map((f) => f.key),
      lastError: failed[0].error,
      leaseUntil: null,
    },
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
  /**
   * A step that outlived its deadline and still runs (a database that does not answer): no new
   * pass starts until it has ended, so that stalled passes do not take one connection after another.
   */
  private stuck: Promise<unknown> | undefined
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
    if (this.running || this.stuck) {
      // A write committed during this pass: run once more right after it.
      this.again = true
      return
    }
    do {
      this.again = false
      this.running = this.runOnce().catch((error) =>
        this.payload.logger.error({
          err: error,
          msg: 'payload-image-assets: clean-up pass failed',
        }),
      )
      await this.running
      this.running = undefined
    } while (this.again && !this.stopped)
  }

  /** A step of a pass, given up at its deadline (then held as `stuck` until it ends). */
  private step<T>(work: Promise<T>, what: string): Promise<T> {
    return within(work, what, () => {
      const stuck: Promise<void> = work
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => {
          if (this.stuck === stuck) this.stuck = undefined
        })
      this.stuck = stuck
    })
  }

  /** One pass: settles every due row (a batch at a time); returns the objects deleted and failed. */
  async runOnce(): Promise<{ deleted: number; failed: number; rows: number }> {
    const totals = { deleted: 0, failed: 0, rows: 0 }
    for (;;) {
      const rows = await this.step(claimDue(this.payload, BATCH), 'claiming due clean-up rows')
      if (rows.length === 0) break
      for (const row of rows) {
        const result = await this.step(
          settleRow(this.payload, this.store, row),
          `settling clean-up row ${row.id}`,
        )
        totals.deleted += result.deleted
        totals.failed += result.failed
        totals.rows++
      }
      if (this.stopped) break
    }
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = Date.now()
      await this.step(
        this.payload.db.deleteMany({
          collection: CLEANUP_SLUG,
          where: { doneAt: { less_than: iso(Date.now() - KEEP_DONE_MS) } },
        }),
        'pruning finished clean-up rows',
      )
      await this.step(sweepTempFiles(this.payload), 'sweeping temp files')
    }
    return totals
  }
}

const runners = new WeakMap<Payload, CleanupRunner>()

/** Starts the clean-up runner of a Payload instance (from `onInit`) and stops it with `payload.destroy()`. */
export const startCleanup = (
  payload: Payload,
  store: ObjectStore,
  intervalMs: number,
): CleanupRunner => {
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
