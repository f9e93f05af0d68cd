import { boolean, fail, integer, object, optionalString, url } from './check.js'
import { type Env, isShapeOnlyCommand, storageFromEnv } from './env.js'
import type { ResolvedStorage, StorageOptions } from './types.js'

const STORAGE_KEYS = {
  accessKeyId: true,
  bucket: true,
  endpoint: true,
  forcePathStyle: true,
  mediaBaseURL: true,
  region: true,
  secretAccessKey: true,
  timeoutSeconds: true,
} as const

/**
 * The bucket settings: each option, else its environment variable, else its default. The bucket is
 * required, except by the `payload` commands that never touch it (see `isShapeOnlyCommand`).
 */
export const resolveStorage = (
  options: StorageOptions | undefined,
  env: Env = process.env,
  argv: readonly string[] = process.argv,
): ResolvedStorage => {
  const input = object<StorageOptions>('storage', options, STORAGE_KEYS)
  const fromEnv = storageFromEnv(env)
  const bucket =
    optionalString('storage.bucket', input.bucket ?? fromEnv.bucket) ??
    (isShapeOnlyCommand(argv) ? 'no-bucket-configured' : undefined)
  if (!bucket)
    fail('storage.bucket (or the S3_BUCKET environment variable)', 'a bucket name', bucket)
  const accessKeyId = optionalString(
    'storage.accessKeyId',
    input.accessKeyId ?? fromEnv.accessKeyId,
  )
  const secretAccessKey = optionalString(
    'storage.secretAccessKey',
    input.secretAccessKey ?? fromEnv.secretAccessKey,
  )
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    fail(
      'storage.secretAccessKey (S3_SECRET_ACCESS_KEY)',
      'both or neither of the access key id and secret',
      'only one',
    )
  }
  const forcePathStyle = boolean(
    'storage.forcePathStyle',
    input.forcePathStyle,
    fromEnv.forcePathStyle,
  )
  return {
    bucket: bucket as string,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    endpoint: url(
      'storage.endpoint (S3_ENDPOINT)',
      optionalString('storage.endpoint', input.endpoint ?? fromEnv.endpoint),
    ),
    forcePathStyle,
    mediaBaseURL: url(
      'storage.mediaBaseURL (MEDIA_BASE_URL)',
      optionalString('storage.mediaBaseURL', input.mediaBaseURL ?? fromEnv.mediaBaseURL),
    ),
    region: optionalString('storage.region', input.region ?? fromEnv.region) ?? 'us-east-1',
    timeoutSeconds: integer(
      'storage.timeoutSeconds (S3_TIMEOUT_SECONDS)',
      input.timeoutSeconds ?? fromEnv.timeoutSeconds ?? 30,
      1,
      600,
    ),
  }
}
