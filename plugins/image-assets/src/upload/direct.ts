import { randomUUID } from 'node:crypto'

import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { type Endpoint, headersWithCors, type Payload, type PayloadRequest } from 'payload'

import { CLEANUP_SLUG } from '../collections/cleanup.js'
import { uploadError } from '../errors.js'
import { FORMAT_BY_EXTENSION, FORMATS } from '../image/formats.js'
import { extensionOf } from '../image/guard.js'
import { assertAllowedName, assertAllowedSize } from '../image/pipeline.js'
import type { ResolvedCollection } from '../options.js'
import { iso } from '../storage/cleanup.js'
import { type ObjectStore, s3Status } from '../storage/objects.js'
import { authorize } from './authorize.js'

/**
 * Direct-to-bucket uploads: the browser (or any client following the protocol) PUTs the original
 * straight to a private staging prefix with a presigned URL, then creates or updates the document
 * by reference to the staged object, so big photos never cross the app's request-size limit.
 *
 * 1. `POST /api/<slug>/upload-url` `{ filename, size, mimeType, id? }`: authorized with the
 *    collection's access (create, or update of `id`) and checked by name and size like a multipart
 *    upload; answers a presigned PUT bound to one new key `incoming/<slug>/<uuid>`, that length and
 *    type, valid for a few minutes. The key is recorded for clean-up first, due once the URL has
 *    expired and a claim would have finished: a staged object nobody claims is deleted then.
 * 2. The client PUTs the bytes to that URL.
 * 3. `POST /api/<slug>` (or `PATCH /api/<slug>/:id`) as multipart with the field `file` set to
 *    `{"filename","mimeType","size","clientUploadContext":{"key"}}` (Payload's client-upload
 *    form, which the admin sends): Payload asks the collection's file handler for the staged bytes
 *    (`stagedObjectResponse`), and the upload path runs as for any file: the bytes decide, never
 *    the client's size or type. The staged object is deleted as soon as it has been read.
 */

/** Where staged uploads wait: private, outside every collection prefix. */
export const STAGING_PREFIX = 'incoming'
/** How long a presigned PUT is valid. */
export const STAGED_URL_SECONDS = 600
/** After the URL expires, how long a claim may take before the staged object is deleted. */
const STAGED_GRACE_MS = 15 * 60 * 1000

const STAGED_KEY =
  /^incoming\/([a-z0-9][a-z0-9-_]*)\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The staged key in a client-upload reference, if it is one of this collection's. */
export const stagedKeyOf = (slug: string, context: unknown): string | undefined => {
  const key = (context as { key?: unknown } | null | undefined)?.key
  if (typeof key !== 'string') return undefined
  const match = STAGED_KEY.exec(key)
  return match?.[1] === slug ? key : undefined
}

/** The presign endpoint of one collection; see the module comment. */
export const presignEndpoint = (collection: ResolvedCollection, store: ObjectStore): Endpoint => ({
  handler: async (req) => {
    const body = ((await req.json?.().catch(() => undefined)) ?? {}) as Record<string, unknown>
    const id = typeof body.id === 'string' || typeof body.id === 'number' ? body.id : undefined
    await authorize(req, collection.slug, id === undefined ? 'create' : 'update', id)
    const filename = typeof body.filename === 'string' ? body.filename : ''
    assertAllowedName(filename, collection)
    const size = body.size
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1)
      throw uploadError('SIZE_INVALID', collection.slug, {
        label: collection.label,
        received: size,
      })
    assertAllowedSize(size, collection)
    // The type the bucket will store: the extension's, whatever the client says.
    const format = FORMAT_BY_EXTENSION[extensionOf(filename) as keyof typeof FORMAT_BY_EXTENSION]
    const contentType = FORMATS[format].mimeType
    const key = `${STAGING_PREFIX}/${collection.slug}/${randomUUID()}`
    await recordStaged(req.payload, collection.slug, key)
    const url = await getSignedUrl(
      store.client,
      new PutObjectCommand({
        Bucket: store.storage.bucket,
        ContentLength: size,
        ContentType: contentType,
        Key: key,
      }),
      {
        expiresIn: STAGED_URL_SECONDS,
        signableHeaders: new Set(['content-length', 'content-type']),
      },
    )
    return Response.json(
      {
        expiresInSeconds: STAGED_URL_SECONDS,
        headers: { 'Content-Type': contentType },
        key,
        method: 'PUT',
        url,
      },
      { headers: headersWithCors({ headers: new Headers(), req }), status: 200 },
    )
  },
  method: 'post',
  path: '/upload-url',
})

/** The staged key recorded for clean-up, due once no claim can still be running. */
const recordStaged = async (payload: Payload, collection: string, key: string) =>
  payload.db.create({
    collection: CLEANUP_SLUG,
    data: {
      attempts: 0,
      collection,
      due: iso(Date.now() + STAGED_URL_SECONDS * 1000 + STAGED_GRACE_MS),
      keys: [key],
      reason: 'upload',
    },
  })

/**
 * The staged bytes for Payload's client-upload step, at most `maxBytes + 1` of them (one more
 * than allowed is enough for the size check to refuse the file).
 */
export const stagedObjectResponse = async (
  store: ObjectStore,
  key: string,
  maxBytes: number,
): Promise<Response> => {
  const object = await store.client.send(
    new GetObjectCommand({ Bucket: store.storage.bucket, Key: key, Range: `bytes=0-${maxBytes}` }),
    { abortSignal: AbortSignal.timeout(store.storage.timeoutSeconds * 1000) },
  )
  // The SDK's bytes as they are (over a plain ArrayBuffer), not copied.
  const body = (await object.Body!.transformToByteArray()) as Uint8Array<ArrayBuffer>
  return new Response(body, {
    headers: { 'Content-Length': String(body.length), 'Content-Type': 'application/octet-stream' },
    status: 200,
  })
}

/** Where the file route notes why it could not read a staged object, for the upload path. */
const STAGED_READ = 'payloadImageAssetsStagedRead'

/** The file route's answer when the staged object could not be read: noted on the request, 404 to Payload. */
export const stagedReadFailed = (req: PayloadRequest, error: unknown): Response => {
  const missing = s3Status(error) === 404
  req.context = { ...req.context, [STAGED_READ]: missing ? 'missing' : 'unavailable' }
  if (!missing)
    req.payload.logger.warn({
      err: error,
      msg: 'payload-image-assets: reading a staged upload failed',
    })
  return new Response('Not Found', { status: 404 })
}

/** The refusal for a claim whose staged object the file route could not read, if it could not. */
export const stagedReadError = (req: PayloadRequest, collection: ResolvedCollection) => {
  const failed = req.context?.[STAGED_READ]
  if (!failed) return undefined
  return failed === 'missing'
    ? uploadError('STAGED_UPLOAD_MISSING', collection.slug, { label: collection.label })
    : uploadError('STORAGE_FAILED', collection.slug, { label: collection.label, reading: 'staged' })
}

/** Whether the request named a staged upload that is no longer in the bucket (used, expired or never uploaded). */
export const stagedUploadGone = (req: PayloadRequest): boolean =>
  req.context?.[STAGED_READ] === 'missing'

/** Deletes a staged object once it has been read (its clean-up row deletes it later otherwise). */
export const deleteStaged = async (req: PayloadRequest, store: ObjectStore, key: string) => {
  if ((await store.deleteAll([key])).length > 0)
    req.payload.logger.warn(
      `payload-image-assets: the staged upload ${key} could not be deleted yet; the clean-up will`,
    )
}
