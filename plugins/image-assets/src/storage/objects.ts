import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'

import type { ResolvedStorage } from '../options.js'

/** One object to write: its key, bytes and the headers it is served with. */
export type StoredObject = {
  body: Buffer
  cacheControl: string
  contentDisposition: string
  contentType: string
  key: string
}

/** The HTTP status an S3 call failed with, if it got one. */
export const s3Status = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode

/** A delete that still failed after its retries; recorded so that it can be done later. */
export type FailedDelete = { error: string; key: string }

/** Every S3 call has these deadlines; the SDK retries a failed call within the caller's overall deadline. */
export const S3_CONNECT_TIMEOUT_MS = 5_000
/**
 * No byte either way for this long ends the attempt (a stalled connection, or a pooled one a NAT
 * or load balancer dropped silently), and the SDK retries on a new connection. This is the
 * socket's inactivity timeout: a slow upload that keeps sending is not cut off; the SDK arms it
 * 3 s into the request, so a stall costs 10 to 13 s. (The SDK's `requestTimeout` only logs a
 * warning unless told to throw, and counts from the start.) A body that stalls after the headers
 * of a read is not retried by the SDK; the caller's deadline ends it.
 */
export const S3_RESPONSE_TIMEOUT_MS = 10_000
export const S3_MAX_ATTEMPTS = 3
/** Undoing a failed set, and one round of deletes, never waits longer than this. */
const DELETE_DEADLINE_MS = 15_000
const DELETE_ATTEMPTS = 3

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const describeError = (error: unknown): string =>
  error instanceof Error
    ? `${error.name}: ${error.message}`.slice(0, 500)
    : String(error).slice(0, 500)

/** A response body read whole, as a Buffer over the SDK's bytes (no copy). */
const readBody = async (object: { Body?: { transformToByteArray(): Promise<Uint8Array> } }) => {
  const bytes = await object.Body!.transformToByteArray()
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** An abort signal for the time left before `deadline` (epoch ms). */
const until = (deadline: number) => AbortSignal.timeout(Math.max(1, deadline - Date.now()))

/**
 * store: writes, reads and deletes the plugin's objects in the bucket, every call under a deadline
 * (connect, first response byte, and the caller's overall deadline). Writes are all or nothing:
 * when one object of a set fails, the ones already written are deleted again before the error
 * goes on. Deletes are retried; what still fails is returned to the caller to record.
 */
export class ObjectStore {
  readonly client: S3Client

  constructor(readonly storage: ResolvedStorage) {
    this.client = new S3Client({
      credentials: storage.credentials,
      endpoint: storage.endpoint,
      forcePathStyle: storage.forcePathStyle,
      maxAttempts: S3_MAX_ATTEMPTS,
      region: storage.region,
      requestHandler: {
        connectionTimeout: S3_CONNECT_TIMEOUT_MS,
        socketTimeout: S3_RESPONSE_TIMEOUT_MS,
      },
    })
  }

  /** The deadline of one store step starting now. */
  storeDeadline(): number {
    return Date.now() + this.storage.timeoutSeconds * 1000
  }

  /**
   * Writes every object, or none: on a failure the set is deleted again and it throws. Every
   * caller has recorded the keys for clean-up first, so when the deadline has passed (the bucket
   * is not answering, and an undo would most likely wait as long again) the set is left to the
   * clean-up and it throws at once.
   */
  async putAll(objects: readonly StoredObject[], deadline = this.storeDeadline()): Promise<void> {
    const signal = until(deadline)
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
          { abortSignal: signal },
        )
      }),
    )
    const failure = results.find(
      (result): result is PromiseRejectedResult => result.status === 'rejected',
    )
    if (!failure) return
    if (Date.now() >= deadline)
      throw new ObjectWriteError(
        failure.reason,
        objects.map((o) => ({
          error: 'left to the clean-up: the bucket did not answer in time',
          key: o.key,
        })),
      )
    // A write that timed out or lost its answer may still have landed: undo the whole set (deleting
    // a key that is not there is harmless), not only the writes S3 confirmed.
    const failedDeletes = await this.deleteAll(objects.map((o) => o.key))
    throw new ObjectWriteError(failure.reason, failedDeletes)
  }

  /** Reads one object whole, within `deadline`. */
  async get(key: string, deadline = this.storeDeadline()): Promise<Buffer> {
    const signal = until(deadline)
    const object = await this.client.send(
      new GetObjectCommand({ Bucket: this.storage.bucket, Key: key }),
      { abortSignal: signal },
    )
    return readBody(object)
  }

  /** Whether an object is there (throws with `$metadata.httpStatusCode` 404 when it is not), within the store deadline. */
  async head(key: string): Promise<void> {
    await this.client.send(new HeadObjectCommand({ Bucket: this.storage.bucket, Key: key }), {
      abortSignal: until(this.storeDeadline()),
    })
  }

  /** Reads one object for the proxy route (a 304 when `ifNoneMatch` matches), within the store deadline. */
  async getObject(key: string, ifNoneMatch?: string) {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.storage.bucket, IfNoneMatch: ifNoneMatch, Key: key }),
        { abortSignal: until(this.storeDeadline()) },
      )
      const body = await readBody(object)
      return {
        body,
        cacheControl: object.CacheControl,
        contentType: object.ContentType,
        etag: object.ETag,
        notModified: false as const,
      }
    } catch (error) {
      if (s3Status(error) === 304)
        return { body: Buffer.alloc(0), etag: ifNoneMatch, notModified: true as const }
      throw error
    }
  }

  /** Deletes every key, retrying each a few times within a bounded time; returns the ones that still failed. */
  async deleteAll(
    keys: readonly string[],
    deadline = Date.now() + DELETE_DEADLINE_MS,
  ): Promise<FailedDelete[]> {
    const failed: FailedDelete[] = []
    await Promise.all(
      keys.map(async (key) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await this.client.send(
              new DeleteObjectCommand({ Bucket: this.storage.bucket, Key: key }),
              { abortSignal: until(deadline) },
            )
            return
          } catch (error) {
            if (attempt >= DELETE_ATTEMPTS || Date.now() >= deadline) {
              failed.push({ error: describeError(error), key })
              return
            }
            await wait(Math.min(100 * 4 ** (attempt - 1), Math.max(0, deadline - Date.now())))
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
    super(`writing objects failed: ${describeError(cause)}`)
    this.name = 'ObjectWriteError'
  }
}
