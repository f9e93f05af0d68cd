import { NotFound, type Payload, type Where } from 'payload'

import { settingsFingerprint } from '../image/fingerprint.js'
import { storedBytes } from '../admin/savings.js'
import { ImageUploadError } from '../errors.js'
import type { ResolvedCollection } from '../options.js'
import { abandonUpload, isWriteConflict } from '../storage/cleanup.js'
import { nudgeCleanup } from '../storage/cleanupRunner.js'
import { storedFraming } from '../upload/framing.js'
import { rerenderStored } from '../upload/rerender.js'
import { sessionContext, type UploadSession } from '../upload/session.js'
import { claim } from './ledger.js'
import { pages } from './pages.js'
import { collectionRuntime, type Runtime } from './runtime.js'

type StoredDoc = {
  avif?: Array<{ filesize?: number }> | null
  crop?: unknown
  focalX?: null | number
  focalY?: null | number
  filename?: null | string
  filesize?: null | number
  fingerprint?: null | string
  id: number | string
  objectKeys?: null | string[]
  originalFilename?: null | string
  originalFilesize?: null | number
  originalHeight?: null | number
  originalKey?: null | string
  originalWidth?: null | number
  prefix?: null | string
  variants?: Array<{ filesize?: number }> | null
}

export type ReoptimizeResult =
  | {
      bytesAfter: number
      bytesBefore: number
      source: 'original' | 'stored-webp'
      status: 'reoptimized'
    }
  | { status: 'busy' | 'gone' | 'superseded' | 'up-to-date' }

/** Documents produced with other settings than the collection's current ones (or before fingerprints). */
export const staleWhere = (collection: ResolvedCollection): Where => ({
  and: [
    { filename: { exists: true } },
    {
      or: [
        { fingerprint: { not_equals: settingsFingerprint(collection) } },
        { fingerprint: { exists: false } },
      ],
    },
  ],
})

/**
 * Re-processes one document with its collection's current settings, through the upload path:
 * the same work limit and deadline, new objects stored before the document changes, and a
 * conditional write through Payload's update operation (hooks and `updatedAt` as for any update):
 * when an editor replaced the file meanwhile, the editor's image stays and the re-optimized set
 * goes to the clean-up (`superseded`). The source is the kept original, else the stored WebP. A
 * ledger row claims the document, so two workers never process it twice.
 */
export const reoptimizeDocument = async (
  payload: Payload,
  runtime: Runtime,
  slug: string,
  id: number | string,
  worker = `pid-${process.pid}`,
): Promise<ReoptimizeResult> => {
  const { collection, delivery } = collectionRuntime(runtime, slug)
  const fingerprint = settingsFingerprint(collection)
  const doc = (await payload.findByID({
    collection: slug,
    depth: 0,
    disableErrors: true,
    id,
    overrideAccess: true,
  })) as null | StoredDoc
  if (!doc?.filename) return { status: 'gone' }
  if (doc.fingerprint === fingerprint) return { status: 'up-to-date' }
  const held = await claim(payload, {
    collection: slug,
    document: String(id),
    fingerprint,
    from: doc.filename,
    worker,
  })
  if (!held) return { status: 'busy' }
  let session: UploadSession | undefined
  try {
    const fromOriginal = Boolean(doc.originalKey)
    try {
      // The editor's crop and focal point stay as they are.
      session = await rerenderStored(
        payload,
        collection,
        { delivery, limiter: runtime.limiter, store: runtime.store },
        { ...doc, filename: doc.filename },
        storedFraming(doc),
        { internal: true },
      )
    } catch (error) {
      if (error instanceof ImageUploadError && error.code === 'BUSY') {
        await held.release()
        return { status: 'busy' }
      }
      throw error
    }
    try {
      await payload.update({
        id,
        collection: slug,
        context: sessionContext(session),
        data: {},
        depth: 0,
        overrideAccess: true,
      })
    } catch (error) {
      await abandonUpload(payload, session.intent)
      nudgeCleanup(payload)
      if (error instanceof NotFound) {
        await held.release()
        return { status: 'gone' }
      }
      if (isSuperseded(error)) {
        await held.release()
        return { status: 'superseded' }
      }
      throw error
    }
    nudgeCleanup(payload)
    const result = {
      bytesAfter: storedBytes(session.data as Partial<StoredDoc>),
      bytesBefore: storedBytes(doc),
      source: fromOriginal ? ('original' as const) : ('stored-webp' as const),
    }
    await held.finish(result)
    return { ...result, status: 'reoptimized' }
  } catch (error) {
    await held.release()
    // Deleted while it was being read or re-processed: nothing to do.
    if (
      !(await payload.findByID({
        collection: slug,
        depth: 0,
        disableErrors: true,
        id,
        overrideAccess: true,
      }))
    )
      return { status: 'gone' }
    throw error
  }
}

