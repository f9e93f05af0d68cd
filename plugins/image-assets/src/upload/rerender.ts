import type { Payload, PayloadRequest } from 'payload'

import { uploadError } from '../errors.js'
import { FORMAT_BY_EXTENSION, FORMATS } from '../image/formats.js'
import { cropWithin } from '../image/geometry.js'
import { sniffFormat } from '../image/inspect.js'
import { readSource } from '../ops/source.js'
import { storedDocument } from '../storage/documentKeys.js'
import { s3Status } from '../storage/objects.js'
import type { ResolvedCollection } from '../options.js'
import {
  FRAMED_KEY,
  framingChange,
  storedFraming,
  takeUploadEdits,
  touchesFraming,
} from './framing.js'
import type { FramingRequest, UploadServices } from './prepare.js'
import { prepareUpload } from './prepare.js'
import type { UploadSession } from './session.js'

/** What re-rendering a stored image reads from its document. */
export type StoredImage = {
  crop?: unknown
  filename: string
  id: number | string
  originalFilename?: null | string
  originalFilesize?: null | number
  originalHeight?: null | number
  originalKey?: null | string
  originalWidth?: null | number
  prefix?: unknown
}

/**
 * Makes a stored image's files again, through the upload path (steps 3 and 4: the shared work
 * limit, one deadline, new keys stored before the document changes), from its kept original, else
 * from its main WebP (already cropped: a new crop must lie inside the current one). The session is
 * recorded conditionally on the document still having `doc.filename`: a replacement uploaded
 * meanwhile wins, and this set goes to the clean-up. Used by framing changes and re-optimize.
 */
export const rerenderStored = async (
  payload: Payload,
  collection: ResolvedCollection,
  services: UploadServices,
  doc: StoredImage,
  framing: FramingRequest,
  options: { internal?: boolean } = {},
): Promise<UploadSession> => {
  const fromOriginal = Boolean(doc.originalKey)
  let sourceCrop = framing.crop
  if (!fromOriginal) {
    const within = cropWithin(storedFraming(doc).crop, framing.crop)
    if (within === undefined)
      throw uploadError('CROP_NEEDS_ORIGINAL', collection.slug, { label: collection.label })
    sourceCrop = within
    payload.logger.warn(
      `payload-image-assets: ${collection.slug} ${doc.id} has no kept original; re-rendering its stored WebP`,
    )
  }
  let source: Buffer
  try {
    source = await readSource(services.store, collection, doc)
  } catch (error) {
    // The bucket's failure, said as such: not a 500, nor a database that is down.
    const missing = s3Status(error) === 404
    payload.logger[missing ? 'warn' : 'error']({
      err: error,
      msg: `payload-image-assets: reading the stored file of ${collection.slug} ${doc.id} failed`,
    })
    throw missing
      ? uploadError('SOURCE_MISSING', collection.slug, { label: collection.label })
      : uploadError('STORAGE_FAILED', collection.slug, {
          label: collection.label,
          reading: 'stored',
        })
  }
  const format = sniffFormat(source) ?? 'webp'
  const base = (doc.originalFilename ?? doc.filename).replace(/\.[^.]*$/, '') || 'image'
  // What the upload was stays as recorded (a stored WebP is not the original).
  const keep = Object.fromEntries(
    (['originalFilename', 'originalFilesize', 'originalHeight', 'originalWidth'] as const)
      .filter((k) => doc[k] != null)
      .map((k) => [k, doc[k]]),
  )
  return prepareUpload(
    payload,
    // The stored file was accepted once; the collection's extension list and animation check may
    // have changed since (an animated PNG original accepted before is made from its first frame).
    {
      ...collection,
      allowedExtensions: Object.keys(FORMAT_BY_EXTENSION),
      limits: { ...collection.limits, animation: 'first-frame' },
    },
    services,
    { data: source, name: `${base}${FORMATS[format].extension}` },
    {
      expectFilename: doc.filename,
      framing: { ...framing, sourceCrop },
      internal: options.internal,
      keep,
      keptOriginal: doc.originalKey ?? undefined,
      // A stored WebP is not the original: `keepOriginal` switched on later keeps none for it.
      sourceIsOriginal: fromOriginal,
      trustedName: true,
    },
  )
}

/**
 * A write without a new file that moves the focal point or changes the crop (the admin's crop and
 * focal-point drawer, or `crop` / `focalX` / `focalY` in REST, GraphQL or Local API data): decides
 * the new framing from the stored document, and when files depend on it, makes them again
 * (`rerenderStored`) and returns the session to record. A focal point nothing depends on is only
 * put in `data`. The framing fields are otherwise removed from `data`: the plugin sets them.
 */
export const framingSession = async (
  req: PayloadRequest,
  collection: ResolvedCollection,
  services: UploadServices,
  id: number | string,
  data: Record<string, unknown>,
  write: { savesDraft?: boolean } = {},
): Promise<UploadSession | undefined> => {
  const edits = takeUploadEdits(req)
  if (!touchesFraming(data, edits)) return undefined
  req.context[FRAMED_KEY] = true
  // Read without the operation's transaction: the record step checks the file again under its lock.
  const doc = (await storedDocument(req.payload, collection.slug, id)) as
    (StoredImage & { focalX?: unknown; focalY?: unknown }) | null
  const change = doc?.filename ? framingChange(collection, data, edits, doc) : undefined
  delete data.crop
  delete data.focalX
  delete data.focalY
  if (!doc || !change) return undefined
  if (!change.render) {
    data.focalX = change.framing.focal.x
    data.focalY = change.framing.focal.y
    return undefined
  }
  // A draft holds no new image (`keepImageOutOfDraft`): refused before the image is made again.
  if (write.savesDraft)
    throw uploadError('DRAFT_IMAGE_CHANGE', collection.slug, { label: collection.label })
  return rerenderStored(req.payload, collection, services, doc, change.framing)
}
