import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'

import type { ResolvedStorage } from '../options.js'

/** One object to write: its key, bytes and the headers it is served with. */
export type StoredObject = {
  body: Buffer
  cacheControl: string
  contentDisposition: string
  contentType: string
  key: string
}

/** A delete that still failed after its retries; recorded so that it can be done later. */
export type FailedDelete = { error: string; key: string }

const DELETE_ATTEMPTS = 3

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error).slice(0, 500)

/**
 * store: writes and deletes the plugin's objects in the bucket. Writes are all or nothing: when
 * one object of a set fails, the ones already written are deleted again before the error goes on.
 * Deletes are retried; what still fails is returned to the caller to record.
 */
export class ObjectStore {
  readonly client: S3Client

  constructor(readonly storage: ResolvedStorage) {
    this.client = new S3Client({
      credentials: storage.credentials,
      endpoint: storage.endpoint,
      forcePathStyle: storage.forcePathStyle,
      region: storage.region,
    })
  }

  /** Writes every object, or none: on the first failure the written ones are deleted and it throws. */
  async putAll(objects: readonly StoredObject[]): Promise<{ failedDeletes: FailedDelete[] }> {
    const written: string[] = []
    const results = await Promise.allSettled(
      objects.map(async (object) => {
        await this.client.send(
          new PutObjectCommand({
            Body: object.body,
            Bucket: this.storage.bucket,
            CacheControl: object.cacheControl,
            ContentDisposition: object.contentDisposition,
            ContentLength: object.body.length,
            ContentType: object.contentType,
            Key: object.key,
          }),
        )
        written.push(object.key)
      }),
    )
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (!failure) return { failedDeletes: [] }
    const failedDeletes = await this.deleteAll(written)
    throw new ObjectWriteError(failure.reason, failedDeletes)
  }

  /** Deletes every key, retrying each a few times; returns the ones that still failed. */
  async deleteAll(keys: readonly string[]): Promise<FailedDelete[]> {
    const failed: FailedDelete[] = []
    await Promise.all(
      keys.map(async (key) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await this.client.send(new DeleteObjectCommand({ Bucket: this.storage.bucket, Key: key }))
            return
          } catch (error) {
            if (attempt >= DELETE_ATTEMPTS) {
              failed.push({ error: describe(error), key })
              return
            }
            await wait(100 * 4 ** (attempt - 1))
          }
        }
      }),
    )
    return failed
  }
}

/** A set of writes failed; `failedDeletes` are objects of the set that could not be removed again. */
export class ObjectWriteError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly failedDeletes: FailedDelete[],
  ) {
    super(`writing objects failed: ${describe(cause)}`)
    this.name = 'ObjectWriteError'
  }
}
