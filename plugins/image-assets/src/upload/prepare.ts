import type { Payload } from 'payload'

import { uploadError } from '../errors.js'
import type { Crop, Focal } from '../image/geometry.js'
import type { WorkLimiter } from '../image/limiter.js'
import {
  assertAllowedName,
  ImageProcessingFailed,
  inspectImage,
  transformImage,
} from '../image/pipeline.js'
import type { ResolvedCollection } from '../options.js'
import { abandonUpload, discardUpload, extendUpload, recordUpload } from '../storage/cleanup.js'
import type { Delivery } from '../storage/delivery.js'
import { documentFiles, originalObject } from '../storage/documentFiles.js'
import {
  type ObjectStore,
  ObjectWriteError,
  S3_RESPONSE_TIMEOUT_MS,
  type StoredObject,
} from '../storage/objects.js'
import { collectionRuntime, runtimeOf } from '../ops/runtime.js'
import type { UploadSession } from './session.js'

export type UploadServices = { delivery: Delivery; limiter: WorkLimiter; store: ObjectStore }

/**
 * The editor's framing of an image: `crop` in percent of the original as shown, `focal` in percent
 * of the cropped picture. `sourceCrop` is the crop to apply to the bytes at hand, when they are
 * not the original (the stored WebP is already cropped): by default `crop`.
 */
export type FramingRequest = { crop: Crop | null; focal: Focal; sourceCrop?: Crop | null }

/**
 * Steps 2 to 4 of the upload path, with no database connection held: guard and inspect, transform
 * (within the shared work limit, one deadline for the whole image), and store the new objects
 * under new keys (deadlines on every S3 call). Before the first write, the keys are recorded for
 * clean-up in a statement of their own, so that a crash from here on leaves nothing unrecorded.
 * A kept original is written while the main image is encoded, once the other versions are (their
 * encodes then leave a core free): recorded first, deleted again if the image then fails. Returns
 * the session the record step takes.
 */
export const prepareUpload = async (
  payload: Payload,
  collection: ResolvedCollection,
  services: UploadServices,
  source: { data: Buffer; name: string },
  options: {
    expectFilename?: string
    framing?: FramingRequest
    /** The plugin's own re-processing (re-optimize), not an editor's write: `requireAlt` does not apply. */
    internal?: boolean
    keptOriginal?: string
    keep?: Record<string, unknown>
    /** False when the bytes are not the upload (a stored WebP): never kept as the original. */
    sourceIsOriginal?: boolean
    trustedName?: boolean
    /**
     * The server's own code (the Local API: an import script's `Promise.all`) waits for a work
     * slot, behind requests, for up to `LOCAL_SLOT_WAIT_MS`, instead of being refused at once when
     * the queue is full: it holds no connection while it waits, and its bytes are already in memory.
     */
    waitForSlot?: boolean
  } = {},
): Promise<UploadSession> => {
  const { delivery, limiter, store } = services
  const framing = options.framing
  const keepsSource =
    collection.keepOriginal && options.sourceIsOriginal !== false && !options.keptOriginal
  const storageFailed = (error: unknown) => {
    payload.logger.error({
      err: error instanceof ObjectWriteError ? error.cause : error,
      msg: `payload-image-assets: storing an image for ${collection.slug} failed`,
    })
    return uploadError('STORAGE_FAILED', collection.slug, { label: collection.label })
  }
  let original: Promise<EarlyOriginal> | undefined
  let done
  try {
    const slot = <T>(task: () => Promise<T>) =>
      options.waitForSlot
        ? limiter.runBackground(task, Date.now() + LOCAL_SLOT_WAIT_MS)
        : limiter.run(task)
    done = await slot(async () => {
      const deadline = Date.now() + collection.limits.timeoutSeconds * 1000
      const inspected = await inspectImage(source, collection)
      // The kept original is written once the other versions are encoded, while the main image
      // still is: its write then takes the core they leave free instead of slowing the encodes.
      const writeOriginal = () => {
        if (!keepsSource || original) return
        const object = originalObject(collection, source.data, inspected.format, source.name)
        original = storeEarly(payload, collection.slug, store, object, deadline)
      }
      const image = await transformImage(
        source,
        collection,
        inspected,
        deadline,
        {
          crop: framing?.sourceCrop === undefined ? framing?.crop : framing.sourceCrop,
          focal: framing?.focal,
        },
        writeOriginal,
      )
      // The main image was the last to finish: the original is written now.
      writeOriginal()
      return image
    })
  } catch (error) {
    if (original) await undoEarly(payload, store, await original)
    if (!(error instanceof ImageProcessingFailed)) throw error
    payload.logger.error({
      err: error.cause,
      msg: `payload-image-assets: processing an image for ${collection.slug} failed`,
    })
    throw uploadError('PROCESSING_FAILED', collection.slug, { label: collection.label })
  }
  if (!done) throw uploadError('BUSY', collection.slug, { label: collection.label })
  const early = original ? await original : undefined
  if (early && 'error' in early) throw early.stored ? storageFailed(early.error) : early.error
  const files = documentFiles({
    collection,
    delivery,
    framing: framing && { crop: framing.crop, focal: framing.focal },
    image: done.value,
    // The original written ahead is recorded as kept, not written again.
    keptOriginal: early ? early.key : options.keptOriginal,
    originalName: source.name,
  })
  const { intent, keys } = await storeObjects(
    payload,
    collection.slug,
    store,
    files.objects,
    storageFailed,
    early,
  )
  return {
    collection: collection.slug,
    data: { ...files.data, ...options.keep },
    expectFilename: options.expectFilename,
    intent: intent.id,
    internal: options.internal,
    keys,
    originalName: options.trustedName ? undefined : source.name,
    recordBy: intent.recordBy,
  }
}

