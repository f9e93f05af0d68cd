import type {
  CollectionAfterChangeHook,
  CollectionAfterDeleteHook,
  CollectionAfterOperationHook,
  CollectionBeforeChangeHook,
  CollectionBeforeDeleteHook,
  CollectionBeforeOperationHook,
  PayloadRequest,
} from 'payload'

import { uploadError } from '../errors.js'
import { queueAvif, runImageJobsSoon } from '../ops/avif.js'
import { assertAllowedName } from '../image/pipeline.js'
import type { ResolvedCollection, ResolvedRemoteURLs } from '../options.js'
import { recordTransition, settleUpload, WriteConflict } from '../storage/cleanup.js'
import { nudgeCleanup } from '../storage/cleanupRunner.js'
import { documentKeys } from '../storage/documentKeys.js'
import { authorize } from './authorize.js'
import { outsideTransaction } from './transaction.js'
import type { UploadServices } from './prepare.js'
import { checkedFocal, FRAMED_KEY, takeUploadEdits, touchesFraming } from './framing.js'
import { framingSession } from './rerender.js'
import { attachSession, peekSession, takeSession } from './session.js'
import {
  keepImageOutOfDraft,
  removeTempFiles,
  savesDraft,
  sessionFromRequest,
  withoutFileSource,
} from './source.js'

type OperationArgs = {
  autosave?: boolean
  data?: Record<string, unknown>
  draft?: boolean
  id?: number | string
  overrideAccess?: boolean
}

/**
 * Fields the plugin computes from the stored image: no client sets them, through any entry point;
 * a write without a new image keeps the document's own values.
 */
const COMPUTED_FIELDS = [
  'avif',
  'crop',
  'filename',
  'filesize',
  'fingerprint',
  'focalX',
  'focalY',
  'height',
  'mimeType',
  'objectKeys',
  'originalFilename',
  'originalFilesize',
  'originalHeight',
  'originalKey',
  'originalWidth',
  'placeholder',
  'prefix',
  'shapes',
  'sizes',
  'thumbnailURL',
  'url',
  'variants',
  'width',
] as const

/**
 * beforeOperation (create, update). Uploads through the plugin's endpoints arrive here with their
 * session in `context`, already processed and stored. A file that reaches the operation another
 * way (the Local API's `file`, Payload's bulk routes) is prepared here: the same steps, but inside
 * the transaction Payload has already opened (README: "Local API").
 */
export const prepareInOperationHook =
  (
    collection: ResolvedCollection,
    services: UploadServices & { remoteURLs: false | ResolvedRemoteURLs },
  ): CollectionBeforeOperationHook =>
  async ({ args, context, operation, req }) => {
    if (operation !== 'create' && operation !== 'update') return args
    const { data, draft, id, overrideAccess } = args as OperationArgs
    const drafting = operation === 'update' && savesDraft(req, collection, { data, draft })
    const prepared = peekSession(context, collection.slug)
    if (prepared) {
      attachSession(context, { ...prepared, savesDraft: drafting })
      req.file = undefined
      takeUploadEdits(req)
      return { ...args, data: withoutFileSource(data) }
    }
    if (operation === 'update')
      await keepImageOutOfDraft(req, collection, services.store, args as OperationArgs)
    const submitted = { ...(req.data as Record<string, unknown> | undefined), ...data }
    const hasSource =
      Boolean(req.file) ||
      (operation === 'create' && typeof submitted.url === 'string' && submitted.url !== '')
    if (!hasSource) {
      const edits = (req.query as Record<string, unknown> | undefined)?.uploadEdits
      if (
        operation !== 'update' ||
        id === undefined ||
        req.context[FRAMED_KEY] === true ||
        !touchesFraming(data, edits as object)
      ) {
        takeUploadEdits(req)
        return args
      }
      // A new crop or focal point (GraphQL, Local API): made here, inside Payload's transaction.
      // Access first (GraphQL passes no `overrideAccess`; only the Local API's default skips it).
      if (overrideAccess !== true) await authorize(req, collection.slug, operation, id)
      const framed = { ...data }
      const session = await outsideTransaction(req, () =>
        framingSession(req, collection, services, id, framed, { savesDraft: drafting }),
      )
      if (session) attachSession(context, session)
      return { ...args, data: framed }
    }
    // One file is one document's: a bulk update (`PATCH /api/<slug>?where=…`) cannot carry one.
    if (operation === 'update' && id === undefined) {
      await removeTempFiles(req)
      req.file = undefined
      throw uploadError('BULK_UPLOAD', collection.slug, { label: collection.label })
    }
    // Access first here too: no image work for a caller the collection refuses.
    if (overrideAccess === false) await authorize(req, collection.slug, operation, id)
    // A file reaches the operation itself from the server's own code (the Local API; REST uploads
    // arrive prepared): it waits for a work slot rather than being refused as busy, when it holds
    // no database connection meanwhile.
    const session = await outsideTransaction(req, (holdsNoConnection) =>
      sessionFromRequest(req, data, {
        collection,
        operation,
        services,
        waitForSlot: holdsNoConnection,
      }),
    )
    if (!session) return args
    attachSession(context, { ...session, savesDraft: drafting })
    return { ...args, data: withoutFileSource(data) }
  }

