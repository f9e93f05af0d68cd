import { createHash } from 'node:crypto'

import type { ResolvedCollection } from '../options.js'

/** Bumped whenever the pipeline itself changes what it produces for the same settings. */
export const PIPELINE_VERSION = 1

/**
 * A fingerprint of everything that decides a collection's stored files: the preset, the variant
 * widths, the shapes, AVIF and placeholder settings, the encoder efforts and the pipeline version.
 * Documents record it; `reoptimize` re-processes those whose fingerprint differs from the current
 * one (keeping each document's own crop and focal point).
 */
export const settingsFingerprint = (collection: ResolvedCollection): string =>
  createHash('sha256')
    .update(
      JSON.stringify({
        avif: collection.avif,
        effort: collection.effort,
        variantEffort: collection.variantEffort,
        pipeline: PIPELINE_VERSION,
        placeholder: collection.placeholder,
        preset: collection.preset,
        variants: collection.variantWidths,
        // Only when there are some, so that collections without shapes keep their fingerprints.
        ...(collection.shapes.length > 0 ? { shapes: collection.shapes } : {}),
      }),
    )
    .digest('hex')
    .slice(0, 16)
