import type { CollectionBeforeOperationHook, PayloadRequest } from 'payload'

import { uploadErrors } from '../errors.js'
import type { WorkLimiter } from '../image/limiter.js'
import { assertAllowedName, assertAllowedSize, processImage } from '../image/pipeline.js'
import type { ResolvedCollection, ResolvedRemoteURLs } from '../options.js'
import { fetchRemoteImage, RemoteFetchError } from '../remote/fetch.js'
import { discardUpload, type PendingImage, readUpload, setPending } from './pending.js'
import { retryLater } from './retryAfter.js'

/** A 1 x 1 PNG: what Payload's own upload step sees instead of fetching a URL. */
const STAND_IN_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64')
const standInFile = (): NonNullable<PayloadRequest['file']> => ({ data: STAND_IN_PNG, mimetype: 'image/png', name: 'stand-in.png', size: STAND_IN_PNG.length })

type OperationArgs = { data?: Record<string, unknown>; draft?: boolean; duplicateFromID?: unknown }

/** Creation from a URL (`url` in the body): refused unless switched on, then fetched under the allowlist. */
const fetchFromURL = async (url: string, collection: ResolvedCollection, remote: false | ResolvedRemoteURLs) => {
  if (!remote) throw uploadErrors.remoteURLDisabled(collection.slug, collection.label, collection.allowedExtensions)
  try {
    return await fetchRemoteImage(url, remote, collection.limits.maxBytes)
  } catch (error) {
    if (!(error instanceof RemoteFetchError)) throw error
    const { refusal } = error
    if (refusal.kind === 'too-large') throw uploadErrors.remoteURLTooLarge(collection.slug, collection.label, collection.limits.maxBytes)
    if (refusal.kind === 'not-allowed') throw uploadErrors.remoteURLNotAllowed(collection.slug, refusal.reason, collection.label)
    throw uploadErrors.remoteURLFailed(collection.slug, refusal.reason, collection.label)
  }
}

/**
 * Runs the pipeline within the plugin's bound on image work; a full queue is a 503 with
 * `Retry-After`. What it returns is what `attachImage` records and stores.
 */
export const processWithinLimit = async (
  req: PayloadRequest,
  upload: { data: Buffer; name: string },
  collection: ResolvedCollection,
  limiter: WorkLimiter,
): Promise<PendingImage> => {
  const done = await limiter.run(() => processImage(upload, collection))
  if (!done) {
    retryLater(req, 5)
    throw uploadErrors.busy(collection.slug, collection.label)
  }
  return { image: done.value, originalName: upload.name, source: upload.data }
}

const runPipeline = async (req: PayloadRequest, upload: { data: Buffer; name: string }, collection: ResolvedCollection, limiter: WorkLimiter) =>
  setPending(req, await processWithinLimit(req, upload, collection, limiter))

/**
 * beforeOperation (create, update): runs the image pipeline before Payload sees the file.
 *
 * The name is checked first, so a refused file is never read or decoded. The processed WebP is
 * held for `attachImage` (beforeChange) and `req.file` is detached meanwhile, so that Payload's own
 * upload step does not decode and re-encode it (it re-processes every WebP when `sharp` is set).
 */
export const processUploadHook =
  (collection: ResolvedCollection, limiter: WorkLimiter, remote: false | ResolvedRemoteURLs): CollectionBeforeOperationHook =>
  async ({ args, operation, req }) => {
    if (operation !== 'create' && operation !== 'update') return args
    const { data, draft, duplicateFromID } = args as OperationArgs
    const file = req.file
    if (!file) {
      // Payload strips `url` and `filename` from untrusted data before this hook; the request keeps them.
      const submitted = { ...(req.data as Record<string, unknown> | undefined), ...data }
      if (typeof submitted.url === 'string' && submitted.url !== '') {
        const fetched = await fetchFromURL(submitted.url, collection, remote)
        const name = typeof submitted.filename === 'string' && submitted.filename !== '' ? submitted.filename : fetched.name
        assertAllowedName(name, collection)
        await runPipeline(req, { data: fetched.data, name }, collection, limiter)
        // With `url` and `filename` both submitted Payload would fetch the URL itself, without the
        // allowlist; a stand-in file stops that (beforeChange replaces it with the processed image).
        req.file = standInFile()
        const { filename: _filename, url: _url, ...rest } = data ?? {}
        return { ...args, data: rest }
      }
      if (operation === 'create' && !duplicateFromID && !draft) {
        throw uploadErrors.fileMissing(collection.slug, collection.label, collection.allowedExtensions)
      }
      return args
    }
    // From here the plugin owns the upload: a temp file is removed once read or refused, and
    // `req.file` is detached so that Payload neither re-processes nor unlinks it again.
    let bytes: Buffer
    try {
      assertAllowedName(file.name, collection)
      assertAllowedSize(file.size, collection)
      bytes = await readUpload(file)
    } catch (error) {
      await discardUpload(file)
      throw error
    } finally {
      req.file = undefined
    }
    await runPipeline(req, { data: bytes, name: file.name }, collection, limiter)
    // A multipart request with a file and no `_payload` field has no data; give the hooks an object.
    return { ...args, data: data ?? {} }
  }
