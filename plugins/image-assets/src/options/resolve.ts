import { availableParallelism } from 'node:os'

import { ImageAssetsConfigError, messages } from '../errors.js'
import { FORMAT_BY_EXTENSION } from '../image/formats.js'
import {
  BUILT_IN_COLLECTIONS,
  DEFAULT_ALLOWED_EXTENSIONS,
  DEFAULT_VARIANT_WIDTHS,
  DEFAULT_WEBP_EFFORT,
  isBuiltInSlug,
} from '../presets.js'
import { formatIPAddress, isPublicAddress, parseIPAddress } from '../remote/addresses.js'
import {
  cleanupFromEnv,
  deliveryFromEnv,
  type Env,
  processingFromEnv,
  remoteURLsFromEnv,
  signedURLsFromEnv,
  storageFromEnv,
} from './env.js'
import type {
  DeliveryMode,
  ImageAssetsPluginOptions,
  ImageCollectionOptions,
  ImageLimits,
  RemoteURLOptions,
  ResolvedCollection,
  ResolvedOptions,
  ResolvedRemoteURLs,
  ResolvedStorage,
  StorageOptions,
} from './types.js'

const fail = (path: string, expected: string, received: unknown): never => {
  throw new ImageAssetsConfigError(messages.option({ expected, path, received }))
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

const optionalString = (path: string, value: unknown): string | undefined =>
  value === undefined || value === ''
    ? undefined
    : typeof value === 'string'
      ? value
      : fail(path, 'a string', value)

const url = (path: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  try {
    const parsed = new URL(value)
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:')
      return value.replace(/\/+$/, '')
  } catch {
    // fall through to the error below
  }
  return fail(path, 'an absolute http(s) URL', value)
}

const DELIVERY_MODES = ['public', 'signed', 'proxy'] as const

const deliveryMode = (path: string, value: unknown): DeliveryMode =>
  DELIVERY_MODES.includes(value as DeliveryMode)
    ? (value as DeliveryMode)
    : fail(path, '"public", "signed" or "proxy"', value)

const HOST_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/
const HOST_EXPECTED =
  'a host name such as "images.example.com" or "*.example.com", or an IP address'

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

const resolveRemoteURLs = (input: unknown): false | ResolvedRemoteURLs => {
  if (input === undefined || input === false) return false
  if (typeof input !== 'object' || input === null)
    return fail('remoteURLs', 'false or an object with allowedHosts', input)
  const { allowedHosts, allowPrivateAddresses, timeoutSeconds } = input as RemoteURLOptions
  if (allowPrivateAddresses !== undefined && typeof allowPrivateAddresses !== 'boolean') {
    fail('remoteURLs.allowPrivateAddresses', 'a boolean', allowPrivateAddresses)
  }
  if (!Array.isArray(allowedHosts) || allowedHosts.length === 0) {
    fail(
      'remoteURLs.allowedHosts',
      'a non-empty array of host names such as ["images.example.com", "*.cdn.example.com"]',
      allowedHosts,
    )
  }
  return {
    allowedHosts: allowedHosts.map((host: unknown, i) =>
      allowedHost(`remoteURLs.allowedHosts[${i}]`, host, allowPrivateAddresses ?? false),
    ),
    allowPrivateAddresses: allowPrivateAddresses ?? false,
    timeoutSeconds: integer('remoteURLs.timeoutSeconds', timeoutSeconds ?? 15, 1, 300),
  }
}

const variantWidths = (path: string, value: unknown, base: readonly number[]): number[] => {
  if (value === undefined) return [...base]
  if (value === false) return []
  if (!Array.isArray(value)) return fail(path, 'an array of widths in pixels, or false', value)
  return [...new Set(value.map((w: unknown, i) => integer(`${path}[${i}]`, w, 16, 16383)))].sort(
    (a, b) => a - b,
  )
}

const SLUG = /^[a-z0-9][a-z0-9-_]*$/

export const DEFAULT_LIMITS: Readonly<Required<ImageLimits>> = {
  animation: 'refuse',
  maxBytes: 25 * 1024 * 1024,
  maxPixels: 40_000_000,
  maxSide: 12_000,
  timeoutSeconds: 30,
}

const resolveLimits = (
  path: string,
  input: ImageLimits | undefined,
  base: Required<ImageLimits>,
): Required<ImageLimits> => {
  if (input === undefined) return base
  if (typeof input !== 'object' || input === null) fail(path, 'an object', input)
  const animation = input.animation ?? base.animation
  if (animation !== 'refuse' && animation !== 'first-frame')
    fail(`${path}.animation`, '"refuse" or "first-frame"', animation)
  return {
    animation,
    maxBytes: integer(`${path}.maxBytes`, input.maxBytes ?? base.maxBytes, 1, 2 ** 31 - 1),
    maxPixels: integer(`${path}.maxPixels`, input.maxPixels ?? base.maxPixels, 1, 1_000_000_000),
    maxSide: integer(`${path}.maxSide`, input.maxSide ?? base.maxSide, 1, 100_000),
    timeoutSeconds: integer(
      `${path}.timeoutSeconds`,
      input.timeoutSeconds ?? base.timeoutSeconds,
      1,
      3600,
    ),
  }
}

const resolveCollection = (
  slug: string,
  input: ImageCollectionOptions,
  defaults: {
    allowedExtensions: string[]
    delivery: DeliveryMode
    effort: number
    limits: Required<ImageLimits>
  },
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
    avif:
      input.avif === undefined
        ? false
        : typeof input.avif === 'boolean'
          ? input.avif
          : fail(`${path}.avif`, 'a boolean', input.avif),
    keepOriginal:
      input.keepOriginal === undefined
        ? false
        : typeof input.keepOriginal === 'boolean'
          ? input.keepOriginal
          : fail(`${path}.keepOriginal`, 'a boolean', input.keepOriginal),
    placeholder:
      input.placeholder === undefined
        ? true
        : typeof input.placeholder === 'boolean'
          ? input.placeholder
          : fail(`${path}.placeholder`, 'a boolean', input.placeholder),
    variantWidths: variantWidths(
      `${path}.variants`,
      input.variants,
      builtIn?.variantWidths ?? DEFAULT_VARIANT_WIDTHS,
    ),
    preset: {
      height: integer(`${path}.height`, input.height ?? builtIn?.preset.height, 1, 16383),
      quality: integer(`${path}.quality`, input.quality ?? builtIn?.preset.quality, 1, 100),
      width: integer(`${path}.width`, input.width ?? builtIn?.preset.width, 1, 16383),
    },
  }
}

