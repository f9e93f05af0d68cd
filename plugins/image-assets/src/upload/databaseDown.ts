import type { CollectionAfterErrorHook } from 'payload'

import { messages } from '../errors.js'
import { isWriteConflict } from '../storage/cleanup.js'
import { retryLater } from './responseHeaders.js'

/** Connection-level failures of the database driver (node-postgres and SQLite/Mongo alike). */
const CONNECTION_FAILURE =
  /connection terminated|connection error|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|cannot begin transaction|server closed the connection|the database system is (starting up|shutting down)|too many clients|timeout exceeded when trying to connect/i

export const isConnectionFailure = (error: unknown, depth = 0): boolean => {
  if (!error || typeof error !== 'object' || depth > 5) return false
  const { cause, code, message } = error as { cause?: unknown; code?: unknown; message?: unknown }
  if (
    typeof code === 'string' &&
    (code.startsWith('08') ||
      code.startsWith('57P') ||
      /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT)$/.test(code))
  )
    return true
  if (typeof message === 'string' && CONNECTION_FAILURE.test(message)) return true
  return isConnectionFailure(cause, depth + 1)
}

/**
 * A PostgreSQL SQLSTATE: a two-character class (digits, or HV, XX, P0, F0) and three more. System
 * errors (EPERM, EBUSY: five letters too) carry a `syscall` and are not the database's answer.
 */
const SQLSTATE = /^(?:[0-9]{2}|HV|XX|P0|F0)[0-9A-Z]{3}$/

/** A query the database refused (Drizzle wraps node-postgres errors, which carry a SQLSTATE code). */
const isQueryFailure = (error: unknown, depth = 0): boolean => {
  if (!error || typeof error !== 'object' || depth > 5) return false
  const { cause, code, name, syscall } = error as {
    cause?: unknown
    code?: unknown
    name?: unknown
    syscall?: unknown
  }
  if (
    name === 'DrizzleQueryError' ||
    (typeof code === 'string' && SQLSTATE.test(code) && syscall === undefined)
  )
    return true
  return isQueryFailure(cause, depth + 1)
}

/**
 * afterError: a request that failed because the database could not be reached answers 503 with a
 * clear message and `Retry-After`; one whose write the database refused answers 500 with a clear
 * message instead of "Something went wrong.". Neither shows the query or the driver's error.
 * Other errors are left as they are.
 */
export const databaseDownHook: CollectionAfterErrorHook = ({ collection, error, req }) => {
  const retryAfter = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds
  if (typeof retryAfter === 'number') retryLater(req, retryAfter)
  const status = (error as { status?: number }).status ?? 500
  if (status !== 500) return
  // A deadlock or serialization failure with a concurrent write: the other write won.
  if (isWriteConflict(error)) {
    const label =
      typeof collection.labels?.plural === 'string' ? collection.labels.plural : collection.slug
    return {
      response: { errors: [{ message: messages.upload('UPLOAD_CONFLICT', { label }) }] },
      status: 409,
    }
  }
  if (isConnectionFailure(error)) {
    retryLater(req, 5)
    return { response: { errors: [{ message: messages.databaseDown() }] }, status: 503 }
  }
  if (isQueryFailure(error))
    return { response: { errors: [{ message: messages.databaseRefused() }] }, status: 500 }
}
