import { fileURLToPath } from 'node:url'

import type { Config } from 'payload'

import { withImageUploadFields } from './admin/uploadFields.js'
import { adoptCollection, adoptedSettings } from './collections/adopt.js'
import { imageCollection } from './collections/imageCollection.js'
import { blockDecoders } from './image/decoders.js'
import { WorkLimiter } from './image/limiter.js'
import { ImageAssetsConfigError, messages } from './errors.js'
import { FORM_ROOM_BYTES, PAYLOAD_REQUEST_BYTES } from './upload/responseHeaders.js'
import { type ImageAssetsPluginOptions, resolveOptions } from './options.js'
import { deliveryFor } from './storage/delivery.js'
import { ObjectStore } from './storage/objects.js'
import { LEDGER_SLUG, ledgerCollection } from './collections/ledger.js'
import {
  avifTask,
  IMAGE_QUEUE,
  JOBS_INTERVAL_MS,
  JOBS_PER_RUN,
  startImageJobs,
} from './ops/avif.js'
import { guardJobUpdates } from './ops/jobClaims.js'
import { REOPTIMIZE_TASK, reoptimizeDocument } from './ops/reoptimize.js'
import { RUNTIME_KEY, type Runtime } from './ops/runtime.js'
import { CLEANUP_SLUG, cleanupCollection } from './collections/cleanup.js'
import { startCleanup } from './storage/cleanupRunner.js'
import { storageAdapterPlugin } from './storage/adapter.js'

const commandScripts = (): Array<{ key: string; scriptPath: string }> => {
  try {
    return [
      {
        key: 'reoptimize-images',
        scriptPath: fileURLToPath(new URL('./cli/reoptimize.js', import.meta.url)),
      },
      {
        key: 'reconcile-images',
        scriptPath: fileURLToPath(new URL('./cli/reconcile.js', import.meta.url)),
      },
      {
        key: 'image-assets:check',
        scriptPath: fileURLToPath(new URL('./cli/check.js', import.meta.url)),
      },
    ]
  } catch {
    return []
  }
}

/**
 * Adds the image upload collections (avatars, category-images, product-images, media, and any
 * custom ones) and wires them to one S3 bucket. An upload collection the app already has under
 * one of those slugs keeps its own fields, hooks, access and admin settings and gets the
 * pipeline (see collections/adopt.ts).
 *
 * @example
 * plugins: [imageAssetsPlugin()]
 */
