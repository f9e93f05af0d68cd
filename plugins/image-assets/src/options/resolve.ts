import { availableParallelism } from 'node:os'

import { ImageAssetsConfigError, messages } from '../errors.js'
import {
  BUILT_IN_COLLECTIONS,
  DEFAULT_ALLOWED_EXTENSIONS,
  DEFAULT_VARIANT_WIDTHS,
  DEFAULT_WEBP_EFFORT,
  type ImagePreset,
  isBuiltInSlug,
} from '../presets.js'
import {
  boolean,
  deliveryMode,
  extensions,
  fail,
  integer,
  type KeysOf,
  knownKeys,
  object,
} from './check.js'
import {
  cleanupFromEnv,
  deliveryFromEnv,
  type Env,
  processingFromEnv,
  remoteURLsFromEnv,
  signedURLsFromEnv,
} from './env.js'
import { resolveRemoteURLs } from './remote.js'
import { resolveStorage } from './storage.js'
import type {
  DeliveryMode,
  ImageAssetsPluginOptions,
  ImageCollectionOptions,
  ImageLimits,
  ResolvedCollection,
  ResolvedOptions,
} from './types.js'

const PLUGIN_KEYS: KeysOf<ImageAssetsPluginOptions> = {
  allowedExtensions: true,
  blockDecoders: true,
  cleanup: true,
  collections: true,
  delivery: true,
  limits: true,
  processing: true,
  remoteURLs: true,
  signedURLs: true,
  storage: true,
  webpEffort: true,
}

const COLLECTION_KEYS: KeysOf<ImageCollectionOptions> = {
  access: true,
  allowedExtensions: true,
  avif: true,
  delivery: true,
  fields: true,
  height: true,
  keepOriginal: true,
  labels: true,
  limits: true,
  placeholder: true,
  quality: true,
  variants: true,
  width: true,
}

