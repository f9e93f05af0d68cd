import type { Access, CollectionConfig } from 'payload'

import { attachImageHook } from '../hooks/attachImage.js'
import { processUploadHook } from '../hooks/processUpload.js'
import { FORMAT_NAMES, formatsFor } from '../image/formats.js'
import type { WorkLimiter } from '../image/limiter.js'
import type { ResolvedCollection } from '../options.js'

const loggedIn: Access = ({ req }) => Boolean(req.user)
const anyone: Access = () => true

const MIME_TYPES = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' } as const

/** The upload collection for one resolved preset. */
export const imageCollection = (collection: ResolvedCollection, limiter: WorkLimiter): CollectionConfig => {
  const formats = formatsFor(collection.allowedExtensions)
  const { height, quality, width } = collection.preset
  return {
    slug: collection.slug,
    access: { create: loggedIn, delete: loggedIn, read: anyone, update: loggedIn, ...collection.access },
    admin: {
      defaultColumns: ['filename', 'originalFilename', 'alt', 'width', 'height', 'filesize'],
      description: `Images are fitted inside ${width} x ${height} px and stored as WebP (quality ${quality}). Accepted: ${formats.map((f) => FORMAT_NAMES[f]).join(', ')} (${collection.allowedExtensions.join(', ')}).`,
      group: 'Images',
      useAsTitle: 'originalFilename',
    },
    // A copy would re-download the WebP by URL and re-encode an already compressed image; to get
    // a second document, upload the original again.
    disableDuplicate: true,
    custom: { imageAssets: { allowedExtensions: collection.allowedExtensions, preset: collection.preset } },
    fields: [
      { name: 'alt', type: 'text', label: 'Alt text' },
      {
        name: 'originalFilename',
        type: 'text',
        access: { create: () => false, update: () => false },
        admin: { condition: (data) => Boolean(data?.originalFilename), readOnly: true },
        label: 'Original filename',
      },
      ...collection.fields,
    ],
    hooks: {
      beforeChange: [attachImageHook(collection, limiter)],
      beforeOperation: [processUploadHook(collection, limiter)],
    },
    labels: collection.labels,
    upload: {
      crop: false,
      filesRequiredOnCreate: false,
      focalPoint: false,
      mimeTypes: formats.map((f) => MIME_TYPES[f]),
    },
  }
}