/** How long the Local API waits for a work slot before it is refused as busy. */
const LOCAL_SLOT_WAIT_MS = 10 * 60 * 1000

/** A kept original written ahead of the rest of the set: its clean-up row and key. */
type WrittenOriginal = { intent: { id: number | string }; key: string }

/**
 * The kept original written ahead, or why it failed (`stored`: false when it failed before the
 * bucket, recording its row: that error goes on as it is).
 */
type EarlyOriginal = WrittenOriginal | { error: unknown; stored: boolean }

/**
 * The kept original, recorded for clean-up (due only after the image's deadline and a store step
 * could have passed) and written while the image is encoded. Never rejects.
 */
const storeEarly = async (
  payload: Payload,
  collection: string,
  store: ObjectStore,
  object: StoredObject,
  imageDeadline: number,
): Promise<EarlyOriginal> => {
  let intent
  try {
    const latest = imageDeadline + (store.storeDeadline() - Date.now())
    intent = await recordUpload(payload, collection, [object.key], latest)
  } catch (error) {
    return { error, stored: false }
  }
  try {
    await store.putAll([object])
    return { intent, key: object.key }
  } catch (error) {
    // putAll deleted what it wrote; the row is due once a lost write could still land.
    await abandonUpload(payload, intent.id, S3_RESPONSE_TIMEOUT_MS)
    return { error, stored: true }
  }
}

/** The image failed after its original was written: the original is deleted again, and its row with it. */
const undoEarly = async (payload: Payload, store: ObjectStore, early: EarlyOriginal) => {
  if ('error' in early) return
  const failed = await store.deleteAll([early.key]).catch(() => [early.key])
  if (failed.length === 0) await discardUpload(payload, early.intent.id).catch(() => undefined)
  else await abandonUpload(payload, early.intent.id)
}

/**
 * Step 4: the new keys recorded for clean-up first (a statement of its own, no transaction held),
 * then every object or none. When the store fails, the row is handed to the clean-up, due once a
 * write whose answer was lost would have landed (the undo deleted the set, but such a write may
 * still land), and `failed(error)` is thrown. `written`: an object of the set already written under
 * a row of its own (a kept original); that row is extended to the whole set.
 */
export const storeObjects = async (
  payload: Payload,
  collection: string,
  store: ObjectStore,
  objects: StoredObject[],
  failed: (error: unknown) => unknown = (error) => error,
  written?: WrittenOriginal,
) => {
  const keys = [...objects.map((o) => o.key), ...(written ? [written.key] : [])]
  const storeDeadline = store.storeDeadline()
  const intent = written
    ? await extendUpload(payload, written.intent.id, keys, storeDeadline)
    : await recordUpload(payload, collection, keys, storeDeadline)
  // The clean-up took the row (the image outlived its deadline): its objects may be going already.
  if (!intent) throw failed(new Error('the upload outlived its deadline'))
  try {
    await store.putAll(objects, storeDeadline)
  } catch (error) {
    // putAll deleted the set it was given (unless the bucket stopped answering: then the row
    // does); the original written ahead goes with it.
    if (written && Date.now() < storeDeadline)
      await store.deleteAll([written.key]).catch(() => undefined)
    await abandonUpload(payload, intent.id, S3_RESPONSE_TIMEOUT_MS)
    throw failed(error)
  }
  return { intent, keys }
}

/**
 * Steps 2 to 4 for the Local API, outside any transaction: hand the result to `payload.create` or
 * `payload.update` as `context: sessionContext(session)` to record it in a short transaction.
 *
 * @example
 * const session = await prepareImage(payload, 'media', { data: bytes, name: 'photo.jpg' })
 * await payload.create({ collection: 'media', context: sessionContext(session), data: { alt: 'A photo' } })
 */
export const prepareImage = async (
  payload: Payload,
  slug: string,
  file: { data: Buffer; name: string },
): Promise<UploadSession> => {
  const runtime = runtimeOf(payload)
  const { collection, delivery } = collectionRuntime(runtime, slug)
  assertAllowedName(file.name, collection)
  return prepareUpload(
    payload,
    collection,
    { delivery, limiter: runtime.limiter, store: runtime.store },
    file,
    { waitForSlot: true },
  )
}