export const resolveStorage = (
  input: StorageOptions = {},
  env: Env = process.env,
): ResolvedStorage => {
  const fromEnv = storageFromEnv(env)
  const bucket = optionalString('storage.bucket', input.bucket ?? fromEnv.bucket)
  if (!bucket)
    fail('storage.bucket (or the S3_BUCKET environment variable)', 'a bucket name', bucket)
  const accessKeyId = optionalString(
    'storage.accessKeyId',
    input.accessKeyId ?? fromEnv.accessKeyId,
  )
  const secretAccessKey = optionalString(
    'storage.secretAccessKey',
    input.secretAccessKey ?? fromEnv.secretAccessKey,
  )
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    fail(
      'storage.secretAccessKey (S3_SECRET_ACCESS_KEY)',
      'both or neither of the access key id and secret',
      'only one',
    )
  }
  const forcePathStyle = input.forcePathStyle ?? fromEnv.forcePathStyle
  return {
    bucket: bucket as string,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    endpoint: url(
      'storage.endpoint (S3_ENDPOINT)',
      optionalString('storage.endpoint', input.endpoint ?? fromEnv.endpoint),
    ),
    forcePathStyle,
    mediaBaseURL: url(
      'storage.mediaBaseURL (MEDIA_BASE_URL)',
      optionalString('storage.mediaBaseURL', input.mediaBaseURL ?? fromEnv.mediaBaseURL),
    ),
    region: optionalString('storage.region', input.region ?? fromEnv.region) ?? 'us-east-1',
    timeoutSeconds: integer(
      'storage.timeoutSeconds (S3_TIMEOUT_SECONDS)',
      input.timeoutSeconds ?? fromEnv.timeoutSeconds ?? 30,
      1,
      600,
    ),
  }
}