/**
 * beforeChange, step 5 (record), inside the operation's short transaction: the second gate of the
 * extension rule; the conditional checks (an expected file still there, the session not past its
 * deadline, its stored objects not yet taken by the clean-up); the replaced file's keys recorded
 * for clean-up after commit (unique per starting file: a concurrent write from the same file
 * fails here and is retried from the new state); then the image's fields on the document.
 */
export const recordImageHook =
  (collection: ResolvedCollection): CollectionBeforeChangeHook =>
  async ({ context, data, operation, originalDoc, req }) => {
    const session = takeSession(context, collection.slug)
    if (!session) {
      if (typeof data.filename === 'string' && data.filename !== originalDoc?.filename)
        assertAllowedName(data.filename, collection)
      // After Payload's access check, so that a refused caller hears about access, not the file.
      if (operation === 'create' && data._status !== 'draft') {
        throw uploadError('FILE_MISSING', collection.slug, {
          allowed: collection.allowedExtensions,
          label: collection.label,
        })
      }
      // The row as it is under its lock: what an AVIF job recorded meanwhile is kept, not written back.
      const current =
        operation === 'update' && originalDoc
          ? await lockFile(req, collection, originalDoc)
          : originalDoc
      const kept: Record<string, unknown> = { ...data }
      for (const field of COMPUTED_FIELDS) {
        if (current && field in current) kept[field] = current[field]
        else delete kept[field]
      }
      // A focal point no stored file depends on (no shapes) is only recorded; the single-document
      // paths checked it in beforeOperation, a bulk update (`PATCH /api/<slug>?where=…`) here.
      if (
        operation === 'update' &&
        collection.shapes.length === 0 &&
        (data.focalX != null || data.focalY != null)
      ) {
        const focal = checkedFocal(
          collection,
          data.focalX ?? current?.focalX,
          data.focalY ?? current?.focalY,
        )
        kept.focalX = focal.x
        kept.focalY = focal.y
      }
      return kept
    }
    // Payload writes a draft to the versions table only: the document would keep its old file
    // while the replaced objects went to the clean-up. (Adopted collections with drafts; a new
    // file or crop was refused before any image work; this is the last gate.) An
    // update without the draft flag writes the document itself, whatever its `_status`.
    if (operation === 'update' && session.savesDraft && !session.addsVersions)
      throw uploadError('DRAFT_IMAGE_CHANGE', collection.slug, { label: collection.label })
    if (session.originalName !== undefined) assertAllowedName(session.originalName, collection)
    if (session.expectFilename !== undefined && originalDoc?.filename !== session.expectFilename) {
      throw uploadError('UPLOAD_CONFLICT', collection.slug, { label: collection.label })
    }
    if (Date.now() > session.recordBy || !(await settleUpload(req, session.intent))) {
      throw uploadError('STORAGE_FAILED', collection.slug, { label: collection.label })
    }
    if (session.addsVersions) {
      // The AVIF job: the same file, locked and checked above; nothing is replaced. Another run
      // of the job may have recorded versions first (Payload can hand one job to two workers):
      // then this run's objects go to the clean-up.
      const conflict = () =>
        uploadError('UPLOAD_CONFLICT', collection.slug, { label: collection.label })
      if (!originalDoc) throw conflict()
      const current = await lockFile(req, collection, originalDoc)
      if (Array.isArray(current.avif) && current.avif.length > 0) throw conflict()
      const objectKeys = [...new Set([...documentKeys(current, collection.slug), ...session.keys])]
      return { ...data, ...session.data, objectKeys }
    }
    if (operation === 'update' && originalDoc) {
      // The row as it is now, under its lock: keys added meanwhile (an AVIF job) are recorded too.
      const current = await lockFile(req, collection, originalDoc)
      // Re-optimize keeps the framing: a focal point recorded meanwhile (it changes no file when
      // the collection has no shapes, so the file check above cannot see it) is the editor's.
      if (session.internal && collection.shapes.length === 0) {
        session.data.focalX = current.focalX ?? session.data.focalX
        session.data.focalY = current.focalY ?? session.data.focalY
      }
      const kept = new Set(session.data.objectKeys as string[])
      await recordTransition(req, {
        collection: collection.slug,
        document: originalDoc.id,
        from: originalDoc.filename,
        keys: documentKeys(current, collection.slug).filter((key) => !kept.has(key)),
        label: collection.label,
        reason: 'replaced',
      })
    }
    // A new file: its AVIF versions are queued once the document is written (afterChange).
    if (collection.avif) context[NEW_FILE_KEY] = true
    return { ...data, ...session.data }
  }

