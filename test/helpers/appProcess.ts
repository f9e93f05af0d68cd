/**
 * The reference app in a process of its own, for tests that kill it (crash.test.ts): boots
 * payload.config.ts with getPayload against the DATABASE_URI, PAYLOAD_SECRET and S3_* of its
 * environment, serves its REST and GraphQL API on 127.0.0.1 (serve.ts), then prints one line
 * `APP_READY {"baseURL":...,"pid":...}` on stdout.
 *
 * Run: node --import tsx test/helpers/appProcess.ts
 *
 * It exits when its stdin closes, so that a test runner that dies without killing it does not
 * leave it behind (the test keeps the pipe open and kills it with SIGKILL).
 */
import { getPayload, type SanitizedConfig } from 'payload'

import { serveAPI } from './serve'

const READY_MARKER = 'APP_READY '

process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()

const config: SanitizedConfig = await (await import('../../payload.config')).default
await getPayload({ config })
const { baseURL } = await serveAPI(config)
process.stdout.write(`${READY_MARKER}${JSON.stringify({ baseURL, pid: process.pid })}\n`)
