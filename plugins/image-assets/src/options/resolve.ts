import { availableParallelism } from 'node:os'

import {
  BUILT_IN_COLLECTIONS,
  DEFAULT_ALLOWED_EXTENSIONS,
  DEFAULT_WEBP_EFFORT,
  DEFAULT_WEBP_VARIANT_EFFORT,
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
  type CollectionDefaults,
  DEFAULT_LIMITS,
  resolveCollection,
  resolveLimits,
} from './collection.js'
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
import type { ImageAssetsPluginOptions, ResolvedCollection, ResolvedOptions } from './types.js'

const PLUGIN_KEYS: KeysOf<ImageAssetsPluginOptions> = {
  allowedExtensions: true,
  blockDecoders: true,
  cleanup: true,
  collections: true,
  delivery: true,
  directUploads: true,
  limits: true,
  processing: true,
  remoteURLs: true,
  signedURLs: true,
  storage: true,
  webpEffort: true,
  webpVariantEffort: true,
  isAdmin: true,
}

const resolveCollections = (
  options: ImageAssetsPluginOptions['collections'],
  defaults: CollectionDefaults,
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
    runJobs: true,
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
    runJobs: boolean(
      'processing.runJobs (IMAGE_RUN_JOBS)',
      processing.runJobs,
      fromEnv.runJobs ?? true,
    ),
  }
}

/** `role: 'admin'` or `roles: [..., 'admin']`; without either field, every logged-in user. */
const defaultIsAdmin = (user: Record<string, unknown>): boolean => {
  if (!('role' in user) && !('roles' in user)) return true
  return user.role === 'admin' || (Array.isArray(user.roles) && user.roles.includes('admin'))
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
    directUploads: boolean('directUploads', options.directUploads, false),
    effort: integer('webpEffort', options.webpEffort ?? DEFAULT_WEBP_EFFORT, 0, 6),
    limits: resolveLimits('limits', options.limits, DEFAULT_LIMITS),
    variantEffort: integer(
      'webpVariantEffort',
      options.webpVariantEffort ?? DEFAULT_WEBP_VARIANT_EFFORT,
      0,
      6,
    ),
  }
  const blockDecoders = options.blockDecoders ?? false
  if (blockDecoders !== 'memory' && blockDecoders !== 'all' && blockDecoders !== false) {
    fail('blockDecoders', '"memory", "all" or false', blockDecoders)
  }
  const cleanup = object('cleanup', options.cleanup, { intervalSeconds: true })
  if (options.isAdmin !== undefined && typeof options.isAdmin !== 'function')
    fail('isAdmin', 'a function of the user', options.isAdmin)
  return {
    blockDecoders,
    isAdmin: options.isAdmin ?? defaultIsAdmin,
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
