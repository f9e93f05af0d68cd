import { availableParallelism } from 'node:os'

import type { CollectionConfig, Field } from 'payload'

import { ImageAssetsConfigError, messages } from './errors.js'
import { FORMAT_BY_EXTENSION } from './image/formats.js'
import {
  BUILT_IN_COLLECTIONS,
  DEFAULT_ALLOWED_EXTENSIONS,
  DEFAULT_VARIANT_WIDTHS,
  DEFAULT_WEBP_EFFORT,
  type ImagePreset,
  isBuiltInSlug,
} from './presets.js'
import { formatIPAddress, isPublicAddress, parseIPAddress } from './remote/addresses.js'

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
  /** Largest number of pixels (width x height). @default 40_000_000 */
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
  /**
   * Delivery of every collection that does not set its own; see `DeliveryMode`.
   * @default process.env.MEDIA_DELIVERY ?? 'public'
   */
  delivery?: DeliveryMode
  /**
   * Bounded work, shared by all the plugin's collections: images processed at once, and uploads
   * allowed to wait; beyond that an upload gets HTTP 503 at once.
   * An upload waits at most `maxWaitSeconds` for its turn, then gets HTTP 503 with `Retry-After`.
   * @default { concurrency: IMAGE_PROCESSING_CONCURRENCY ?? the number of CPUs, queueDepth: IMAGE_PROCESSING_QUEUE_DEPTH ?? 16, maxWaitSeconds: IMAGE_PROCESSING_MAX_WAIT_SECONDS ?? 30 }
   */
  processing?: { concurrency?: number; maxWaitSeconds?: number; queueDepth?: number }
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
  /** WebP encoder effort, 0 (fastest) to 6 (smallest). @default 6 */
  webpEffort?: number
}

export type ResolvedCollection = {
  access: CollectionConfig['access']
  allowedExtensions: readonly string[]
  delivery: DeliveryMode
  effort: number
  fields: Field[]
  /** The plural label, used in messages ("not allowed for Avatars"). */
  label: string
  labels: { plural: string; singular: string }
  avif: boolean
  keepOriginal: boolean
  limits: Required<ImageLimits>
  placeholder: boolean
  preset: ImagePreset
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
  cleanup: { intervalSeconds: number }
  collections: ResolvedCollection[]
  processing: { concurrency: number; maxWaitSeconds: number; queueDepth: number }
  remoteURLs: false | ResolvedRemoteURLs
  signedURLs: Required<SignedURLOptions>
  storage: ResolvedStorage
}

type Env = Record<string, string | undefined>

const fail = (path: string, expected: string, received: unknown): never => {
  throw new ImageAssetsConfigError(messages.option(path, expected, received))
}

const integer = (path: string, value: unknown, min: number, max: number): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
    ? value
    : fail(path, `an integer between ${min} and ${max}`, value)

const extensions = (path: string, value: unknown): string[] => {
  if (!Array.isArray(value) || value.length === 0) {
    return fail(path, 'a non-empty array of extensions such as [".jpg", ".png"]', value)
  }
  return value.map((ext: unknown, i) => {
    const normalized = typeof ext === 'string' ? ext.toLowerCase() : ext
    return typeof normalized === 'string' && normalized in FORMAT_BY_EXTENSION
      ? normalized
      : fail(`${path}[${i}]`, `one of ${Object.keys(FORMAT_BY_EXTENSION).join(', ')}`, ext)
  })
}

/** An integer from an environment variable; anything else is passed on for the validator to name. */
const envInteger = (value: string | undefined): number | undefined =>
  value === undefined || value === '' ? undefined : /^-?\d+$/.test(value) ? Number(value) : (value as unknown as number)

const optionalString = (path: string, value: unknown): string | undefined =>
  value === undefined || value === '' ? undefined : typeof value === 'string' ? value : fail(path, 'a string', value)

const url = (path: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  try {
    const parsed = new URL(value)
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return value.replace(/\/+$/, '')
  } catch {
    // fall through to the error below
  }
  return fail(path, 'an absolute http(s) URL', value)
}

const DELIVERY_MODES = ['public', 'signed', 'proxy'] as const

const deliveryMode = (path: string, value: unknown): DeliveryMode =>
  DELIVERY_MODES.includes(value as DeliveryMode) ? (value as DeliveryMode) : fail(path, '"public", "signed" or "proxy"', value)

