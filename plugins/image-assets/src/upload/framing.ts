import type { PayloadRequest } from 'payload'

import { uploadError } from '../errors.js'
import {
  CENTRE,
  composeCrop,
  type Crop,
  type Focal,
  focalWithin,
  GeometryInvalid,
  parseCrop,
  parseFocal,
  sameCrop,
  sameFocal,
} from '../image/geometry.js'
import type { ResolvedCollection } from '../options.js'
import type { FramingRequest } from './prepare.js'

/**
 * The editor's framing of an image, from what a write carries:
 *
 * - `crop` and `focalX`/`focalY` in the data (REST, GraphQL, Local API): the crop in percent of the
 *   original as shown, the focal point in percent of the main (cropped) image;
 * - the admin's `uploadEdits` query (Payload's crop and focal-point drawer): both in percent of the
 *   picture the editor saw, that is the new file, or for a stored image its main image (already
 *   cropped), so its crop narrows the current one.
 */

type Doc = { crop?: unknown; focalX?: unknown; focalY?: unknown }

type UploadEdits = { crop?: unknown; focalPoint?: { x?: unknown; y?: unknown } }

/** The admin's `uploadEdits` (parsed from the query string), taken off the request so that Payload never re-processes the file itself. */
export const takeUploadEdits = (req: PayloadRequest): UploadEdits | undefined => {
  const query = req.query as Record<string, unknown> | undefined
  const edits = query?.uploadEdits
  if (query && 'uploadEdits' in query) delete query.uploadEdits
  return edits && typeof edits === 'object' ? (edits as UploadEdits) : undefined
}

/** Set on the request once its framing was decided (the REST endpoint), so the hooks do not decide it again. */
export const FRAMED_KEY = 'payloadImageAssetsFramed'

const checked = <T>(collection: ResolvedCollection, parse: () => T): T => {
  try {
    return parse()
  } catch (error) {
    if (!(error instanceof GeometryInvalid)) throw error
    throw uploadError(error.field === 'crop' ? 'CROP_INVALID' : 'FOCAL_INVALID', collection.slug, {
      label: collection.label,
    })
  }
}

/** A focal point from two coordinates, or the collection's 400 when it is not inside the image. */
export const checkedFocal = (collection: ResolvedCollection, x: unknown, y: unknown): Focal =>
  checked(collection, () => parseFocal(x, y) ?? CENTRE)

/** The framing a document records now (what an older document without one means: all of it, centred). */
export const storedFraming = (doc: Doc): { crop: Crop | null; focal: Focal } => {
  let crop: Crop | null
  try {
    crop = parseCrop(doc.crop)
  } catch {
    crop = null
  }
  const x = typeof doc.focalX === 'number' ? doc.focalX : CENTRE.x
  const y = typeof doc.focalY === 'number' ? doc.focalY : CENTRE.y
  return { crop, focal: { x, y } }
}

/** The focal point the data asks for (a missing coordinate keeps `current`'s), if it asks for one. */
const dataFocal = (
  data: Record<string, unknown>,
  current: Focal,
  collection: ResolvedCollection,
): Focal | undefined => {
  if (data.focalX == null && data.focalY == null) return undefined
  return checked(collection, () => parseFocal(data.focalX ?? current.x, data.focalY ?? current.y))
}

const editsFocal = (edits: UploadEdits | undefined, collection: ResolvedCollection) =>
  edits?.focalPoint
    ? checked(collection, () => parseFocal(edits.focalPoint?.x, edits.focalPoint?.y))
    : undefined

/**
 * The framing of a new file (create or replacement). Values the admin sends back unchanged from
 * the document being replaced (`previous`) belong to the old image and are ignored.
 */
export const newFileFraming = (
  collection: ResolvedCollection,
  data: Record<string, unknown>,
  edits: UploadEdits | undefined,
  previous?: Doc,
): FramingRequest => {
  const before = previous ? storedFraming(previous) : undefined
  const editsCrop = checked(collection, () => parseCrop(edits?.crop))
  let crop = editsCrop
  if (data.crop !== undefined) {
    const given = checked(collection, () => parseCrop(data.crop))
    if (!before || !sameCrop(given, before.crop)) crop = given
  }
  let focal = dataFocal(data, CENTRE, collection)
  if (focal && before && sameFocal(focal, before.focal)) focal = undefined
  const fromEdits = editsFocal(edits, collection)
  if (fromEdits) focal = focalWithin(editsCrop, fromEdits)
  return { crop, focal: focal ?? CENTRE }
}

/**
 * What a write without a new file asks of a stored image's framing, if anything changes: the new
 * framing, and whether its files must be made again (a new crop, or a new focal point when the
 * collection has shapes; otherwise the focal point is only recorded).
 */
export const framingChange = (
  collection: ResolvedCollection,
  data: Record<string, unknown>,
  edits: UploadEdits | undefined,
  doc: Doc,
): undefined | { framing: FramingRequest; render: boolean } => {
  const current = storedFraming(doc)
  let { crop, focal } = current
  if (data.crop !== undefined) crop = checked(collection, () => parseCrop(data.crop))
  focal = dataFocal(data, focal, collection) ?? focal
  if (edits) {
    const within = checked(collection, () => parseCrop(edits.crop))
    const fromEdits = editsFocal(edits, collection)
    if (within) {
      crop = composeCrop(current.crop, within)
      focal = fromEdits ? focalWithin(within, fromEdits) : CENTRE
    } else if (fromEdits) focal = fromEdits
  }
  const cropChanged = !sameCrop(crop, current.crop)
  const focalChanged = !sameFocal(focal, current.focal)
  if (!cropChanged && !focalChanged) return undefined
  return {
    framing: { crop, focal },
    render: cropChanged || (focalChanged && collection.shapes.length > 0),
  }
}

/** True when the write's data or query touches the framing (so the stored document must be read). */
export const touchesFraming = (
  data: Record<string, unknown> | undefined,
  edits: UploadEdits | undefined,
): boolean =>
  Boolean(edits) ||
  (data !== undefined && (data.crop !== undefined || data.focalX != null || data.focalY != null))