/** The document's file changed while it was being re-processed (or a concurrent write won). */
const isSuperseded = (error: unknown) =>
  (error instanceof ImageUploadError && error.code === 'UPLOAD_CONFLICT') || isWriteConflict(error)

/** The requested collections, or all of the plugin's. */
const slugsOf = (runtime: Runtime, collections?: string[]): string[] =>
  collections?.length ? collections : runtime.collections.map((c) => c.slug)

/** The ids of a collection's stale documents, in id order, a page at a time (a cursor, so work done meanwhile does not shift pages). */
async function* staleIds(
  payload: Payload,
  collection: ResolvedCollection,
  pageSize: number,
): AsyncGenerator<number | string> {
  for await (const { id } of pages(payload, collection.slug, staleWhere(collection), {
    pageSize,
    select: { id: true },
  }))
    yield id
}

export type Progress = {
  bytesAfter: number
  bytesBefore: number
  collection: string
  done: number
  failed: number
  skipped: number
  total: number
}

/**
 * Re-processes every stale document of the given collections (all by default), in id order, one
 * at a time per worker. Stops between documents when `signal` aborts; a rerun continues where it
 * left off, and a run with nothing stale does nothing.
 */
export const reoptimizeAll = async (args: {
  collections?: string[]
  onProgress?: (progress: Progress) => void
  payload: Payload
  runtime: Runtime
  signal?: AbortSignal
}): Promise<{ interrupted: boolean; totals: Progress[] }> => {
  const { payload, runtime } = args
  const totals: Progress[] = []
  for (const slug of slugsOf(runtime, args.collections)) {
    const { collection } = collectionRuntime(runtime, slug)
    const { totalDocs } = await payload.count({
      collection: slug,
      overrideAccess: true,
      where: staleWhere(collection),
    })
    const progress: Progress = {
      bytesAfter: 0,
      bytesBefore: 0,
      collection: slug,
      done: 0,
      failed: 0,
      skipped: 0,
      total: totalDocs,
    }
    totals.push(progress)
    args.onProgress?.({ ...progress })
    if (args.signal?.aborted) return { interrupted: true, totals }
    for await (const id of staleIds(payload, collection, 25)) {
      if (args.signal?.aborted) return { interrupted: true, totals }
      try {
        const result = await reoptimizeDocument(payload, runtime, slug, id)
        if (result.status === 'reoptimized') {
          progress.done++
          progress.bytesBefore += result.bytesBefore
          progress.bytesAfter += result.bytesAfter
        } else {
          progress.skipped++
        }
      } catch (error) {
        progress.failed++
        payload.logger.error({
          err: error,
          msg: `payload-image-assets: re-optimizing ${slug} ${id} failed`,
        })
      }
      args.onProgress?.({ ...progress })
    }
  }
  return { interrupted: false, totals }
}

/** Queues one jobs-queue task per stale document; workers (`payload jobs:run`) share them. */
export const queueReoptimize = async (
  payload: Payload,
  runtime: Runtime,
  collections?: string[],
): Promise<number> => {
  let queued = 0
  for (const slug of slugsOf(runtime, collections)) {
    for await (const id of staleIds(payload, collectionRuntime(runtime, slug).collection, 500)) {
      await payload.jobs.queue({
        input: { collection: slug, id: String(id) },
        queue: REOPTIMIZE_QUEUE,
        task: REOPTIMIZE_TASK,
      })
      queued++
    }
  }
  return queued
}

export const REOPTIMIZE_TASK = 'imageAssetsReoptimize'
export const REOPTIMIZE_QUEUE = 'image-assets'
