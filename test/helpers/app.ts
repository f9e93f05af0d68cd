/**
 * Boots the reference app's Payload config against a fresh database and bucket on the run's real
 * PostgreSQL and S3 servers, and serves its REST and GraphQL API over HTTP (see serve.ts).
 */
import { randomBytes } from 'node:crypto'

import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutBucketCorsCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import pg from 'pg'
import { getPayload, type Payload, type SanitizedConfig } from 'payload'
import { expect, inject } from 'vitest'

import {
  BROWSER_UPLOAD_CORS,
  dropDatabase,
  ensureDatabase,
  S3RVER_CREDENTIALS,
} from '../../src/dev/services'
import { serveAPI } from './serve'

export type TestApp = {
  baseURL: string
  bucket: string
  /** Keys of every object in the bucket (under `prefix` when given). */
  listKeys: (prefix?: string) => Promise<string[]>
  payload: Payload
  /** Paths of every request the app server answered, in order. */
  requests: string[]
  s3: S3Client
  s3Endpoint: string
  /** Runs SQL on the app's own database. */
  sql: <T extends Record<string, unknown>>(text: string, values?: unknown[]) => Promise<T[]>
  stop: () => Promise<void>
  token: string
}

export const TEST_USER = { email: 'editor@example.com', password: 'editor-password' }

export type TestAppOptions = {
  /** Lets the app reach its database another way (a fault-injecting proxy); the test's own SQL stays direct. */
  routeDatabase?: (direct: URL) => URL
  /** A private bucket: the S3 server refuses unsigned requests for it (Block Public Access). */
  privateBucket?: boolean
}

export const startTestApp = async (
  env: Record<string, string | undefined> = {},
  options: TestAppOptions = {},
): Promise<TestApp> => {
  const adminURI = inject('pgAdminURI')
  const s3Endpoint = inject('s3Endpoint')
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
  const database = `pia_test_${id}`
  await ensureDatabase(adminURI, database)
  const databaseURI = new URL(adminURI)
  databaseURI.pathname = `/${database}`

  const bucket = `${options.privateBucket ? 'private' : 'test'}-${id}`
  const s3 = new S3Client({
    credentials: S3RVER_CREDENTIALS,
    endpoint: s3Endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
  })
  await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  // Direct-to-bucket uploads from the admin's browser need the bucket's CORS rule, as in production.
  await s3.send(
    new PutBucketCorsCommand({
      Bucket: bucket,
      CORSConfiguration: { CORSRules: [BROWSER_UPLOAD_CORS] },
    }),
  )

  delete process.env.MEDIA_BASE_URL
  Object.assign(process.env, {
    DATABASE_URI: (options.routeDatabase?.(new URL(databaseURI)) ?? databaseURI).toString(),
    PAYLOAD_SECRET: `test-secret-${id}`,
    S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    S3_BUCKET: bucket,
    S3_ENDPOINT: s3Endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_REGION: 'us-east-1',
    S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    // Background image jobs (AVIF versions) run only where a test asks for them
    // (`IMAGE_RUN_JOBS: 'true'`), so that the others see the bucket change only when they act.
    IMAGE_RUN_JOBS: 'false',
    // The reference app requires alt text for product images and media; the tests of other
    // features upload without it (test/int/framing.test.ts switches it on).
    IMAGE_REQUIRE_ALT: 'false',
    ...env,
  })
  const config: SanitizedConfig = await (await import('../../payload.config')).default
  const payload = await getPayload({ config })
  const { baseURL, requests, server } = await serveAPI(config)

  await payload.create({ collection: 'users', data: TEST_USER })
  const login = await fetch(`${baseURL}/api/users/login`, {
    body: JSON.stringify(TEST_USER),
    headers: { 'Content-Type': 'application/json' },
    method: 'POST',
  })
  const { token } = (await login.json()) as { token: string }

  const db = new pg.Pool({ connectionString: databaseURI.toString(), max: 2 })

  return {
    baseURL,
    bucket,
    listKeys: async (prefix) => {
      const keys: string[] = []
      let ContinuationToken: string | undefined
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, ContinuationToken, Prefix: prefix }),
        )
        keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''))
        ContinuationToken = page.NextContinuationToken
      } while (ContinuationToken)
      return keys
    },
    payload,
    requests,
    s3,
    s3Endpoint,
    sql: async (text, values) => (await db.query(text, values)).rows,
    stop: async () => {
      const closed = new Promise((resolve) => server.close(resolve))
      server.closeAllConnections()
      await closed
      // pool.end() resolves before its connections have closed, and the database is dropped
      // right after: a connection still closing then gets PostgreSQL's termination as an error.
      db.on('error', () => undefined)
      await db.end()
      // Payload's destroy() leaves the adapter's pool open (and pool.end() waits on it); the
      // database is dropped with its connections, so their termination is expected here. The
      // listener goes on first: a connection that destroy() is closing can be terminated too.
      ;(payload.db as unknown as { pool?: pg.Pool }).pool?.on('error', () => undefined)
      await payload.destroy()
      await dropDatabase(adminURI, database).catch(() => undefined)
    },
    token,
  }
}

/** POSTs a multipart upload to `/api/<collection>` the way a browser or API client does. */
export const uploadREST = async (
  app: TestApp,
  collection: string,
  file: { data: Buffer; name: string; type?: string },
  data: Record<string, unknown> = {},
): Promise<{ body: any; headers: Headers; status: number }> => {
  const form = new FormData()
  form.append(
    'file',
    new Blob([new Uint8Array(file.data)], { type: file.type ?? 'application/octet-stream' }),
    file.name,
  )
  form.append('_payload', JSON.stringify(data))
  const response = await fetch(`${app.baseURL}/api/${collection}`, {
    body: form,
    headers: { Authorization: `JWT ${app.token}` },
    method: 'POST',
  })
  return { body: await response.json(), headers: response.headers, status: response.status }
}

/**
 * The multipart body of a write by reference to a staged direct upload, as the admin's form sends
 * it (Payload's client-upload form: `file` is a JSON reference, the fields in `_payload`).
 */
export const stagedUploadForm = (
  key: string,
  file: { filename: string; size: number },
  fields: Record<string, unknown>,
): FormData => {
  const form = new FormData()
  form.append(
    'file',
    JSON.stringify({ clientUploadContext: { key }, mimeType: 'image/jpeg', ...file }),
  )
  form.append('_payload', JSON.stringify(fields))
  return form
}

/**
 * A direct upload staged as the admin stages it: a presigned URL from the collection's
 * `upload-url` endpoint (both answers must be 200), then the bytes PUT to it. Returns the staged key.
 */
export const stageDirectUpload = async (
  baseURL: string,
  collection: string,
  headers: Record<string, string>,
  file: { bytes: Buffer; filename: string; size?: number },
): Promise<string> => {
  const answer = await fetch(`${baseURL}/api/${collection}/upload-url`, {
    body: JSON.stringify({
      filename: file.filename,
      mimeType: 'image/jpeg',
      size: file.size ?? file.bytes.length,
    }),
    headers: { ...headers, 'Content-Type': 'application/json' },
    method: 'POST',
  })
  const target = (await answer.json()) as {
    headers: Record<string, string>
    key: string
    method: string
    url: string
  }
  expect(answer.status, JSON.stringify(target)).toBe(200)
  const put = await fetch(target.url, {
    body: new Uint8Array(file.bytes),
    headers: target.headers,
    method: target.method,
  })
  expect(put.status).toBe(200)
  return target.key
}
