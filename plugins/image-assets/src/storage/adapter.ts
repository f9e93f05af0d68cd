import { cloudStoragePlugin } from '@payloadcms/plugin-cloud-storage'
import type { Adapter, StaticHandler } from '@payloadcms/plugin-cloud-storage/types'
import type { Plugin } from 'payload'

import type { ResolvedOptions } from '../options.js'
import type { Delivery } from './delivery.js'
import { objectKey } from './keys.js'
import { type ObjectStore, s3Status } from './objects.js'
import { stagedKeyOf, stagedObjectResponse, stagedReadFailed } from '../upload/direct.js'

/** Names the plugin gives its objects (`keys.ts`): nothing else is ever read through the proxy route. */
const OBJECT_NAME = /^[0-9a-f]{16}-[0-9a-f]{8}\.(webp|avif)$/

/**
 * deliver: Payload's storage-adapter interface (`@payloadcms/plugin-cloud-storage`, the package
 * `@payloadcms/storage-s3` is built on) gives the collections their URL field, admin thumbnails and,
 * in `proxy` mode, the file route. Writing and deleting objects is not the adapter's job here: the
 * upload path stores them before the document is recorded and the clean-up deletes them after
 * commit, so `handleUpload` and `handleDelete` do nothing by design (the plugin detaches the file
 * before Payload's own upload step, and a delete is recorded for the clean-up instead).
 */
/**
 * Payload's file route (`/api/<slug>/file/<name>`) for one collection: in `proxy` delivery it
 * streams the object; otherwise it redirects to the object's delivery URL (the app never streams
 * media there). Names the plugin did not generate, and objects that are not there, are 404.
 */
export const fileRouteHandler =
  (store: ObjectStore, slug: string, delivery: Delivery, maxBytes = Infinity): StaticHandler =>
  async (req, { params }) => {
    // Payload's client-upload step (direct-to-bucket uploads) asks for the staged bytes; a
    // reference to anything else is read no further (the upload path refuses it).
    if ('clientUploadContext' in params) {
      const staged = stagedKeyOf(slug, params.clientUploadContext)
      if (!staged) return new Response('Not Found', { status: 404 })
      return stagedObjectResponse(store, staged, maxBytes).catch((error: unknown) =>
        // Payload would log a thrown error and answer 500; the upload path reads the reason.
        stagedReadFailed(req, error),
      )
    }
    if (!OBJECT_NAME.test(params.filename)) return new Response('Not Found', { status: 404 })
    const key = objectKey(slug, params.filename)
    try {
      if (delivery.mode !== 'proxy') {
        await store.head(key)
        return Response.redirect(String(await delivery.url(slug, params.filename)), 302)
      }
      const object = await store.getObject(key, req.headers.get('if-none-match') ?? undefined)
      if (object.notModified)
        return new Response(null, { headers: { ETag: object.etag ?? '' }, status: 304 })
      const headers = new Headers({
        'Content-Length': String(object.body.length),
        'Content-Type': object.contentType ?? 'application/octet-stream',
      })
      if (object.etag) headers.set('ETag', object.etag)
      if (object.cacheControl) headers.set('Cache-Control', object.cacheControl)
      return new Response(new Uint8Array(object.body), { headers, status: 200 })
    } catch (error) {
      if (s3Status(error) === 404) return new Response('Not Found', { status: 404 })
      req.payload.logger.error({ err: error, msg: `payload-image-assets: reading ${key} failed` })
      return new Response('The image could not be read from storage; try again in a moment.', {
        headers: { 'Retry-After': '10' },
        status: 503,
      })
    }
  }

/**
 * deliver: Payload's storage-adapter interface (`@payloadcms/plugin-cloud-storage`, the package
 * `@payloadcms/storage-s3` is built on) gives the collections their URL field and admin
 * thumbnails. Writing and deleting objects is not the adapter's job here: the upload path stores
 * them before the document is recorded and the clean-up deletes them after commit, so
 * `handleUpload` and `handleDelete` do nothing by design (the plugin detaches the file before
 * Payload's own upload step, and a delete is recorded for the clean-up instead). The file route is
 * the collection's own handler (`fileRouteHandler`, set on every plugin collection).
 */
const imageAssetsAdapter =
  (store: ObjectStore, delivery: Delivery, maxBytes: number): Adapter =>
  ({ collection }) => ({
    name: 'payload-image-assets',
    handleDelete: () => undefined,
    handleUpload: () => undefined,
    staticHandler: fileRouteHandler(store, collection.slug, delivery, maxBytes),
  })

/**
 * Every plugin collection is served from one bucket, under a prefix named after its slug. In
 * `public` and `signed` delivery `disablePayloadAccessControl` keeps the app from streaming media:
 * documents carry the delivery URL (CDN, bucket, or presigned). In `proxy` delivery Payload's file
 * route streams the object through the adapter's handler.
 */
export const storageAdapterPlugin = (
  options: ResolvedOptions,
  deliveries: ReadonlyMap<string, Delivery>,
  store: ObjectStore,
): Plugin =>
  cloudStoragePlugin({
    collections: Object.fromEntries(
      options.collections.map((collection) => {
        const delivery = deliveries.get(collection.slug)!
        const adapter = imageAssetsAdapter(store, delivery, collection.limits.maxBytes)
        if (delivery.mode === 'proxy')
          return [collection.slug, { adapter, prefix: collection.slug }]
        return [
          collection.slug,
          {
            adapter,
            disablePayloadAccessControl: true as const,
            generateFileURL: async ({ filename, prefix }: { filename: string; prefix?: string }) =>
              (await delivery.url(prefix ?? collection.slug, filename)) ?? '',
            prefix: collection.slug,
          },
        ]
      }),
    ),
  })
