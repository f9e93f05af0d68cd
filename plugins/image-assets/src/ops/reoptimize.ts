import { GetObjectCommand } from '@aws-sdk/client-s3'
import type { Payload, Where } from 'payload'

import { settingsFingerprint } from '../image/fingerprint.js'
import { FORMAT_BY_EXTENSION, type InputFormat } from '../image/formats.js'
import { sniffFormat } from '../image/inspect.js'
import { processImage } from '../image/pipeline.js'
import type { ResolvedCollection } from '../options.js'
import { documentFiles } from '../storage/documentFiles.js'
import { documentKeys } from '../storage/documentKeys.js'
import { objectKey } from '../storage/keys.js'
import { recordOrphans } from '../storage/orphans.js'
import { claim } from './ledger.js'
import { collectionRuntime, type Runtime } from './runtime.js'

type StoredDoc = {
  avif?: Array<{ filesize?: number }> | null
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
  | { bytesAfter: number; bytesBefore: number; source: 'original' | 'stored-webp'; status: 'reoptimized' }
  | { status: 'busy' | 'gone' | 'up-to-date' }

const EXTENSIONS: Record<InputFormat, string> = { jpeg: '.jpg', png: '.png', webp: '.webp' }

/** Stored bytes of a document: main image, variants and AVIF versions (not the kept original). */
export const storedBytes = (doc: Pick<StoredDoc, 'avif' | 'filesize' | 'variants'>): number =>
  (doc.filesize ?? 0) + [...(doc.variants ?? []), ...(doc.avif ?? [])].reduce((sum, v) => sum + (v.filesize ?? 0), 0)

/** Documents produced with other settings than the collection's current ones (or before fingerprints). */
export const staleWhere = (collection: ResolvedCollection): Where => ({
  and: [
    { filename: { exists: true } },
    { or: [{ fingerprint: { not_equals: settingsFingerprint(collection) } }, { fingerprint: { exists: false } }] },
  ],
})

const readObject = async (runtime: Runtime, key: string): Promise<Buffer> => {
  const object = await runtime.store.client.send(new GetObjectCommand({ Bucket: runtime.store.storage.bucket, Key: key }))
  return Buffer.from(await object.Body!.transformToByteArray())
}

/**
 * Re-processes one document with its collection's current settings, safely: the new objects are
 * written first, then the document is pointed at them, then the old objects are deleted (deletes
 * that fail are recorded). The source is the kept original, else the stored WebP. A ledger row
 * claims the document, so two workers never process it twice.
 */
export const reoptimizeDocument = async (payload: Payload, runtime: Runtime, slug: string, id: number | string, worker = `pid-${process.pid}`): Promise<ReoptimizeResult> => {
  const { collection, delivery } = collectionRuntime(runtime, slug)
  const fingerprint = settingsFingerprint(collection)
  const doc = (await payload.findByID({ collection: slug, depth: 0, disableErrors: true, id, overrideAccess: true })) as null | StoredDoc
  if (!doc?.filename) return { status: 'gone' }
  if (doc.fingerprint === fingerprint) return { status: 'up-to-date' }
  const held = await claim(payload, { collection: slug, document: String(id), fingerprint, from: doc.filename, worker })
  if (!held) return { status: 'busy' }
  try {
    const fromOriginal = Boolean(doc.originalKey)
    const source = await readObject(runtime, doc.originalKey ?? objectKey(doc.prefix || slug, doc.filename))
    if (!fromOriginal) payload.logger.warn(`payload-image-assets: ${slug} ${id} has no kept original; re-processing its stored WebP`)
    const format = sniffFormat(source) ?? 'webp'
    const base = (doc.originalFilename ?? doc.filename).replace(/\.[^.]*$/, '') || 'image'
    // The stored file was accepted once; the collection's extension list may have changed since.
    const image = await processImage({ data: source, name: `${base}${EXTENSIONS[format]}` }, { ...collection, allowedExtensions: Object.keys(FORMAT_BY_EXTENSION) })
    const files = documentFiles({
      collection,
      delivery,
      image,
      keptOriginal: doc.originalKey ?? undefined,
      originalName: doc.originalFilename ?? doc.filename,
    })
    // What the upload was stays as recorded (a stored WebP is not the original).
    const data: Record<string, unknown> = {
      ...files.data,
      originalFilename: doc.originalFilename ?? files.data.originalFilename,
      originalFilesize: doc.originalFilesize ?? files.data.originalFilesize,
      originalHeight: doc.originalHeight ?? files.data.originalHeight,
      originalWidth: doc.originalWidth ?? files.data.originalWidth,
    }
    await runtime.store.putAll(files.objects)
    try {
      await payload.db.updateOne({ collection: slug, data, id, returning: false })
    } catch (error) {
      const failed = await runtime.store.deleteAll(files.objects.map((o) => o.key))
      if (failed.length > 0) await recordOrphans(payload, slug, 'rollback-failed', failed)
      throw error
    }
    const current = new Set(data.objectKeys as string[])
    const failed = await runtime.store.deleteAll(documentKeys(doc, slug).filter((key) => !current.has(key)))
    if (failed.length > 0) await recordOrphans(payload, slug, 'delete-failed', failed)
    const result = { bytesAfter: storedBytes(data as Partial<StoredDoc>), bytesBefore: storedBytes(doc), source: fromOriginal ? ('original' as const) : ('stored-webp' as const) }
    await held.finish(result)
    return { ...result, status: 'reoptimized' }
  } catch (error) {
    await held.release()
    throw error
  }
}

/** The requested collections, or all of the plugin's. */
const slugsOf = (runtime: Runtime, collections?: string[]): string[] =>
  collections?.length ? collections : runtime.collections.map((c) => c.slug)

/** The ids of a collection's stale documents, in id order, a page at a time (a cursor, so work done meanwhile does not shift pages). */
async function* staleIds(payload: Payload, collection: ResolvedCollection, pageSize: number): AsyncGenerator<number | string> {
  const where = staleWhere(collection)
  let after: number | string | undefined
  for (;;) {
    const page = await payload.find({
      collection: collection.slug,
      depth: 0,
      limit: pageSize,
      overrideAccess: true,
      pagination: false,
      select: { id: true },
      sort: 'id',
      where: after === undefined ? where : { and: [where, { id: { greater_than: after } }] },
    })
    if (page.docs.length === 0) return
    for (const { id } of page.docs) {
      after = id
      yield id
    }
  }
}

export type Progress = { bytesAfter: number; bytesBefore: number; collection: string; done: number; failed: number; skipped: number; total: number }

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
    const { totalDocs } = await payload.count({ collection: slug, overrideAccess: true, where: staleWhere(collection) })
    const progress: Progress = { bytesAfter: 0, bytesBefore: 0, collection: slug, done: 0, failed: 0, skipped: 0, total: totalDocs }
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
        payload.logger.error({ err: error, msg: `payload-image-assets: re-optimizing ${slug} ${id} failed` })
      }
      args.onProgress?.({ ...progress })
    }
  }
  return { interrupted: false, totals }
}

/** Queues one jobs-queue task per stale document; workers (`payload jobs:run`) share them. */
export const queueReoptimize = async (payload: Payload, runtime: Runtime, collections?: string[]): Promise<number> => {
  let queued = 0
  for (const slug of slugsOf(runtime, collections)) {
    for await (const id of staleIds(payload, collectionRuntime(runtime, slug).collection, 500)) {
      await payload.jobs.queue({ input: { collection: slug, id: String(id) }, queue: REOPTIMIZE_QUEUE, task: REOPTIMIZE_TASK })
      queued++
    }
  }
  return queued
}

export const REOPTIMIZE_TASK = 'imageAssetsReoptimize'
export const REOPTIMIZE_QUEUE = 'image-assets'
