import { readFile, unlink } from 'node:fs/promises'

import type { PayloadRequest } from 'payload'

import { uploadError } from '../errors.js'
import { assertAllowedName, assertAllowedSize } from '../image/pipeline.js'
import type { ResolvedCollection, ResolvedRemoteURLs } from '../options.js'
import { settingsFingerprint } from '../image/fingerprint.js'
import { fetchRemoteImage, RemoteFetchError } from '../remote/fetch.js'
import { storedDocument } from '../storage/documentKeys.js'
import { contentHash, hashOfKey } from '../storage/keys.js'
import { isConnectionFailure } from './databaseDown.js'
import { deleteStaged, stagedKeyOf, stagedReadError, stagedUploadGone } from './direct.js'
import { newFileFraming, takeUploadEdits, touchesFraming } from './framing.js'
import { prepareUpload, type UploadServices } from './prepare.js'
import { isMadeUpPartName } from './tempFiles.js'
import type { UploadSession } from './session.js'

type UploadedFile = NonNullable<PayloadRequest['file']>

/** Where Payload notes the temp file of a direct upload it read, to remove it after the request. */
const CLIENT_UPLOAD_TEMP_FILE = 'payloadClientUploadTempFilePath'

/**
 * The upload's bytes, whether Payload kept them in memory or in a temp file (`useTempFiles`).
 * A temp file is removed once read: from here on the plugin owns the bytes.
 */
const readUpload = async (file: UploadedFile): Promise<Buffer> => {
  if (!file.tempFilePath) return file.data
  try {
    return file.data?.length ? file.data : await readFile(file.tempFilePath)
  } finally {
    await unlink(file.tempFilePath).catch(() => undefined)
  }
}

/**
 * Whether the file is a direct upload's reference (Payload sets `clientUploadContext`, even to
 * undefined), and the collection's staged key it names, if it names one.
 */
const directUploadOf = (file: UploadedFile, slug: string) =>
  'clientUploadContext' in file
    ? { staged: stagedKeyOf(slug, file.clientUploadContext) }
    : undefined

/** Every file part Payload read from the request, under any field name (`req.files`), and `req.file`. */
const fileParts = (req: PayloadRequest): UploadedFile[] => {
  const byField = Object.values((req as { files?: Record<string, unknown> }).files ?? {})
  const parts = [req.file, ...byField.flat()].filter((file): file is UploadedFile =>
    Boolean(file && typeof file === 'object'),
  )
  return [...new Set(parts)]
}

/**
 * Removes the temp files (`useTempFiles`) of every file part of the request, under any field name,
 * once the request is done with them. Payload removes only `req.file`'s, so a part under another
 * name, or a file the upload path refused, would stay on disk. (No staged object is touched.)
 */
export const removeTempFiles = async (req: PayloadRequest): Promise<void> => {
  for (const part of fileParts(req)) {
    if (part.tempFilePath) await unlink(part.tempFilePath).catch(() => undefined)
  }
}

/**
 * Lets go of the request's files when the upload is refused before they are read: Payload's temp
 * files (a direct upload's, or every part's with `useTempFiles`) are removed and a staged object
 * of this collection is deleted, as when an upload is refused after it is read.
 */
export const discardFile = async (
  req: PayloadRequest,
  collection: ResolvedCollection,
  store: UploadServices['store'],
  options: { keepStaged?: boolean } = {},
): Promise<void> => {
  const files = options.keepStaged ? [] : fileParts(req)
  await removeTempFiles(req)
  req.file = undefined
  for (const file of files) {
    const staged = directUploadOf(file, collection.slug)?.staged
    if (staged) await deleteStaged(req, store, staged)
  }
  if (typeof req.context?.[CLIENT_UPLOAD_TEMP_FILE] === 'string') {
    await unlink(req.context[CLIENT_UPLOAD_TEMP_FILE] as string).catch(() => undefined)
    delete req.context[CLIENT_UPLOAD_TEMP_FILE]
  }
}

/**
 * Whether a replacement is the file the document already has, sent again: Payload's admin keeps
 * the File an editor uploaded in its form and sends it with later saves of the same view, and
 * processing it again would only give the same image new keys (its old URLs gone from caches).
 * Only byte for byte: the document's kept original (its key starts with a hash of its bytes), with
 * the collection's settings unchanged since it was made (otherwise it is made again, as re-optimize
 * would). Without a kept original nothing tells a resent file from an edited one of the same name
 * and size (a changed EXIF orientation, say), so it is processed as a replacement.
 */
const isStoredFile = (
  collection: ResolvedCollection,
  doc: Record<string, unknown> | null,
  bytes: Buffer,
): boolean =>
  Boolean(doc?.filename) &&
  typeof doc?.originalKey === 'string' &&
  doc.fingerprint === settingsFingerprint(collection) &&
  contentHash(bytes) === hashOfKey(doc.originalKey)

