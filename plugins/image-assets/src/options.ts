/**
 * The plugin's options, split by job:
 * - `options/types.ts`: the public option types (with their documentation) and the resolved ones;
 * - `options/env.ts`: the environment variables each option falls back to;
 * - `options/check.ts`: the checks each value goes through (types, ranges, unknown keys);
 * - `options/resolve.ts`: validation and defaults (`resolveOptions`); each collection's settings
 *   are resolved in `options/collection.ts`, the bucket's in `options/storage.ts`
 *   (`resolveStorage`), the remote URL allowlist in `options/remote.ts`.
 */
export type * from './options/types.js'
export { DEFAULT_LIMITS } from './options/collection.js'
export { resolveOptions } from './options/resolve.js'
export { resolveStorage } from './options/storage.js'
