import type { Payload } from 'payload'

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
 * Only updates made through that utility are touched: their `req` is `{ transactionID }` and
 * nothing else. Every other write, and the outcome of every update that succeeds, is unchanged.
 */
type Adapter = {
  execute?: (args: { db: unknown; raw: string }) => Promise<unknown>
  name?: string
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
