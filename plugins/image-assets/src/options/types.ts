import type { CollectionConfig, Field } from 'payload'

import type { ImagePreset } from '../presets.js'

/** Per-collection settings. For a built-in collection every field is optional. */
export type ImageCollectionOptions = {
  /**
   * Who may read, create, update and delete. Merged over the defaults.
   * @default read: anyone; create, update, delete: logged-in users
   */
  access?: CollectionConfig['access']
  /**
   * Extensions accepted on upload (case-insensitive), a subset of `.jpg .jpeg .png .webp`.
   * @default the plugin's `allowedExtensions`
   */
  allowedExtensions?: string[]
  /**
   * How this collection's images are delivered; see `ImageAssetsPluginOptions.delivery`.
   * @default the plugin's `delivery`
   */
  delivery?: DeliveryMode
  /** Extra fields for the collection, added after the plugin's own. @default [] */
  fields?: Field[]
  /** Height of the box the image is fitted inside (px). Required for a custom collection. */
  height?: number
  /**
   * Direct-to-bucket uploads: the admin (and any client following the protocol in the README)
   * PUTs the original to a private staging prefix with a presigned URL, then creates the document
   * by reference, so big photos never cross the app's request-size limit. Needs the bucket's CORS
   * rule for browser PUTs (README). Multipart uploads keep working.
   * @default the plugin-wide `directUploads`
   */
  directUploads?: boolean
  /** Labels in the admin UI. @default the built-in labels, or the slug */
  labels?: { plural: string; singular: string }
  /** Limits checked from the image header before decoding. @default the plugin's `limits` */
  limits?: ImageLimits
  /**
   * Also store AVIF versions of the main image and every variant, for `<picture>` sources
   * (`avif` and `avifSrcSet` on the document). AVIF encodes are slower than WebP.
   * @default false
   */
  avif?: boolean
  /**
   * Keep the untouched upload in the bucket under the private `originals/<slug>/` prefix (never
   * public, whatever the delivery), so that `reoptimize` starts from the source rather than from
   * the compressed WebP. Costs the original's bytes in storage for every image.
   * @default false
   */
  keepOriginal?: boolean
  /** Store a ~16 px blurred WebP preview as a data URL on each document. @default true */
  placeholder?: boolean
  /** WebP quality, 1 to 100. Required for a custom collection. */
  quality?: number
  /**
   * Refuse a create or update that leaves `alt` empty (admin, REST, GraphQL, Local API), with the
   * message on the field. Documents saved before it was switched on stay readable; the dashboard
   * counts the ones missing alt text.
   * @default false
   */
  requireAlt?: boolean
  /**
   * Fixed shapes (art direction): each is a cover-fit crop of exactly `width` x `height` (never
   * enlarged) around the document's focal point, from the same decode as the main image, stored as
   * WebP (AVIF too, in the background, when `avif` is on) and exposed as `shapes.<name>` (`url`,
   * `width`, `height`, `filesize`, and a `srcSet` when it has `variants`). Names are letters,
   * digits and `_`, starting with a letter.
   * @default {}
   * @example { square: { width: 600, height: 600, variants: [300] }, social: { width: 1200, height: 630 } }
   */
  shapes?: Record<string, ImageShape>
  /**
   * Widths of the responsive variants stored beside the main image (never wider than it;
   * duplicates dropped), or `false` for none.
   * @default avatars [64, 128, 240], category-images [320, 800], product-images [320, 640, 1024], media [640, 1280, 1920], custom [320, 640, 1280]
   */
  variants?: false | number[]
  /** Width of the box the image is fitted inside (px). Required for a custom collection. */
  width?: number
}

/** Where the files go. Every field falls back to an environment variable. */
export type StorageOptions = {
  /** @default process.env.S3_ACCESS_KEY_ID (else the AWS SDK's default credential chain) */
  accessKeyId?: string
  /** @default process.env.S3_BUCKET (required) */
  bucket?: string
  /** S3-compatible endpoint (R2, MinIO, s3rver). @default process.env.S3_ENDPOINT (else AWS) */
  endpoint?: string
  /** Path-style addressing (`endpoint/bucket/key`). @default process.env.S3_FORCE_PATH_STYLE === 'true' */
  forcePathStyle?: boolean
  /** Public base URL of the bucket or a CDN in front of it. @default process.env.MEDIA_BASE_URL */
  mediaBaseURL?: string
  /** @default process.env.S3_REGION ?? 'us-east-1' */
  region?: string
  /** @default process.env.S3_SECRET_ACCESS_KEY */
  secretAccessKey?: string
  /**
   * The most one upload's store step may take, every S3 call and retry included (each call also
   * has its own connect and response deadlines); past it the upload gets HTTP 503.
   * @default process.env.S3_TIMEOUT_SECONDS ?? 30
   */
  timeoutSeconds?: number
}