/** Validates every option where it enters and fills in the defaults, once. */
export const resolveOptions = (
  options: ImageAssetsPluginOptions = {},
  env: Env = process.env,
): ResolvedOptions => {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options)
  const defaults = {
    allowedExtensions:
      options.allowedExtensions === undefined
        ? [...DEFAULT_ALLOWED_EXTENSIONS]
        : extensions('allowedExtensions', options.allowedExtensions),
    delivery: deliveryMode(
      'delivery (MEDIA_DELIVERY)',
      options.delivery ?? deliveryFromEnv(env) ?? 'public',
    ),
    effort: integer('webpEffort', options.webpEffort ?? DEFAULT_WEBP_EFFORT, 0, 6),
    limits: resolveLimits('limits', options.limits, DEFAULT_LIMITS),
  }
  const requested = options.collections ?? {}
  if (typeof requested !== 'object' || requested === null)
    fail('collections', 'an object keyed by slug', requested)
  const slugs = [...new Set([...Object.keys(BUILT_IN_COLLECTIONS), ...Object.keys(requested)])]
  const collections = slugs.flatMap((slug) => {
    const input = requested[slug]
    return input === false ? [] : [resolveCollection(slug, input ?? {}, defaults)]
  })
  const processing = options.processing ?? {}
  if (typeof processing !== 'object' || processing === null)
    fail('processing', 'an object', processing)
  const blockDecoders = options.blockDecoders ?? false
  if (blockDecoders !== 'memory' && blockDecoders !== 'all' && blockDecoders !== false) {
    fail('blockDecoders', '"memory", "all" or false', blockDecoders)
  }
  const signed = options.signedURLs ?? {}
  if (typeof signed !== 'object' || signed === null) fail('signedURLs', 'an object', signed)
  const signedEnv = signedURLsFromEnv(env)
  const expiresInSeconds = integer(
    'signedURLs.expiresInSeconds (MEDIA_SIGNED_URL_EXPIRES_IN)',
    signed.expiresInSeconds ?? signedEnv.expiresInSeconds ?? 3600,
    1,
    604_800,
  )
  const windowSeconds = integer(
    'signedURLs.windowSeconds (MEDIA_SIGNED_URL_WINDOW)',
    signed.windowSeconds ??
      signedEnv.windowSeconds ??
      Math.min(600, Math.floor(expiresInSeconds / 2)),
    0,
    expiresInSeconds - 1,
  )
  const cleanup = options.cleanup ?? {}
  if (typeof cleanup !== 'object' || cleanup === null) fail('cleanup', 'an object', cleanup)
  const cleanupEnv = cleanupFromEnv(env)
  const processingEnv = processingFromEnv(env)
  return {
    blockDecoders,
    cleanup: {
      intervalSeconds: integer(
        'cleanup.intervalSeconds (IMAGE_CLEANUP_INTERVAL_SECONDS)',
        cleanup.intervalSeconds ?? cleanupEnv.intervalSeconds ?? 5,
        0,
        3600,
      ),
    },
    collections,
    processing: {
      concurrency: integer(
        'processing.concurrency (IMAGE_PROCESSING_CONCURRENCY)',
        processing.concurrency ?? processingEnv.concurrency ?? availableParallelism(),
        1,
        1024,
      ),
      maxWaitSeconds: integer(
        'processing.maxWaitSeconds (IMAGE_PROCESSING_MAX_WAIT_SECONDS)',
        processing.maxWaitSeconds ?? processingEnv.maxWaitSeconds ?? 30,
        1,
        3600,
      ),
      queueDepth: integer(
        'processing.queueDepth (IMAGE_PROCESSING_QUEUE_DEPTH)',
        processing.queueDepth ?? processingEnv.queueDepth ?? 16,
        0,
        100_000,
      ),
    },
    remoteURLs: resolveRemoteURLs(options.remoteURLs ?? remoteURLsFromEnv(env)),
    signedURLs: { expiresInSeconds, windowSeconds },
    storage: resolveStorage(options.storage, env),
  }
}