const HOST_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/
const HOST_EXPECTED = 'a host name such as "images.example.com" or "*.example.com", or an IP address'

/** As in the WHATWG URL parser: a host whose last label is a number is an IPv4 address (or invalid), never a name. */
const endsInNumber = (host: string): boolean => /(^|\.)(\d+|0x[0-9a-f]*)\.?$/.test(host)

/**
 * One allowlist entry, in the form a URL's host takes: a host name, `*.` and a host name, or an IP
 * address (IPv6 with or without brackets; IPv4 in any spelling a URL accepts, kept as dotted
 * decimal). A non-public IP address is refused unless `allowPrivateAddresses` is on: no URL on it
 * would ever be fetched, so listing it is a mistake.
 */
const allowedHost = (path: string, value: unknown, allowPrivateAddresses: boolean): string => {
  if (typeof value !== 'string') return fail(path, HOST_EXPECTED, value)
  const entry = value.toLowerCase()
  if (!entry.startsWith('[') && !entry.includes(':') && !endsInNumber(entry)) {
    return HOST_PATTERN.test(entry) ? entry : fail(path, HOST_EXPECTED, value)
  }
  const bytes = parseIPAddress(entry)
  if (bytes === undefined || entry.includes('%')) return fail(path, HOST_EXPECTED, value)
  const address = formatIPAddress(bytes)
  if (!allowPrivateAddresses && !isPublicAddress(address)) {
    return fail(
      path,
      `a host name or a public IP address (${address} is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones)`,
      value,
    )
  }
  return address
}

/** `remoteURLs` from the environment: IMAGE_REMOTE_URL_HOSTS (comma-separated) switches it on. */
const remoteURLsFromEnv = (env: Env): RemoteURLOptions | undefined => {
  const hosts = (env.IMAGE_REMOTE_URL_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean)
  if (hosts.length === 0) return undefined
  return { allowedHosts: hosts, allowPrivateAddresses: /^(1|true|yes)$/i.test(env.IMAGE_REMOTE_URL_ALLOW_PRIVATE ?? '') }
}

const resolveRemoteURLs = (input: unknown): false | ResolvedRemoteURLs => {
  if (input === undefined || input === false) return false
  if (typeof input !== 'object' || input === null) return fail('remoteURLs', 'false or an object with allowedHosts', input)
  const { allowedHosts, allowPrivateAddresses, timeoutSeconds } = input as RemoteURLOptions
  if (allowPrivateAddresses !== undefined && typeof allowPrivateAddresses !== 'boolean') {
    fail('remoteURLs.allowPrivateAddresses', 'a boolean', allowPrivateAddresses)
  }
  if (!Array.isArray(allowedHosts) || allowedHosts.length === 0) {
    fail('remoteURLs.allowedHosts', 'a non-empty array of host names such as ["images.example.com", "*.cdn.example.com"]', allowedHosts)
  }
  return {
    allowedHosts: allowedHosts.map((host: unknown, i) => allowedHost(`remoteURLs.allowedHosts[${i}]`, host, allowPrivateAddresses ?? false)),
    allowPrivateAddresses: allowPrivateAddresses ?? false,
    timeoutSeconds: integer('remoteURLs.timeoutSeconds', timeoutSeconds ?? 15, 1, 300),
  }
}

const variantWidths = (path: string, value: unknown, base: readonly number[]): number[] => {
  if (value === undefined) return [...base]
  if (value === false) return []
  if (!Array.isArray(value)) return fail(path, 'an array of widths in pixels, or false', value)
  return [...new Set(value.map((w: unknown, i) => integer(`${path}[${i}]`, w, 16, 16383)))].sort((a, b) => a - b)
}

const SLUG = /^[a-z0-9][a-z0-9-_]*$/

export const DEFAULT_LIMITS: Readonly<Required<ImageLimits>> = {
  animation: 'refuse',
  maxBytes: 25 * 1024 * 1024,
  maxPixels: 40_000_000,
  maxSide: 12_000,
  timeoutSeconds: 30,
}

