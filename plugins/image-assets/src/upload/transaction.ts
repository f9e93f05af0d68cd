import type { PayloadRequest } from 'payload'

type Adapter = {
  beginTransaction: () => Promise<null | number | string>
  execute?: (args: {
    db: unknown
    raw: string
  }) => Promise<{ rows?: Array<Record<string, unknown>> }>
  name?: string
  rollbackTransaction: (id: number | string) => Promise<void>
  sessions?: Record<string, { db?: unknown }>
}

/** Whether the transaction may be let go without changing what it means to whoever holds it. */
const FREE = `select txid_current_if_assigned() is null
  and current_setting('transaction_isolation') = 'read committed'
  and not exists (select 1 from pg_locks where pid = pg_backend_pid() and locktype = 'advisory')
  as free`

/**
 * Runs `work` (an image's processing and storing, for a file that reached the operation itself:
 * the Local API's `file`, a crop through GraphQL) without holding the operation's database
 * connection.
 *
 * Payload opens an operation's transaction before its `beforeOperation` hooks, so that work would
 * hold a pooled connection through decoding, encoding and every S3 write, and the plugin's own
 * statements outside the transaction (the clean-up row that must outlive a rollback) need a second
 * one: as many such operations at once as the pool has connections (an import script's
 * `Promise.all`) would each hold one and wait for another for ever.
 *
 * So when the transaction holds nothing yet (PostgreSQL: nothing written or locked, read committed,
 * as an operation's own is when its hooks start), it is rolled back for the work, and a new one is
 * begun after it under the same id: whoever holds that id (Payload's operation, or a caller that
 * began the transaction and passed it in) commits or rolls back the new one. A transaction that
 * holds something is kept, and so is any on another database: there the work runs inside it.
 */
export const outsideTransaction = async <T>(
  req: PayloadRequest,
  work: () => Promise<T>,
): Promise<T> => {
  const id = req.transactionID
  const db = req.payload.db as unknown as Adapter
  const key = typeof id === 'number' || typeof id === 'string' ? String(id) : undefined
  const session = key === undefined ? undefined : db.sessions?.[key]
  if (!session?.db || !db.sessions || db.name !== 'postgres' || typeof db.execute !== 'function')
    return work()
  const result = await db.execute({ db: session.db, raw: FREE })
  if (result.rows?.[0]?.free !== true) return work()
  const sessions = db.sessions
  await db.rollbackTransaction(id as number | string)
  const beginAgain = async () => {
    const next = await db.beginTransaction()
    if (next === null || next === undefined || !sessions[String(next)]) return
    sessions[key!] = sessions[String(next)]
    delete sessions[String(next)]
  }
  let value: T
  try {
    value = await work()
  } catch (error) {
    // The holder still ends its transaction (a rollback, as the operation fails).
    await beginAgain().catch(() => undefined)
    throw error
  }
  // Without a transaction the operation's statements would run on their own: it stops instead.
  await beginAgain()
  return value
}
