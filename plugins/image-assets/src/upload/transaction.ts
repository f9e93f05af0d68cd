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
 * Transactions let go of for image work, by key: how many operations are working outside each, and
 * whether it was free to let go (decided once, by the first; the others wait for that decision).
 */
type Released = {
  /** Settled once the transaction is begun again (or will not be): every user waits for it. */
  again: Promise<void>
  free: Promise<boolean>
  settle: () => void
  users: number
}
const released = new Map<string, Released>()

/**
 * Runs `work` (an image's processing and storing, for a file that reached the operation itself:
 * the Local API's `file`, a crop through GraphQL) without holding the operation's database
 * connection. `work` is told whether it holds none (`true`: no transaction, or it was let go).
 *
 * Payload opens an operation's transaction before its `beforeOperation` hooks, so that work would
 * hold a pooled connection through decoding, encoding and every S3 write, and the plugin's own
 * statements outside the transaction (the clean-up row that must outlive a rollback) need a second
 * one: as many such operations at once as the pool has connections (an import script's
 * `Promise.all`) would each hold one and wait for another for ever.
 *
 * So when the transaction holds nothing yet (PostgreSQL: nothing written or locked, read committed,
 * as an operation's own is when its hooks start), it is rolled back for the work, and once the last
 * operation working outside it is done a new one is begun under the same id: whoever holds that id
 * (Payload's operation, or a caller that began the transaction and passed it in) commits or rolls
 * back the new one. Not when the holder has ended it meanwhile (a sibling operation on the same
 * `req` failed). A transaction that holds something is kept, and so is any on another database:
 * there the work runs inside it. (Other statements on the same `req` while it is let go run on
 * their own: do not run other writes in parallel with an image upload on one `req`.)
 */
export const outsideTransaction = async <T>(
  req: PayloadRequest,
  work: (holdsNoConnection: boolean) => Promise<T>,
): Promise<T> => {
  const id = req.transactionID
  if (id === undefined || id === null) return work(true)
  const db = req.payload.db as unknown as Adapter
  const key = typeof id === 'number' || typeof id === 'string' ? String(id) : undefined
  const sessions = db.sessions
  const session = key === undefined ? undefined : sessions?.[key]
  let entry = key === undefined ? undefined : released.get(key)
  if (!entry) {
    if (!session?.db || !sessions || db.name !== 'postgres' || typeof db.execute !== 'function')
      return work(false)
    const decide = async () => {
      const result = await db.execute!({ db: session.db, raw: FREE })
      if (result.rows?.[0]?.free !== true) return false
      await db.rollbackTransaction(id as number | string)
      return true
    }
    let settle = () => {}
    const again = new Promise<void>((resolve) => {
      settle = resolve
    })
    entry = { again, free: decide(), settle, users: 0 }
    released.set(key!, entry)
  }
  entry.users++
  const leave = async (begin: boolean) => {
    const own = entry
    own.users--
    // The others working outside it go on once it is begun again, in it, like this one.
    if (own.users > 0) return own.again
    released.delete(key!)
    try {
      // Payload commits (or, when a later step fails, rolls back) what `req.transactionID` names.
      if (!begin || req.transactionID !== id || !sessions) return
      const next = await db.beginTransaction()
      if (next === null || next === undefined || !sessions[String(next)]) return
      sessions[key!] = sessions[String(next)]
      delete sessions[String(next)]
    } finally {
      own.settle()
    }
  }
  let free: boolean
  try {
    free = await entry.free
  } catch (error) {
    await leave(false)
    throw error
  }
  if (!free) {
    await leave(false)
    return work(false)
  }
  let value: T
  try {
    value = await work(true)
  } catch (error) {
    // The holder still ends its transaction (a rollback, as the operation fails).
    await leave(true).catch(() => undefined)
    throw error
  }
  // Without a transaction the operation's statements would run on their own: it stops instead.
  await leave(true)
  return value
}
