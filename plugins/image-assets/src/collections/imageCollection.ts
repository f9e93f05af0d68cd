import type { Access, CollectionConfig, FieldHook, JSONField } from 'payload'

import { describeSaving, storedBytes } from '../admin/savings.js'
import { JOBS_PER_RUN } from '../ops/avif.js'
import { requireAltValidate } from '../upload/alt.js'
import { databaseDownHook } from '../upload/databaseDown.js'
import { presignEndpoint } from '../upload/direct.js'
import { uploadEndpoints } from '../upload/endpoints.js'
import {
  afterWriteHook,
  lockDeletionHook,
  prepareInOperationHook,
  queueVersionsHook,
  recordDeletionHook,
  recordImageHook,
} from '../upload/record.js'
import { FORMAT_NAMES, FORMATS, formatsFor } from '../image/formats.js'
import type { WorkLimiter } from '../image/limiter.js'
import type { ResolvedCollection, ResolvedRemoteURLs } from '../options.js'
import { fileRouteHandler } from '../storage/adapter.js'
import type { Delivery } from '../storage/delivery.js'
import { prefixOf } from '../storage/keys.js'
import type { ObjectStore } from '../storage/objects.js'

const loggedIn: Access = ({ req }) => Boolean(req.user)
const anyone: Access = () => true
const never = () => false

type StoredVariant = {
  filename: string
  filesize: number
  height: number
  url?: string
  width: number
}

type JSONSchema4 = ReturnType<NonNullable<JSONField['typescriptSchema']>[number]>

/** The generated type of `variants` and `avif`: the stored versions with their URLs. */
const versionsSchema = (nullable: boolean) => (): JSONSchema4 => {
  const list: JSONSchema4 = {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      properties: {
        filename: { type: 'string' },
        filesize: { type: 'number' },
        height: { type: 'number' },
        url: { type: 'string' },
        width: { type: 'number' },
      },
      required: ['filename', 'filesize', 'height', 'url', 'width'],
    },
  }
  return nullable ? { oneOf: [list, { type: 'null' }] } : list
}

/** The generated type of `crop`: percent of the original as shown, or null for all of it. */
const cropSchema = (): JSONSchema4 => ({
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      properties: {
        height: { type: 'number' },
        width: { type: 'number' },
        x: { type: 'number' },
        y: { type: 'number' },
      },
      required: ['height', 'width', 'x', 'y'],
    },
    { type: 'null' },
  ],
})

/** The generated type of `shapes`: one entry per shape the collection defines. */
const shapesSchema = (names: readonly string[]) => (): JSONSchema4 => {
  const version = (versionsSchema(false)() as { items: JSONSchema4 }).items
  const shape: JSONSchema4 = {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...(version.properties as Record<string, JSONSchema4>),
      avif: versionsSchema(false)(),
      avifSrcSet: { oneOf: [{ type: 'string' }, { type: 'null' }] },
      srcSet: { oneOf: [{ type: 'string' }, { type: 'null' }] },
      variants: versionsSchema(false)(),
    },
    required: ['filename', 'filesize', 'height', 'url', 'width', 'variants'],
  }
  return {
    oneOf: [
      {
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(names.map((name) => [name, shape])),
      },
      { type: 'null' },
    ],
  }
}

/** A list of stored versions, with the URL each is delivered at (the same function as the main URL). */
const withURLs = async (
  list: unknown,
  doc: { prefix?: unknown },
  slug: string,
  delivery: Delivery,
): Promise<StoredVariant[]> => {
  const variants = Array.isArray(list) ? (list as StoredVariant[]) : []
  const prefix = prefixOf(doc, slug)
  return Promise.all(
    variants.map(async (v) => ({ ...v, url: await delivery.url(prefix, v.filename) })),
  )
}

