/**
 * The plugin's options, split by job:
 * - `options/types.ts`: the public option types (with their documentation) and the resolved ones;
 * - `options/env.ts`: the environment variables each option falls back to;
 * - `options/resolve.ts`: validation and defaults (`resolveOptions`, `resolveStorage`).
 */
export type * from './options/types.js'
export { DEFAULT_LIMITS, resolveOptions, resolveStorage } from './options/resolve.js'
