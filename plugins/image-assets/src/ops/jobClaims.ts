import type { Payload } from 'payload'

import { HOLD_KEY } from './avif.js'

/**
 * Two guards around Payload's job-row updates (`payload.db.updateJobs`), installed once per
 * Payload instance.
 *
 * 1. **One claim at a time.** Payload claims pending jobs with a read and then a write, so two runs
 *    (two worker processes, or two app processes with the in-process runner) that look at the
 *    queue at the same moment take the same jobs. The first to finish a job deletes its row, and
 *    the other run's next write to it fails. On PostgreSQL, a claim that can take the image queue's
 *    jobs first takes a transaction-level advisory lock (waiting at most `CLAIM_LOCK_TIMEOUT`), so
 *    the next claim reads the rows only after the previous one has marked its jobs as processing.
 * 2. **No transaction left open.** Payload's jobs utility begins a transaction of its own for each
 *    job-row update and commits it, but does not roll it back when the update throws (a job row
 *    deleted meanwhile, a timeout): the connection stays `idle in transaction (aborted)`, holding
 *    the row's locks, until the pool runs dry and every run hangs. When such an update throws, the
 *    transaction is rolled back before the error goes on.
 *
 * 3. **Jobs of a process that died are taken up again.** Payload marks claimed jobs as processing
 *    and only ever picks jobs that are not, so a job whose process was killed mid-run would stay
 *    processing for good (its image never getting its AVIF versions). Each claim of the image
 *    queue first lets go of its jobs that no live run can still hold: those whose hold (the mark a
 *    run sets when it starts and renews while it works, `holdTiming` in avif.ts) has ended, and those claimed
 *    without a hold longer than `UNHELD_MS` ago. Each such release counts as a try; past
 *    `ABANDONED_TRIES` the job is failed with a message saying why, so an image that kills its
 *    process cannot do so forever.
 *
 * Only updates made through that utility are touched: their `req` is `{ transactionID }` and
 * nothing else. Every other write, and the outcome of every update that succeeds, is unchanged.
 */
type Adapter = {
  execute?: (args: { db: unknown; raw: string }) => Promise<unknown>
  name?: string
  schemaName?: string
  tableNameMap?: Map<string, string>
  rollbackTransaction: (id: number | string) => Promise<void>
  sessions?: Record<string, { db?: unknown }>
  updateJobs?: (args: UpdateJobsArgs) => Promise<unknown>
}

type UpdateJobsArgs = {
  data?: Record<string, unknown>
  id?: number | string
  req?: Record<string, unknown>
  where?: Record<string, unknown>
}

/** The advisory lock's key (any constant: it names the claims of this plugin's queue). */
const CLAIM_LOCK = 7_316_540_112_087
/** A claim waits this long for the one before it, then fails (the run is tried again later). */
const CLAIM_LOCK_TIMEOUT = '10s'

/** A claimed job with no hold mark (a re-optimization, or a run that died before marking) is abandoned after this long. */
const UNHELD_MS = 30 * 60 * 1000
/** Tries after which an abandoned job is failed instead of released. */
const ABANDONED_TRIES = 4

const guarded = new WeakSet<object>()

/** The transaction id of an update made by Payload's jobs utility (whose `req` is only that). */
const ownTransaction = (req: UpdateJobsArgs['req']): number | string | undefined => {
  if (!req || Object.keys(req).length !== 1) return undefined
  const id = req.transactionID
  return typeof id === 'string' || typeof id === 'number' ? id : undefined
}

/** The queue a claim's `where` is limited to, if any (a run over all queues has none). */
const queueOf = (where: unknown): string | undefined => {
  if (!where || typeof where !== 'object') return undefined
  const { and, queue } = where as { and?: unknown[]; queue?: { equals?: unknown } }
  if (typeof queue?.equals === 'string') return queue.equals
  for (const part of and ?? []) {
    const found = queueOf(part)
    if (found !== undefined) return found
  }
  return undefined
}

/** A claim (pending jobs marked as processing, chosen by a query) that can take `queue`'s jobs. */
const claims = (args: UpdateJobsArgs, queue: string): boolean => {
  if (args.id !== undefined || args.data?.processing !== true || !args.where) return false
  const limited = queueOf(args.where)
  return limited === undefined || limited === queue
}

/** A SQL string literal. */
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`
/** A quoted SQL identifier. */
const identifier = (name: string) => `"${name.replace(/"/g, '""')}"`

/** The statement that lets go of (or, past its tries, fails) `queue`'s jobs abandoned by a run that died. */
const releaseAbandoned = (db: Adapter, queue: string): string => {
  const table = identifier(db.tableNameMap?.get('payload_jobs') ?? 'payload_jobs')
  const qualified = db.schemaName ? `${identifier(db.schemaName)}.${table}` : table
  const tries = 'coalesce(total_tried, 0) + 1'
  const failed = literal(
    JSON.stringify({
      message: `payload-image-assets: the process running this job stopped before it finished, ${ABANDONED_TRIES} times`,
    }),
  )
  return `update ${qualified} set processing = false, updated_at = now(), total_tried = ${tries},
    input = input - ${literal(HOLD_KEY)},
    has_error = ${tries} >= ${ABANDONED_TRIES},
    error = case when ${tries} >= ${ABANDONED_TRIES} then ${failed}::jsonb else error end
  where queue = ${literal(queue)} and processing and completed_at is null
    and coalesce(has_error, false) = false
    and case when input ->> ${literal(HOLD_KEY)} is not null
      then (input ->> ${literal(HOLD_KEY)})::double precision < extract(epoch from clock_timestamp()) * 1000
      else updated_at < now() - interval '${UNHELD_MS / 1000} seconds' end`
}

export const guardJobUpdates = (payload: Payload, queue: string): void => {
  const db = payload.db as unknown as Adapter
  if (guarded.has(db) || typeof db.updateJobs !== 'function') return
  guarded.add(db)
  const update = db.updateJobs.bind(db)
  const lockClaims = async (transactionID: number | string) => {
    const session = db.sessions?.[String(transactionID)]
    if (db.name !== 'postgres' || !session?.db || typeof db.execute !== 'function') return
    await db.execute({ db: session.db, raw: `set local lock_timeout = '${CLAIM_LOCK_TIMEOUT}'` })
    await db.execute({ db: session.db, raw: `select pg_advisory_xact_lock(${CLAIM_LOCK})` })
    await db.execute({ db: session.db, raw: releaseAbandoned(db, queue) })
  }
  db.updateJobs = async (args: UpdateJobsArgs) => {
    const transactionID = ownTransaction(args.req)
    try {
      if (transactionID !== undefined && claims(args, queue)) await lockClaims(transactionID)
      return await update(args)
    } catch (error) {
      if (transactionID !== undefined)
        await db.rollbackTransaction(transactionID).catch(() => undefined)
      throw error
    }
  }
}
