import type { CollectionBeforeChangeHook, PayloadRequest } from 'payload'

import { uploadErrors } from '../errors.js'
import type { WorkLimiter } from '../image/limiter.js'
import { assertAllowedName, processImage } from '../image/pipeline.js'
import type { ResolvedCollection } from '../options.js'
import type { Delivery } from '../storage/delivery.js'
import { contentDisposition } from '../storage/headers.js'
import { displayFilename, objectFilename, objectKey } from '../storage/keys.js'
import type { StoredObject } from '../storage/objects.js'
import { readUpload, takePending } from './pending.js'

const writes = new WeakMap<PayloadRequest, StoredObject[]>()

/** The objects `attachImage` prepared for this request, once (for `storeImage` to write). */
export const takeWrites = (req: PayloadRequest): StoredObject[] | undefined => {
  const value = writes.get(req)
  writes.delete(req)
  return value
}

/**
 * beforeChange: records the processed image on the document (record) and prepares its objects
 * (main WebP and variants, with their keys and headers) for `storeImage`, which writes them after
 * the database write.
 *
 * It is also an enforcement point of its own: a file that reached Payload some other way than the
 * REST/Local API upload goes through the same pipeline here, and a change that sets a filename
 * without a new file must still name an allowed extension.
 */
export const attachImageHook =
  (collection: ResolvedCollection, limiter: WorkLimiter, delivery: Delivery): CollectionBeforeChangeHook =>
  async ({ data, originalDoc, req }) => {
    let pending = takePending(req)
    if (!pending && req.file) {
      const file = req.file
      const bytes = await readUpload(file)
      const done = await limiter.run(() => processImage({ data: bytes, name: file.name }, collection))
      if (!done) throw uploadErrors.busy(collection.slug, collection.label)
      pending = { image: done.value, originalName: file.name }
    }
    req.file = undefined
    if (!pending) {
      if (typeof data.filename === 'string' && data.filename !== originalDoc?.filename) {
        assertAllowedName(data.filename, collection)
      }
      return data
    }
    const { image, originalName } = pending
    const prefix = collection.slug
    const display = displayFilename(originalName)
    const filename = objectFilename(image.data)
    const variants = image.variants.map((variant) => ({ ...variant, filename: objectFilename(variant.data) }))
    const avif = image.avif.map((version) => ({ ...version, filename: objectFilename(version.data, '.avif') }))
    const object = (name: string, body: Buffer, type: 'avif' | 'webp' = 'webp'): StoredObject => ({
      body,
      cacheControl: delivery.cacheControl,
      contentDisposition: contentDisposition(display || 'image', `.${type}`),
      contentType: `image/${type}`,
      key: objectKey(prefix, name),
    })
    writes.set(req, [
      object(filename, image.data),
      ...variants.map((v) => object(v.filename, v.data)),
      ...avif.map((v) => object(v.filename, v.data, 'avif')),
    ])
    const listed = (list: typeof variants) => list.map(({ filename, data: bytes, height, width }) => ({ filename, filesize: bytes.length, height, width }))
    return {
      ...data,
      filename,
      filesize: image.data.length,
      height: image.height,
      mimeType: image.mimeType,
      originalFilename: display,
      originalFilesize: image.original.bytes,
      originalHeight: image.original.height,
      originalWidth: image.original.width,
      placeholder: image.placeholder || null,
      prefix,
      avif: avif.length > 0 ? listed(avif) : null,
      variants: listed(variants),
      width: image.width,
    }
  }