/**
 * A file's name as the uploader's browser meant it: in a multipart part's header, browsers send
 * `"` as `%22` and CR and LF as `%0D` and `%0A` (the HTML standard's form encoding); the line
 * breaks become spaces (as control characters they would not be kept anyway). Only for a part the
 * request's parser read (not a Local API file), unless the app has Payload decode every escape
 * itself (`upload.uriDecodeFileNames`), and not for a name Payload already cut at 255 characters
 * (decoded, it would pass the length check that refuses it).
 */
const uploadersFileName = (req: PayloadRequest, file: NonNullable<PayloadRequest['file']>) => {
  const parsed = (req as { files?: { file?: unknown } }).files?.file === file
  const decodesItself = (req.payload.config.upload as { uriDecodeFileNames?: boolean } | undefined)
    ?.uriDecodeFileNames
  if (!parsed || decodesItself || file.name.length >= 255) return file.name
  return file.name.replace(/%22/gi, '"').replace(/%0[ad]/gi, ' ')
}

/** A refusal that says "try again in a moment" (503, or the database unreachable): nothing was wrong with the file. */
const isTransient = (error: unknown): boolean =>
  (error as { status?: unknown }).status === 503 || isConnectionFailure(error)

/**
 * Whether a write saves a draft: Payload then writes the versions table only, and the document
 * keeps its file. `_status: 'published'` publishes, with the draft flag or without it.
 */
export const savesDraft = (
  req: PayloadRequest,
  collection: ResolvedCollection,
  write: { data?: unknown; draft?: boolean },
): boolean =>
  Boolean(write.draft) &&
  Boolean(req.payload.collections[collection.slug]?.config.versions?.drafts) &&
  (write.data as { _status?: unknown } | undefined)?._status !== 'published'

/**
 * A draft save in a collection with drafts holds no new image: the image's files are not
 * versioned, so the published document would lose its objects to a draft. The admin's autosave
 * sends the form's file again with every change of a field: it saves the fields and leaves the
 * file (and a staged direct upload, which the form sends again) for "Publish changes". Any other
 * draft save with a new file is refused here, before any image work.
 */
export const keepImageOutOfDraft = async (
  req: PayloadRequest,
  collection: ResolvedCollection,
  store: UploadServices['store'],
  write: { autosave?: boolean; data?: unknown; draft?: boolean; id?: number | string },
): Promise<void> => {
  if (!savesDraft(req, collection, write)) return
  if (write.autosave) {
    takeUploadEdits(req)
    await discardFile(req, collection, store, { keepStaged: true })
    return
  }
  const file = req.file
  if (!file) return
  // The file the document already has, sent again by the admin's form with "Save draft": no change.
  // (A direct upload it sends again was used by the save that published it: it is gone.)
  const same = directUploadOf(file, collection.slug)
    ? stagedUploadGone(req)
    : write.id !== undefined &&
      isStoredFile(
        collection,
        await storedDocument(req.payload, collection.slug, write.id),
        await readUpload(file),
      )
  await discardFile(req, collection, store)
  if (!same) throw uploadError('DRAFT_IMAGE_CHANGE', collection.slug, { label: collection.label })
}

/** Creation from a URL (`url` in the body): refused unless switched on, then fetched under the allowlist. */
const fetchFromURL = async (
  url: string,
  collection: ResolvedCollection,
  remote: false | ResolvedRemoteURLs,
) => {
  if (!remote)
    throw uploadError('REMOTE_URL_DISABLED', collection.slug, {
      allowed: collection.allowedExtensions,
      label: collection.label,
    })
  try {
    return await fetchRemoteImage(url, remote, collection.limits.maxBytes)
  } catch (error) {
    if (!(error instanceof RemoteFetchError)) throw error
    const { refusal } = error
    if (refusal.kind === 'too-large')
      throw uploadError('FILE_TOO_LARGE', collection.slug, {
        fromURL: true,
        label: collection.label,
        maxBytes: collection.limits.maxBytes,
      })
    if (refusal.kind === 'not-allowed')
      throw uploadError('REMOTE_URL_NOT_ALLOWED', collection.slug, {
        label: collection.label,
        reason: refusal.reason,
      })
    throw uploadError('REMOTE_URL_FAILED', collection.slug, {
      label: collection.label,
      reason: refusal.reason,
    })
  }
}

/**
 * The file of a create or update (the multipart `file`, or a `url` in the data when remote URLs
 * are on), taken from the request and prepared: guarded by name and size before a byte is read,
 * then processed and stored. `req.file` is detached, so that Payload's own upload step neither
 * re-processes nor unlinks it; `url` and `filename` are removed from `data`, so that Payload
 * never fetches anything itself. Undefined when the request carries no file.
 */