const resolveLimits = (path: string, input: ImageLimits | undefined, base: Required<ImageLimits>): Required<ImageLimits> => {
  if (input === undefined) return base
  if (typeof input !== 'object' || input === null) fail(path, 'an object', input)
  const animation = input.animation ?? base.animation
  if (animation !== 'refuse' && animation !== 'first-frame') fail(`${path}.animation`, '"refuse" or "first-frame"', animation)
  return {
    animation,
    maxBytes: integer(`${path}.maxBytes`, input.maxBytes ?? base.maxBytes, 1, 2 ** 31 - 1),
    maxPixels: integer(`${path}.maxPixels`, input.maxPixels ?? base.maxPixels, 1, 1_000_000_000),
    maxSide: integer(`${path}.maxSide`, input.maxSide ?? base.maxSide, 1, 100_000),
    timeoutSeconds: integer(`${path}.timeoutSeconds`, input.timeoutSeconds ?? base.timeoutSeconds, 1, 3600),
  }
}

const resolveCollection = (
  slug: string,
  input: ImageCollectionOptions,
  defaults: { allowedExtensions: string[]; delivery: DeliveryMode; effort: number; limits: Required<ImageLimits> },
): ResolvedCollection => {
  const path = `collections.${slug}`
  if (!SLUG.test(slug)) fail(`${path}`, 'a slug of lower-case letters, digits, "-" and "_"', slug)
  if (typeof input !== 'object' || input === null) fail(path, 'an object or false', input)
  const builtIn = isBuiltInSlug(slug) ? BUILT_IN_COLLECTIONS[slug] : undefined
  const labels = input.labels ?? builtIn?.labels ?? { plural: slug, singular: slug }
  return {
    slug,
    access: input.access,
    allowedExtensions:
      input.allowedExtensions === undefined
        ? defaults.allowedExtensions
        : extensions(`${path}.allowedExtensions`, input.allowedExtensions),
    delivery: deliveryMode(`${path}.delivery`, input.delivery ?? defaults.delivery),
    effort: defaults.effort,
    fields: input.fields ?? [],
    label: labels.plural,
    labels,
    limits: resolveLimits(`${path}.limits`, input.limits, defaults.limits),
    avif: input.avif === undefined ? false : typeof input.avif === 'boolean' ? input.avif : fail(`${path}.avif`, 'a boolean', input.avif),
    keepOriginal:
      input.keepOriginal === undefined ? false : typeof input.keepOriginal === 'boolean' ? input.keepOriginal : fail(`${path}.keepOriginal`, 'a boolean', input.keepOriginal),
    placeholder: input.placeholder === undefined ? true : typeof input.placeholder === 'boolean' ? input.placeholder : fail(`${path}.placeholder`, 'a boolean', input.placeholder),
    variantWidths: variantWidths(`${path}.variants`, input.variants, builtIn?.variantWidths ?? DEFAULT_VARIANT_WIDTHS),
    preset: {
      height: integer(`${path}.height`, input.height ?? builtIn?.preset.height, 1, 16383),
      quality: integer(`${path}.quality`, input.quality ?? builtIn?.preset.quality, 1, 100),
      width: integer(`${path}.width`, input.width ?? builtIn?.preset.width, 1, 16383),
    },
  }
}

export const resolveStorage = (input: StorageOptions = {}, env: Env = process.env): ResolvedStorage => {
  const bucket = optionalString('storage.bucket', input.bucket ?? env.S3_BUCKET)
  if (!bucket) fail('storage.bucket (or the S3_BUCKET environment variable)', 'a bucket name', bucket)
  const accessKeyId = optionalString('storage.accessKeyId', input.accessKeyId ?? env.S3_ACCESS_KEY_ID)
  const secretAccessKey = optionalString('storage.secretAccessKey', input.secretAccessKey ?? env.S3_SECRET_ACCESS_KEY)
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    fail('storage.secretAccessKey (S3_SECRET_ACCESS_KEY)', 'both or neither of the access key id and secret', 'only one')
  }
  const forcePathStyle = input.forcePathStyle ?? /^(1|true|yes)$/i.test(env.S3_FORCE_PATH_STYLE ?? '')
  return {
    bucket: bucket as string,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    endpoint: url('storage.endpoint (S3_ENDPOINT)', optionalString('storage.endpoint', input.endpoint ?? env.S3_ENDPOINT)),
    forcePathStyle,
    mediaBaseURL: url(
      'storage.mediaBaseURL (MEDIA_BASE_URL)',
      optionalString('storage.mediaBaseURL', input.mediaBaseURL ?? env.MEDIA_BASE_URL),
    ),
    region: optionalString('storage.region', input.region ?? env.S3_REGION) ?? 'us-east-1',
    timeoutSeconds: integer('storage.timeoutSeconds (S3_TIMEOUT_SECONDS)', input.timeoutSeconds ?? envInteger(env.S3_TIMEOUT_SECONDS) ?? 30, 1, 600),
  }
}