/** The upload collection for one resolved preset. */
export const imageCollection = (
  collection: ResolvedCollection,
  services: {
    delivery: Delivery
    limiter: WorkLimiter
    remoteURLs: false | ResolvedRemoteURLs
    /** Run the image jobs (AVIF versions) in this process after each write that queues one. */
    runJobs: boolean
    store: ObjectStore
  },
): CollectionConfig => {
  const { delivery } = services
  const formats = formatsFor(collection.allowedExtensions)
  const { height, quality, width } = collection.preset
  const variantsAfterRead: FieldHook = async ({ data }) =>
    data ? withURLs(data.variants, data, collection.slug, delivery) : []
  const avifAfterRead: FieldHook = async ({ data }) =>
    data?.avif ? withURLs(data.avif, data, collection.slug, delivery) : null
  const srcSetOf = (entries: Array<{ url?: string; width?: number }>) =>
    entries
      .filter((e) => e.url && e.width)
      .map((e) => `${e.url} ${e.width}w`)
      .join(', ')
  const avifSrcSetAfterRead: FieldHook = async ({ data }) =>
    data?.avif && delivery.mode !== 'proxy'
      ? srcSetOf(await withURLs(data.avif, data, collection.slug, delivery)) || null
      : null
  const srcSetAfterRead: FieldHook = async ({ data }) => {
    if (!data || typeof data.filename !== 'string' || delivery.mode === 'proxy') return null
    const prefix = prefixOf(data, collection.slug)
    return srcSetOf([
      ...(await withURLs(data.variants, data, collection.slug, delivery)),
      { url: await delivery.url(prefix, data.filename), width: data.width },
    ])
  }
  /** Each shape with its URL, its variants' and AVIF versions' URLs, and their srcSets. */
  const shapesAfterRead: FieldHook = async ({ data }) => {
    const shapes = data?.shapes as null | Record<string, StoredVariant & Record<string, unknown>>
    if (!data || !shapes || typeof shapes !== 'object') return null
    const prefix = prefixOf(data, collection.slug)
    const entries = await Promise.all(
      Object.entries(shapes).map(async ([name, shape]) => {
        const url = await delivery.url(prefix, shape.filename)
        const variants = await withURLs(shape.variants, data, collection.slug, delivery)
        const avif = await withURLs(shape.avif, data, collection.slug, delivery)
        const srcSet = (list: StoredVariant[], min: number) =>
          list.length >= min && delivery.mode !== 'proxy' ? srcSetOf(list) || null : null
        return [
          name,
          {
            ...shape,
            avif,
            // The AVIF versions are a <source>'s only candidates: one is enough.
            avifSrcSet: srcSet(avif, 1),
            srcSet: srcSet([...variants, { ...shape, url }], 2),
            url,
            variants,
          },
        ] as const
      }),
    )
    return Object.fromEntries(entries)
  }
  const savingAfterRead: FieldHook = ({ data }) =>
    data?.originalFilesize && data?.filesize
      ? describeSaving(data.originalFilesize, storedBytes(data))
      : null
  const readOnly = { access: { create: never, update: never }, admin: { readOnly: true } }
  return {
    slug: collection.slug,
    access: {
      create: loggedIn,
      delete: loggedIn,
      read: anyone,
      update: loggedIn,
      ...collection.access,
    },
    admin: {
      // `filename` is listed by the uploader's name (ImageFileCell), with the thumbnail.
      defaultColumns: ['filename', 'alt', 'width', 'height', 'filesize', 'saving'],
      description: `Images are fitted inside ${width} x ${height} px and stored as WebP (quality ${quality}). Accepted: ${formats.map((f) => FORMAT_NAMES[f]).join(', ')} (${collection.allowedExtensions.join(', ')}).`,
      group: 'Images',
      useAsTitle: 'originalFilename',
    },
    // A copy would re-download the WebP by URL and re-encode an already compressed image; to get
    // a second document, upload the original again.
    disableDuplicate: true,
    custom: {
      imageAssets: { allowedExtensions: collection.allowedExtensions, preset: collection.preset },
    },
    fields: [
      {
        name: 'alt',
        type: 'text',
        label: 'Alt text',
        // Its message says what is missing; no description, so the generated types do not depend on it.
        ...(collection.requireAlt ? { validate: requireAltValidate(collection) } : {}),
      },
      // Payload's own `filename` (the stored key), listed by the uploader's name (admin/client.tsx).
      {
        name: 'filename',
        type: 'text',
        admin: { components: { Cell: 'payload-image-assets/client#ImageFileCell' } },
      },
      {
        name: 'originalFilename',
        type: 'text',
        ...readOnly,
        admin: { condition: (data) => Boolean(data?.originalFilename), readOnly: true },
        label: 'Original filename',
      },
      {
        name: 'originalFilesize',
        type: 'number',
        ...readOnly,
        admin: { hidden: true },
        label: 'Original size (bytes)',
      },
      { name: 'originalWidth', type: 'number', ...readOnly, admin: { hidden: true } },
      { name: 'originalHeight', type: 'number', ...readOnly, admin: { hidden: true } },
      { name: 'placeholder', type: 'text', ...readOnly, admin: { hidden: true } },
      // Operations: the settings that produced the files, the kept original, and every object key
      // (for reoptimize and reconcile).
      { name: 'fingerprint', type: 'text', ...readOnly, admin: { hidden: true }, index: true },
      { name: 'originalKey', type: 'text', ...readOnly, admin: { hidden: true } },
      {
        name: 'objectKeys',
        type: 'text',
        ...readOnly,
        admin: { hidden: true },
        hasMany: true,
        index: true,
      },
      {
        name: 'variants',
        type: 'json',
        ...readOnly,
        admin: { hidden: true },
        hooks: { afterRead: [variantsAfterRead] },
        typescriptSchema: [versionsSchema(false)],
      },
      {
        name: 'srcSet',
        type: 'text',
        admin: { hidden: true },
        hooks: { afterRead: [srcSetAfterRead] },
        virtual: true,
      },
      // Framing: set with Payload's crop and focal-point editor, or `crop` / `focalX` / `focalY`
      // through the API (upload/framing.ts); `focalX` and `focalY` are Payload's own fields.
      {
        name: 'crop',
        type: 'json',
        admin: { hidden: true },
        typescriptSchema: [cropSchema],
      },
      {
        name: 'shapes',
        type: 'json',
        ...readOnly,
        admin: { hidden: true },
        hooks: { afterRead: [shapesAfterRead] },
        typescriptSchema: [shapesSchema(collection.shapes.map((s) => s.name))],
      },
      {
        name: 'framingPreview',
        type: 'ui',
        admin: {
          components: { Field: 'payload-image-assets/client#FramingPreview' },
          position: 'sidebar',
        },
      },
      {
        name: 'avif',
        type: 'json',
        ...readOnly,
        admin: { hidden: true },
        hooks: { afterRead: [avifAfterRead] },
        typescriptSchema: [versionsSchema(true)],
      },
      {
        name: 'avifSrcSet',
        type: 'text',
        admin: { hidden: true },
        hooks: { afterRead: [avifSrcSetAfterRead] },
        virtual: true,
      },
      {
        name: 'saving',
        type: 'text',
        admin: { condition: (data) => Boolean(data?.originalFilesize), readOnly: true },
        hooks: { afterRead: [savingAfterRead] },
        label: 'Saving',
        virtual: true,
      },
      ...collection.fields,
    ],
    // The upload path for REST: authorize, prepare (no transaction), record, clean up. Listed
    // before Payload's own endpoints, so they answer `POST /`, `PATCH /:id` and `DELETE /:id`.
    endpoints: [
      ...(collection.directUploads ? [presignEndpoint(collection, services.store)] : []),
      ...uploadEndpoints(collection, services),
    ],
    hooks: {
      afterChange: [queueVersionsHook(collection)],
      afterDelete: [recordDeletionHook(collection)],
      afterError: [databaseDownHook],
      afterOperation: [afterWriteHook(services.runJobs ? JOBS_PER_RUN : false)],
      beforeChange: [recordImageHook(collection)],
      beforeDelete: [lockDeletionHook(collection)],
      beforeOperation: [prepareInOperationHook(collection, services)],
    },
    labels: collection.labels,
    upload: {
      // Keys change whenever the bytes do, so the admin needs no cache-busting query; one would
      // also break presigned URLs (`signed` delivery), whose query is signed.
      cacheTags: false,
      // Payload's crop and focal-point editor; the plugin applies the edits itself (upload/framing.ts).
      crop: true,
      filesRequiredOnCreate: false,
      // Payload's file route: streams (proxy delivery) or redirects to the delivery URL; 404 when
      // missing. In proxy delivery the storage adapter adds the same handler itself, and Payload
      // runs every handler for a direct upload's claim: one is enough (else the staged object is
      // read twice).
      handlers:
        delivery.mode === 'proxy'
          ? []
          : [
              fileRouteHandler(
                services.store,
                collection.slug,
                delivery,
                collection.limits.maxBytes,
              ),
            ],
      focalPoint: true,
      mimeTypes: formats.map((f) => FORMATS[f].mimeType),
      pasteURL: false,
    },
  }
}