/**
 * - `public`: documents carry the object's URL at `mediaBaseURL` (a CDN or a public bucket); objects
 *   are cached for a year (`immutable`), and their keys change whenever their bytes do.
 * - `signed`: a private bucket; documents carry presigned GET URLs that expire.
 * - `proxy`: Payload's own behaviour, the app streams every image (`/api/<slug>/file/<name>`). Slow.
 */
export type DeliveryMode = 'proxy' | 'public' | 'signed'

/** Presigned URLs in `signed` delivery. */
export type SignedURLOptions = {
  /** How long a URL works, in seconds (at most 7 days, S3's limit). @default process.env.MEDIA_SIGNED_URL_EXPIRES_IN ?? 3600 */
  expiresInSeconds?: number
  /**
   * URLs are signed at the start of a window of this many seconds, so that a document's URL stays
   * the same (and cacheable) within it. A URL works for at least `expiresInSeconds - windowSeconds`.
   * @default process.env.MEDIA_SIGNED_URL_WINDOW ?? 600, or half of `expiresInSeconds` when that is shorter
   */
  windowSeconds?: number
}

/** Creating a document from a URL (`url` in the body) instead of an uploaded file. */
export type RemoteURLOptions = {
  /**
   * Hosts allowed to be fetched: names, exactly or as `*.example.com`, or IP addresses (IPv6 with or
   * without brackets). A non-public IP address is refused here unless `allowPrivateAddresses` is on.
   */
  allowedHosts: string[]
  /**
   * Allow hosts that resolve to loopback, private, link-local or other non-public addresses, and
   * such addresses on the allowlist. Only for tests and internal image hosts. @default false
   */
  allowPrivateAddresses?: boolean
  /** Longest time a fetch may take, in seconds. @default 15 */
  timeoutSeconds?: number
}

/** Limits read from the image header, before any decoding. */
export type ImageLimits = {
  /**
   * Animated images (WebP with several frames): refuse them, or keep the first frame.
   * @default 'refuse'
   */
  animation?: 'first-frame' | 'refuse'
  /** Largest upload in bytes (HTTP 413 beyond it). @default 26_214_400 (25 MB) */
  maxBytes?: number
  /** Largest number of pixels (width x height). @default 64_000_000 */
  maxPixels?: number
  /** Longest side in pixels (catches long strips). @default 12_000 */
  maxSide?: number
  /** Longest time one image may take to process, in seconds (HTTP 503 beyond it). @default 30 */
  timeoutSeconds?: number
}