/** Validates every option where it enters and fills in the defaults, once. */
export const resolveOptions = (options: ImageAssetsPluginOptions = {}, env: Env = process.env): ResolvedOptions => {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options)
  const defaults = {
    allowedExtensions:
      options.allowedExtensions === undefined
        ? [...DEFAULT_ALLOWED_EXTENSIONS]
        : extensions('allowedExtensions', options.allowedExtensions),
    delivery: deliveryMode('delivery (MEDIA_DELIVERY)', options.delivery ?? (env.MEDIA_DELIVERY || undefined) ?? 'public'),
    effort: integer('webpEffort', options.webpEffort ?? DEFAULT_WEBP_EFFORT, 0, 6),
    limits: resolveLimits('limits', options.limits, DEFAULT_LIMITS),
  }
  const requested = options.collections ?? {}
  if (typeof requested !== 'object' || requested === null) fail('collections', 'an object keyed by slug', requested)
  const slugs = [...new Set([...Object.keys(BUILT_IN_COLLECTIONS), ...Object.keys(requested)])]
  const collections = slugs
    .flatMap((slug) => {
      const input = requested[slug]
      return input === false ? [] : [resolveCollection(slug, input ?? {}, defaults)]
    })
  const processing = options.processing ?? {}
  if (typeof processing !== 'object' || processing === null) fail('processing', 'an object', processing)
  const blockDecoders = options.blockDecoders ?? false
  if (blockDecoders !== 'memory' && blockDecoders !== 'all' && blockDecoders !== false) {
    fail('blockDecoders', '"memory", "all" or false', blockDecoders)
  }
  const signed = options.signedURLs ?? {}
  if (typeof signed !== 'object' || signed === null) fail('signedURLs', 'an object', signed)
  const expiresInSeconds = integer(
    'signedURLs.expiresInSeconds (MEDIA_SIGNED_URL_EXPIRES_IN)',
    signed.expiresInSeconds ?? envInteger(env.MEDIA_SIGNED_URL_EXPIRES_IN) ?? 3600,
    1,
    604_800,
  )
  const windowSeconds = integer(
    'signedURLs.windowSeconds (MEDIA_SIGNED_URL_WINDOW)',
    signed.windowSeconds ?? envInteger(env.MEDIA_SIGNED_URL_WINDOW) ?? Math.min(600, Math.floor(expiresInSeconds / 2)),
    0,
    expiresInSeconds - 1,
  )
  const cleanup = options.cleanup ?? {}
  if (typeof cleanup !== 'object' || cleanup === null) fail('cleanup', 'an object', cleanup)
  return {
    blockDecoders,
    cleanup: {
      intervalSeconds: integer(
        'cleanup.intervalSeconds (IMAGE_CLEANUP_INTERVAL_SECONDS)',
        cleanup.intervalSeconds ?? envInteger(env.IMAGE_CLEANUP_INTERVAL_SECONDS) ?? 5,
        0,
        3600,
      ),
    },
    collections,
    processing: {
      concurrency: integer(
        'processing.concurrency (IMAGE_PROCESSING_CONCURRENCY)',
        processing.concurrency ?? envInteger(env.IMAGE_PROCESSING_CONCURRENCY) ?? availableParallelism(),
        1,
        1024,
      ),
      maxWaitSeconds: integer(
        'processing.maxWaitSeconds (IMAGE_PROCESSING_MAX_WAIT_SECONDS)',
        processing.maxWaitSeconds ?? envInteger(env.IMAGE_PROCESSING_MAX_WAIT_SECONDS) ?? 30,
        1,
        3600,
      ),
      queueDepth: integer(
        'processing.queueDepth (IMAGE_PROCESSING_QUEUE_DEPTH)',
        processing.queueDepth ?? envInteger(env.IMAGE_PROCESSING_QUEUE_DEPTH) ?? 16,
        0,
        100_000,
      ),
    },
    remoteURLs: resolveRemoteURLs(options.remoteURLs ?? remoteURLsFromEnv(env)),
    signedURLs: { expiresInSeconds, windowSeconds },
    storage: resolveStorage(options.storage, env),
  }
}
