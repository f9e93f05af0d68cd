import type { CollectionAfterErrorHook } from 'payload'

import { messages } from '../errors.js'
import { retryLater } from './retryAfter.js'

/** Connection-level failures of the database driver (node-postgres and SQLite/Mongo alike). */
const CONNECTION_FAILURE = /connection terminated|connection error|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|cannot begin transaction|server closed the connection|the database system is (starting up|shutting down)|too many clients/i

const isConnectionFailure = (error: unknown, depth = 0): boolean => {
  if (!error || typeof error !== 'object' || depth > 5) return false
  const { cause, code, message } = error as { cause?: unknown; code?: unknown; message?: unknown }
  if (typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P') || /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT)$/.test(code))) return true
  if (typeof message === 'string' && CONNECTION_FAILURE.test(message)) return true
  return isConnectionFailure(cause, depth + 1)
}

/**
 * afterError: a request that failed because the database could not be reached answers 503 with a
 * clear message and `Retry-After`, instead of a bare 500. Other errors are left as they are.
 */
export const databaseDownHook: CollectionAfterErrorHook = ({ error, req }) => {
  const status = (error as { status?: number }).status ?? 500
  if (status !== 500 || !isConnectionFailure(error)) return
  retryLater(req, 5)
  const message = messages.databaseDown()
  return { response: { errors: [{ message }] }, status: 503 }
}