/**
 * Compare-and-set on the document's file, inside the update's transaction: one statement that
 * locks the row and checks it still has the file this update read (`originalDoc`). A concurrent
 * write that changed the file meanwhile (it committed first, or this one waited for its lock)
 * makes it a `WriteConflict`, retried from the new state by the REST endpoints; so an update never
 * writes back a file whose objects another write has handed to the clean-up.
 */
const lockFile = async (
  req: PayloadRequest,
  collection: ResolvedCollection,
  originalDoc: { filename?: unknown; id: number | string },
) => {
  const filename = typeof originalDoc.filename === 'string' ? originalDoc.filename : null
  const locked = await req.payload.db.updateOne({
    collection: collection.slug,
    data: { filename },
    options: { atomic: true },
    req,
    where: {
      and: [
        { id: { equals: originalDoc.id } },
        filename === null ? { filename: { exists: false } } : { filename: { equals: filename } },
      ],
    },
  })
  if (!locked)
    throw new WriteConflict(
      collection.slug,
      collection.label,
      "the document's file changed meanwhile",
    )
  // Read again under the lock: what the row holds now, whatever this operation read before.
  return (
    ((await req.payload.db.findOne({
      collection: collection.slug,
      req,
      where: { id: { equals: originalDoc.id } },
    })) as Record<string, unknown> | null) ?? (originalDoc as Record<string, unknown>)
  )
}

const NEW_FILE_KEY = 'payloadImageAssetsNewFile'
const DELETING_KEY = 'payloadImageAssetsDeleting'

/** What a delete found under the row's lock: the file and keys to record, whatever it read before. */
type Locked = { filename: unknown; keys: string[] }

/**
 * beforeDelete, inside the delete's transaction: locks the row and reads its file and keys as they
 * are now (a replacement may have committed, or an AVIF job added versions, since the delete read
 * the document).
 */
export const lockDeletionHook =
  (collection: ResolvedCollection): CollectionBeforeDeleteHook =>
  async ({ context, id, req }) => {
    let current: Record<string, unknown>
    // A delete removes whatever file the document has: when a replacement committed between the
    // read and the lock, it reads again and locks that (a few times at most, then a conflict).
    for (let attempt = 1; ; attempt++) {
      const before = await req.payload.db.findOne({
        collection: collection.slug,
        req,
        where: { id: { equals: id } },
      })
      // Gone before the first look: Payload's delete finds nothing either. Gone on a later one
      // (deleted meanwhile by another request): a conflict, retried by the REST endpoint.
      if (!before) {
        if (attempt === 1) return
        throw new WriteConflict(
          collection.slug,
          collection.label,
          'the document was deleted meanwhile',
        )
      }
      try {
        current = await lockFile(req, collection, before as { filename?: unknown; id: number })
        break
      } catch (error) {
        if (!(error instanceof WriteConflict) || attempt >= 3) throw error
      }
    }
    const deleting = (context[DELETING_KEY] ??= {}) as Record<string, Locked>
    deleting[String(id)] = {
      filename: current.filename,
      keys: documentKeys(current, collection.slug),
    }
  }

/** afterDelete, inside the delete's transaction: the document's keys recorded for clean-up after commit. */
export const recordDeletionHook =
  (collection: ResolvedCollection): CollectionAfterDeleteHook =>
  async ({ context, doc, req }) => {
    const locked = (context[DELETING_KEY] as Record<string, Locked> | undefined)?.[String(doc.id)]
    // The file under the lock: the transition's unique key must name the file deleted, or a
    // replacement committed meanwhile would make it collide and abort the whole (bulk) transaction.
    await recordTransition(req, {
      collection: collection.slug,
      document: doc.id,
      from: locked ? locked.filename : doc.filename,
      keys: locked?.keys ?? documentKeys(doc, collection.slug),
      label: collection.label,
      reason: 'deleted',
    })
    return doc
  }

/** afterChange, in the write's transaction: a new file's AVIF versions are queued with it. */
export const queueVersionsHook =
  (collection: ResolvedCollection): CollectionAfterChangeHook =>
  async ({ context, doc, req }) => {
    if (context[NEW_FILE_KEY]) await queueAvif(req, collection, doc)
    return doc
  }

/**
 * afterOperation, after the commit: a write may have recorded leftovers (the clean-up runs shortly)
 * or queued AVIF versions (this process runs them now, unless `processing.runJobs` is off).
 */
export const afterWriteHook =
  (runJobs: false | number): CollectionAfterOperationHook =>
  ({ operation, req, result }) => {
    if (operation === 'find' || operation === 'findByID' || operation === 'count') return result
    nudgeCleanup(req.payload)
    // Hooks' `context` is the request's: the record step's flag is visible here.
    if (req.context[NEW_FILE_KEY] && runJobs) runImageJobsSoon(req.payload, runJobs)
    return result
  }
