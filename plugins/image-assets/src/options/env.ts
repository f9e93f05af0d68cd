import type { RemoteURLOptions, SignedURLOptions, StorageOptions } from './types.js'

/** The environment the options fall back to (`process.env` unless a test passes its own). */
export type Env = Record<string, string | undefined>

/** An integer from an environment variable; anything else is passed on for the validator to name. */
export const envInteger = (value: string | undefined): number | undefined =>
  value === undefined || value === ''
    ? undefined
    : /^-?\d+$/.test(value)
      ? Number(value)
      : (value as unknown as number)

/** A switch from an environment variable: `1`, `true` or `yes` (any case) is on, anything else off. */
export const envFlag = (value: string | undefined): boolean => /^(1|true|yes)$/i.test(value ?? '')

/** `delivery` from MEDIA_DELIVERY (unset or empty: none). Validated by the caller. */
export const deliveryFromEnv = (env: Env): string | undefined => env.MEDIA_DELIVERY || undefined

/** `storage` from the S3_* and MEDIA_BASE_URL variables, each field as read (validated by the caller). */
export const storageFromEnv = (env: Env): StorageOptions & { forcePathStyle: boolean } => ({
  accessKeyId: env.S3_ACCESS_KEY_ID,
  bucket: env.S3_BUCKET,
  endpoint: env.S3_ENDPOINT,
  forcePathStyle: envFlag(env.S3_FORCE_PATH_STYLE),
  mediaBaseURL: env.MEDIA_BASE_URL,
  region: env.S3_REGION,
  secretAccessKey: env.S3_SECRET_ACCESS_KEY,
  timeoutSeconds: envInteger(env.S3_TIMEOUT_SECONDS),
})

/** `signedURLs` from MEDIA_SIGNED_URL_EXPIRES_IN and MEDIA_SIGNED_URL_WINDOW. */
export const signedURLsFromEnv = (env: Env): SignedURLOptions => ({
  expiresInSeconds: envInteger(env.MEDIA_SIGNED_URL_EXPIRES_IN),
  windowSeconds: envInteger(env.MEDIA_SIGNED_URL_WINDOW),
})

/** `processing` from the IMAGE_PROCESSING_* variables. */
export const processingFromEnv = (
  env: Env,
): { concurrency?: number; maxWaitSeconds?: number; queueDepth?: number; runJobs?: boolean } => ({
  concurrency: envInteger(env.IMAGE_PROCESSING_CONCURRENCY),
  maxWaitSeconds: envInteger(env.IMAGE_PROCESSING_MAX_WAIT_SECONDS),
  queueDepth: envInteger(env.IMAGE_PROCESSING_QUEUE_DEPTH),
  runJobs:
    env.IMAGE_RUN_JOBS === undefined || env.IMAGE_RUN_JOBS === ''
      ? undefined
      : envFlag(env.IMAGE_RUN_JOBS),
})

/** `cleanup` from IMAGE_CLEANUP_INTERVAL_SECONDS. */
export const cleanupFromEnv = (env: Env): { intervalSeconds?: number } => ({
  intervalSeconds: envInteger(env.IMAGE_CLEANUP_INTERVAL_SECONDS),
})

/** `remoteURLs` from the environment: IMAGE_REMOTE_URL_HOSTS (comma-separated) switches it on. */
export const remoteURLsFromEnv = (env: Env): RemoteURLOptions | undefined => {
  const hosts = (env.IMAGE_REMOTE_URL_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
  if (hosts.length === 0) return undefined
  return { allowedHosts: hosts, allowPrivateAddresses: envFlag(env.IMAGE_REMOTE_URL_ALLOW_PRIVATE) }
}

/**
 * `payload` commands that read only the config's shape (types, the import map, a migration file,
 * the database schema): they touch no bucket, so they run without S3 settings.
 */
const SHAPE_ONLY_COMMANDS = new Set([
  'generate:db-schema',
  'generate:importmap',
  'generate:types',
  'migrate:create',
])

/** Whether this process is one of those `payload` commands (`npx payload generate:types`, ...). */
export const isShapeOnlyCommand = (argv: readonly string[] = process.argv): boolean => {
  const script = (argv[1] ?? '').replaceAll('\\', '/')
  if (!/(^|\/)(\.bin\/payload|payload\/bin\.js|payload\/dist\/bin\/index\.js)$/.test(script))
    return false
  const command = argv.slice(2).find((arg) => !arg.startsWith('-'))
  return command !== undefined && SHAPE_ONLY_COMMANDS.has(command)
}