const LIMIT_KEYS: KeysOf<ImageLimits> = {
  animation: true,
  maxBytes: true,
  maxPixels: true,
  maxSide: true,
  timeoutSeconds: true,
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
  options: ImageLimits | undefined,
  base: Required<ImageLimits>,
): Required<ImageLimits> => {
  if (options === undefined) return base
  const input = object<ImageLimits>(path, options, LIMIT_KEYS)
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

/**
 * Width, height and quality: a built-in collection's preset fills in what is not given; a new
 * collection must give all three, and every one missing is named at once.
 */
const resolvePreset = (
  path: string,
  input: ImageCollectionOptions,
  base: ImagePreset | undefined,
): ImagePreset => {
  const given = {
    height: input.height ?? base?.height,
    quality: input.quality ?? base?.quality,
    width: input.width ?? base?.width,
  }
  const missing = (['width', 'height', 'quality'] as const).filter((k) => given[k] === undefined)
  if (missing.length > 1) {
    throw new ImageAssetsConfigError(
      messages.missingOptions({
        expected:
          'a collection that is not built in needs a width and a height in pixels (integers between 1 and 16383) and a WebP quality (an integer between 1 and 100)',
        paths: missing.map((k) => `${path}.${k}`),
      }),
    )
  }
  return {
    height: integer(`${path}.height`, given.height, 1, 16383),
    quality: integer(`${path}.quality`, given.quality, 1, 100),
    width: integer(`${path}.width`, given.width, 1, 16383),
  }
}

const resolveCollection = (
  slug: string,
  options: ImageCollectionOptions,
  defaults: {
    allowedExtensions: string[]
    delivery: DeliveryMode
    effort: number
    limits: Required<ImageLimits>
  },
): ResolvedCollection => {
  const path = `collections.${slug}`
  if (!SLUG.test(slug)) fail(`${path}`, 'a slug of lower-case letters, digits, "-" and "_"', slug)
  const input = object<ImageCollectionOptions>(path, options, COLLECTION_KEYS, 'an object or false')
  const builtIn = isBuiltInSlug(slug) ? BUILT_IN_COLLECTIONS[slug] : undefined
  const labels = input.labels ?? builtIn?.labels ?? { plural: slug, singular: slug }
  return {
    slug,
    access: input.access,
    allowedExtensions:
      input.allowedExtensions === undefined
        ? defaults.allowedExtensions
        : extensions(`${path}.allowedExtensions`, input.allowedExtensions),
    avif: boolean(`${path}.avif`, input.avif, false),
    delivery: deliveryMode(`${path}.delivery`, input.delivery ?? defaults.delivery),
    effort: defaults.effort,
    fields: input.fields ?? [],
    keepOriginal: boolean(`${path}.keepOriginal`, input.keepOriginal, false),
    label: labels.plural,
    labels,
    limits: resolveLimits(`${path}.limits`, input.limits, defaults.limits),
    placeholder: boolean(`${path}.placeholder`, input.placeholder, true),
    preset: resolvePreset(path, input, builtIn?.preset),
    variantWidths: variantWidths(
      `${path}.variants`,
      input.variants,
      builtIn?.variantWidths ?? DEFAULT_VARIANT_WIDTHS,
    ),
  }
}

const resolveCollections = (
  options: ImageAssetsPluginOptions['collections'],
  defaults: Parameters<typeof resolveCollection>[2],
): ResolvedCollection[] => {
  const requested = options ?? {}
  if (typeof requested !== 'object' || requested === null || Array.isArray(requested))
    fail('collections', 'an object keyed by slug', requested)
  const slugs = [...new Set([...Object.keys(BUILT_IN_COLLECTIONS), ...Object.keys(requested)])]
  return slugs.flatMap((slug) => {
    const input = requested[slug]
    return input === false ? [] : [resolveCollection(slug, input ?? {}, defaults)]
  })
}

const resolveSignedURLs = (
  options: ImageAssetsPluginOptions['signedURLs'],
  env: Env,
): ResolvedOptions['signedURLs'] => {
  const signed = object('signedURLs', options, { expiresInSeconds: true, windowSeconds: true })
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
  return { expiresInSeconds, windowSeconds }
}

const resolveProcessing = (
  options: ImageAssetsPluginOptions['processing'],
  env: Env,
): ResolvedOptions['processing'] => {
  const processing = object('processing', options, {
    concurrency: true,
    maxWaitSeconds: true,
    queueDepth: true,
  })
  const fromEnv = processingFromEnv(env)
  return {
    concurrency: integer(
      'processing.concurrency (IMAGE_PROCESSING_CONCURRENCY)',
      processing.concurrency ?? fromEnv.concurrency ?? availableParallelism(),
      1,
      1024,
    ),
    maxWaitSeconds: integer(
      'processing.maxWaitSeconds (IMAGE_PROCESSING_MAX_WAIT_SECONDS)',
      processing.maxWaitSeconds ?? fromEnv.maxWaitSeconds ?? 30,
      1,
      3600,
    ),
    queueDepth: integer(
      'processing.queueDepth (IMAGE_PROCESSING_QUEUE_DEPTH)',
      processing.queueDepth ?? fromEnv.queueDepth ?? 16,
      0,
      100_000,
    ),
  }
}

/** Validates every option where it enters and fills in the defaults, once. */
export const resolveOptions = (
  input: ImageAssetsPluginOptions = {},
  env: Env = process.env,
): ResolvedOptions => {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    fail('options', 'an object', input)
  knownKeys('', input, Object.keys(PLUGIN_KEYS))
  const options = input
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
  const blockDecoders = options.blockDecoders ?? false
  if (blockDecoders !== 'memory' && blockDecoders !== 'all' && blockDecoders !== false) {
    fail('blockDecoders', '"memory", "all" or false', blockDecoders)
  }
  const cleanup = object('cleanup', options.cleanup, { intervalSeconds: true })
  return {
    blockDecoders,
    cleanup: {
      intervalSeconds: integer(
        'cleanup.intervalSeconds (IMAGE_CLEANUP_INTERVAL_SECONDS)',
        cleanup.intervalSeconds ?? cleanupFromEnv(env).intervalSeconds ?? 5,
        0,
        3600,
      ),
    },
    collections: resolveCollections(options.collections, defaults),
    processing: resolveProcessing(options.processing, env),
    remoteURLs: resolveRemoteURLs(options.remoteURLs ?? remoteURLsFromEnv(env)),
    signedURLs: resolveSignedURLs(options.signedURLs, env),
    storage: resolveStorage(options.storage, env),
  }
}
