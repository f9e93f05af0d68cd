import type { Payload, SanitizedConfig } from 'payload'

import type { WorkLimiter } from '../image/limiter.js'
import type { ResolvedCollection } from '../options.js'
import type { Delivery } from '../storage/delivery.js'
import type { ObjectStore } from '../storage/objects.js'

/** What the operations (reoptimize, reconcile, the jobs task) need from the plugin's set-up. */
export type Runtime = {
  collections: ResolvedCollection[]
  deliveries: Map<string, Delivery>
  limiter: WorkLimiter
  store: ObjectStore
}

export const RUNTIME_KEY = 'payloadImageAssets'

/** The plugin's runtime, from a Payload instance or its config. */
export const runtimeOf = (from: Payload | SanitizedConfig): Runtime => {
  const config = 'config' in from ? from.config : from
  const runtime = (config.custom as Record<string, unknown> | undefined)?.[RUNTIME_KEY] as
    Runtime | undefined
  if (!runtime) throw new Error('payload-image-assets: the plugin is not in this Payload config.')
  return runtime
}

/** One collection's settings and delivery. */
export const collectionRuntime = (runtime: Runtime, slug: string) => {
  const collection = runtime.collections.find((c) => c.slug === slug)
  const delivery = runtime.deliveries.get(slug)
  if (!collection || !delivery)
    throw new Error(
      `payload-image-assets: "${slug}" is not one of the plugin's collections (${runtime.collections.map((c) => c.slug).join(', ')}).`,
    )
  return { collection, delivery }
}