export const sessionFromRequest = async (
  req: PayloadRequest,
  data: Record<string, unknown> | undefined,
  step: {
    collection: ResolvedCollection
    /** The document a replacement is for. */
    id?: number | string
    /** A `url` in the data is a source only when creating. */
    operation: 'create' | 'update'
    services: UploadServices & { remoteURLs: false | ResolvedRemoteURLs }
    /** The Local API: wait for a work slot instead of being refused as busy (`prepareUpload`). */
    waitForSlot?: boolean
  },
): Promise<UploadSession | undefined> => {
  const { collection, services } = step
  const { payload } = req
  const urlIsSource = step.operation === 'create'
  const file = req.file
  const submitted = { ...(req.data as Record<string, unknown> | undefined), ...data }
  // The document a replacement is for, read once (resend check, framing), when it is needed.
  let replaced: Promise<Record<string, unknown> | null> | undefined
  const stored = () =>
    step.operation === 'update' && step.id !== undefined
      ? (replaced ??= storedDocument(payload, collection.slug, step.id))
      : Promise.resolve(null)
  const framing = async () => {
    // Payload's own upload step would act on the admin's edits itself: the plugin takes them.
    const edits = takeUploadEdits(req)
    // The admin sends a replaced image's crop and focal point back with the new file: not the new one's.
    const previous = touchesFraming(submitted, undefined)
      ? ((await stored()) ?? undefined)
      : undefined
    return newFileFraming(collection, submitted, edits, previous)
  }
  if (file) {
    req.file = undefined
    // A direct-to-bucket upload: the staged object, read by Payload through the file handler.
    const direct = directUploadOf(file, collection.slug)
    const staged = direct?.staged
    const name = direct ? file.name : uploadersFileName(req, file)
    let bytes: Buffer
    // A staged upload is deleted once used or refused; kept when the server could not finish for
    // now (503: busy, the bucket not answering), so that the same request can simply be sent again.
    let keepStaged = false
    try {
      try {
        // A reference to anything but this collection's staged uploads (another collection's,
        // a stored image, a made-up key): Payload's file route answered 404 and that was read.
        if (direct && !staged)
          throw uploadError('STAGED_KEY_INVALID', collection.slug, { label: collection.label })
        const unread = staged && stagedReadError(req, collection)
        if (unread) throw unread
        // A part without a file name that the parser still took for a file (typed
        // application/octet-stream): Payload named it `tmp-<n>-<ms>`.
        if (!direct && isMadeUpPartName(name))
          throw uploadError('FILE_NAME_MISSING', collection.slug, {
            allowed: collection.allowedExtensions,
            label: collection.label,
          })
        assertAllowedName(name, collection)
        if (!staged) assertAllowedSize(file.size, collection)
        bytes = await readUpload(file)
        // The bytes decide, never the size the client stated. A staged object is read no further
        // than one byte over the limit.
        if (staged && bytes.length > collection.limits.maxBytes)
          throw uploadError('FILE_TOO_LARGE', collection.slug, {
            label: collection.label,
            maxBytes: collection.limits.maxBytes,
            over: true,
          })
        assertAllowedSize(bytes.length, collection)
      } catch (error) {
        if (file.tempFilePath) await unlink(file.tempFilePath).catch(() => undefined)
        throw error
      } finally {
        // The temp file Payload wrote for a direct upload is removed above; Payload would try again.
        if (file.tempFilePath && req.context?.[CLIENT_UPLOAD_TEMP_FILE] === file.tempFilePath)
          delete req.context[CLIENT_UPLOAD_TEMP_FILE]
      }
      // A file sent again leaves the framing the request asks for to the stored image's path.
      if (isStoredFile(collection, await stored(), bytes)) return undefined
      return await prepareUpload(
        payload,
        collection,
        services,
        { data: bytes, name },
        { framing: await framing(), waitForSlot: step.waitForSlot },
      )
    } catch (error) {
      keepStaged = isTransient(error)
      throw error
    } finally {
      if (staged && !keepStaged) await deleteStaged(req, services.store, staged)
    }
  }
  // Payload strips `url` and `filename` from untrusted data before its hooks; the request keeps them.
  if (!urlIsSource || typeof submitted.url !== 'string' || submitted.url === '') return undefined
  const fetched = await fetchFromURL(submitted.url, collection, services.remoteURLs)
  const name =
    typeof submitted.filename === 'string' && submitted.filename !== ''
      ? submitted.filename
      : fetched.name
  assertAllowedName(name, collection)
  return prepareUpload(
    payload,
    collection,
    services,
    { data: fetched.data, name },
    { framing: await framing(), waitForSlot: step.waitForSlot },
  )
}

/** `data` without the fields that would make Payload fetch or name a file itself. */
export const withoutFileSource = (
  data: Record<string, unknown> | undefined,
): Record<string, unknown> => {
  const { filename: _filename, url: _url, ...rest } = data ?? {}
  return rest
}