export const imageAssetsPlugin =
  (options: ImageAssetsPluginOptions = {}) =>
  async (config: Config): Promise<Config> => {
    const existing = config.collections ?? []
    const appCollection = new Map(existing.map((c) => [c.slug, c]))
    for (const slug of [CLEANUP_SLUG, LEDGER_SLUG]) {
      if (appCollection.has(slug)) {
        throw new ImageAssetsConfigError(
          `the collection "${slug}" already exists in the config; the plugin keeps its own records in it. Rename yours.`,
        )
      }
    }
    // An upload collection the app already has with one of the plugin's slugs is adopted.
    const fromOptions = resolveOptions(options)
    const resolved = {
      ...fromOptions,
      collections: fromOptions.collections.map((c) => {
        const app = appCollection.get(c.slug)
        return app ? adoptedSettings(app, c) : c
      }),
    }
    blockDecoders(resolved.blockDecoders)
    const limiter = new WorkLimiter(
      resolved.processing.concurrency,
      resolved.processing.queueDepth,
      resolved.processing.maxWaitSeconds * 1000,
    )
    const store = new ObjectStore(resolved.storage)
    const deliveries = new Map(
      resolved.collections.map((c) => [c.slug, deliveryFor(c, resolved, store)]),
    )
    const runtime: Runtime = { collections: resolved.collections, deliveries, limiter, store }
    const ours = new Map(
      resolved.collections.map((c) => {
        const built = imageCollection(c, {
          delivery: deliveries.get(c.slug)!,
          limiter,
          remoteURLs: resolved.remoteURLs,
          runJobs: resolved.processing.runJobs,
          store,
        })
        const app = appCollection.get(c.slug)
        return [c.slug, app ? adoptCollection(app, built, c) : built]
      }),
    )
    // The commands exist where the config runs as plain Node (the `payload` bin); inside a bundle
    // (Next) `import.meta.url` may not be a file URL, and no command is needed there.
    const scripts = commandScripts()
    // Payload's multipart parser aborts oversize uploads with 413 before they are buffered; unless
    // the app set its own limit, make it the largest of the plugin's per-collection limits.
    const maxBytes = Math.max(...resolved.collections.map((c) => c.limits.maxBytes))
    const withCollections: Config = {
      ...config,
      admin: {
        ...config.admin,
        components: {
          ...config.admin?.components,
          beforeDashboard: [
            ...(config.admin?.components?.beforeDashboard ?? []),
            'payload-image-assets/admin#ImageSavings',
          ],
          // Direct-to-bucket uploads: the admin's upload handler, per collection that has them.
          providers: [
            ...(config.admin?.components?.providers ?? []),
            ...resolved.collections
              .filter((c) => c.directUploads)
              .map((c) => ({
                clientProps: { collectionSlug: c.slug, enabled: true },
                path: 'payload-image-assets/client#DirectUploadHandler',
              })),
          ],
        },
      },
      // `payload reoptimize-images`, `payload reconcile-images` and `payload image-assets:check`.
      bin: [...(config.bin ?? []), ...scripts],
      collections: [
        ...existing.map((c) => ours.get(c.slug) ?? c),
        ...[...ours.values()].filter((c) => !appCollection.has(c.slug)),
        cleanupCollection(resolved.isAdmin),
        ledgerCollection(resolved.isAdmin),
      ],
      custom: { ...config.custom, [RUNTIME_KEY]: runtime },
      // A refused anonymous upload (401) is the client's error, like Payload's own 403s, which it
      // logs at info: one line each, not an error with a stack trace per request of a flood. The
      // app's own setting wins. (Payload's `ErrorName` type leaves this error out; its logger keys
      // on the error's name all the same.)
      loggingLevels: {
        ...({ UnauthorizedError: 'info' } as Config['loggingLevels']),
        ...config.loggingLevels,
      },
      // Clean-up after commit runs in every process that boots Payload (the app, workers, commands).
      onInit: async (payload) => {
        // Before any run of the image queue: claims one at a time, no transaction left open.
        guardJobUpdates(payload, IMAGE_QUEUE)
        startCleanup(payload, store, resolved.cleanup.intervalSeconds * 1000)
        if (resolved.processing.runJobs) startImageJobs(payload, JOBS_INTERVAL_MS, JOBS_PER_RUN)
        await config.onInit?.(payload)
      },
      // Re-optimization as a jobs-queue task: `payload reoptimize-images --queue` queues one per
      // stale image, and any number of `payload jobs:run --queue image-assets` workers share them.
      jobs: {
        ...config.jobs,
        tasks: [
          ...(config.jobs?.tasks ?? []),
          {
            slug: REOPTIMIZE_TASK,
            handler: async ({ input, req }) => {
              const { collection, id } = input as { collection: string; id: string }
              const result = await reoptimizeDocument(req.payload, runtime, collection, id)
              return { output: { status: result.status } }
            },
            inputSchema: [
              { name: 'collection', type: 'text', required: true },
              { name: 'id', type: 'text', required: true },
            ],
            outputSchema: [{ name: 'status', type: 'text' }],
            retries: 2,
          },
          // AVIF versions, off the request path (ops/avif.ts).
          avifTask(runtime),
        ],
      },
      upload: {
        ...config.upload,
        abortOnLimit: config.upload?.abortOnLimit ?? true,
        // Payload hands the parser `{ ...bodyParser, ...upload }`: `upload.limits` replaces
        // `bodyParser.limits` whole, so the app's own body limits are carried over into it.
        limits: {
          ...config.bodyParser?.limits,
          ...config.upload?.limits,
          // The parser stops a file when it reaches `fileSize` bytes (it cannot tell whether more
          // would come): one byte over, so that a file of exactly the limit is read whole.
          fileSize: config.upload?.limits?.fileSize ?? maxBytes + 1,
        },
        // Payload's parser also caps the whole body (50 MiB unless set): room for the largest file
        // and its fields.
        requestSizeLimit:
          config.upload?.requestSizeLimit ??
          Math.max(PAYLOAD_REQUEST_BYTES, maxBytes + FORM_ROOM_BYTES),
        responseOnLimit:
          config.upload?.responseOnLimit ??
          messages.requestTooLarge({ maxBytes: config.upload?.limits?.fileSize ?? maxBytes }),
      },
    }
    // Upload fields that point at the image collections show the images' original names.
    const withFields = withImageUploadFields(
      withCollections,
      resolved.collections.map((c) => c.slug),
    )
    return storageAdapterPlugin(resolved, deliveries, store)(withFields)
  }