export type ImageAssetsPluginOptions = {
  /**
   * Extensions accepted on upload by every collection that does not set its own.
   * @default ['.jpg', '.jpeg', '.png', '.webp']
   */
  allowedExtensions?: string[]
  /**
   * Built-in collections (`avatars`, `category-images`, `product-images`, `media`) to adjust or
   * switch off with `false`, and custom collections to add (any other slug, with width, height
   * and quality).
   * @default {} (the four built-in collections with their presets)
   */
  collections?: Record<string, false | ImageCollectionOptions>
  /**
   * libvips loaders blocked in this process with `sharp.block` (the block is process-wide):
   * - `'memory'`: GIF, TIFF, SVG, HEIF/AVIF, PDF and the other non-JPEG/PNG/WebP loaders are blocked
   *   for in-memory input (buffers and streams, the way uploads arrive); files on disk, `create`,
   *   raw pixels and the JPEG, PNG and WebP loaders keep working for the rest of the app.
   * - `'all'`: only the JPEG, PNG and WebP loaders work at all, from memory or disk.
   * - `false`: nothing is blocked. Uploads to the plugin's collections are refused by their
   *   content's signature, and the pipeline checks that libvips picked that format's loader, so
   *   no other loader ever runs on them; the rest of the app (Payload's own resizing of GIF or
   *   TIFF in other upload collections) is left alone.
   * Opt in to harden the whole process, knowing that it affects every use of sharp in it.
   * @default false
   */
  blockDecoders?: 'all' | 'memory' | false
  /** Direct-to-bucket uploads for every collection that does not set its own. @default false */
  directUploads?: boolean
  /**
   * Delivery of every collection that does not set its own; see `DeliveryMode`.
   * @default process.env.MEDIA_DELIVERY ?? 'public'
   */
  delivery?: DeliveryMode
  /**
   * Bounded work, shared by all the plugin's collections: images processed at once, and uploads
   * allowed to wait; beyond that an upload gets HTTP 503 at once.
   * An upload waits at most `maxWaitSeconds` for its turn, then gets HTTP 503 with `Retry-After`.
   * `runJobs`: run the image jobs (AVIF versions, on the `image-assets` queue) in this process
   * right after the write that queues one; `false` leaves them to dedicated workers
   * (`payload jobs:run --queue image-assets`).
   * @default { concurrency: IMAGE_PROCESSING_CONCURRENCY ?? the number of CPUs, queueDepth: IMAGE_PROCESSING_QUEUE_DEPTH ?? 16, maxWaitSeconds: IMAGE_PROCESSING_MAX_WAIT_SECONDS ?? 30, runJobs: IMAGE_RUN_JOBS ?? true }
   */
  processing?: {
    concurrency?: number
    maxWaitSeconds?: number
    queueDepth?: number
    runJobs?: boolean
  }
  /**
   * Clean-up after commit: objects that no document references any more (replaced, deleted, or
   * written by an upload that did not finish) are recorded in the `image-asset-cleanup` collection
   * in the same transaction and deleted by the app itself, every `intervalSeconds` and right after
   * each request that recorded some. `0` switches the in-app runner off (another process, or
   * `payload reconcile-images --fix`, must then do it).
   * @default { intervalSeconds: IMAGE_CLEANUP_INTERVAL_SECONDS ?? 5 }
   */
  cleanup?: { intervalSeconds?: number }
  /** Header limits for every collection that does not set its own. @default see `ImageLimits` */
  limits?: ImageLimits
  /**
   * Creating images from a URL instead of a file: off unless an allowlist is given. When on, only
   * http(s) URLs on public addresses of the allowed hosts are fetched, without the user's cookies
   * or headers, with redirects checked the same way.
   * @default false, or the hosts in IMAGE_REMOTE_URL_HOSTS (comma-separated; IMAGE_REMOTE_URL_ALLOW_PRIVATE=true for allowPrivateAddresses)
   */
  remoteURLs?: false | RemoteURLOptions
  /** Presigned URLs in `signed` delivery; see `SignedURLOptions`. */
  signedURLs?: SignedURLOptions
  /** S3 bucket settings; see `StorageOptions`. @default read from the environment */
  storage?: StorageOptions
  /** WebP encoder effort of the main image, 0 (fastest) to 6 (smallest). @default 6 */
  webpEffort?: number
  /**
   * WebP encoder effort of the variants and shapes, 0 to 6. They are encoded beside the main
   * image on the request; at 5 they cost about half the CPU of effort 6 for about 2.5% more bytes
   * (README: "Request path with the reference app's config").
   * @default 5
   */
  webpVariantEffort?: number
  /**
   * Who counts as an administrator: they see the plugin's internal collections (pending
   * deletions, re-optimizations) in the admin; editors do not.
   * @default a user whose `role` is `'admin'` or whose `roles` include `'admin'`; in an app whose
   * users have neither field, every logged-in user
   */
  isAdmin?: (user: Record<string, unknown>) => boolean
}

/** One fixed shape of a collection (see `ImageCollectionOptions.shapes`). */
export type ImageShape = {
  height: number
  /** WebP quality, 1 to 100. @default the collection's quality */
  quality?: number
  /** Smaller widths of the same shape for its `srcSet`. @default [] */
  variants?: number[]
  width: number
}

export type ResolvedShape = {
  height: number
  name: string
  quality: number
  variantWidths: number[]
  width: number
}

export type ResolvedCollection = {
  access: CollectionConfig['access']
  /** Set when the plugin adopted an upload collection of the app (see collections/adopt.ts). */
  adoptedFrom?: { staticDir: string }
  allowedExtensions: readonly string[]
  delivery: DeliveryMode
  directUploads: boolean
  effort: number
  /** WebP effort of the variants and shapes. */
  variantEffort: number
  fields: Field[]
  /** The plural label, used in messages ("not allowed for Avatars"). */
  label: string
  labels: { plural: string; singular: string }
  avif: boolean
  keepOriginal: boolean
  limits: Required<ImageLimits>
  placeholder: boolean
  preset: ImagePreset
  requireAlt: boolean
  shapes: ResolvedShape[]
  slug: string
  variantWidths: number[]
}

export type ResolvedStorage = {
  bucket: string
  credentials?: { accessKeyId: string; secretAccessKey: string }
  endpoint?: string
  forcePathStyle: boolean
  mediaBaseURL?: string
  region: string
  timeoutSeconds: number
}

export type ResolvedRemoteURLs = Required<RemoteURLOptions>

export type ResolvedOptions = {
  blockDecoders: 'all' | 'memory' | false
  isAdmin: (user: Record<string, unknown>) => boolean
  cleanup: { intervalSeconds: number }
  collections: ResolvedCollection[]
  processing: { concurrency: number; maxWaitSeconds: number; queueDepth: number; runJobs: boolean }
  remoteURLs: false | ResolvedRemoteURLs
  signedURLs: Required<SignedURLOptions>
  storage: ResolvedStorage
}
