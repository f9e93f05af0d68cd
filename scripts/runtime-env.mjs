/**
 * The process settings the production server runs with (`npm start`) and the benchmark measures.
 *
 * - jemalloc (Debian's libjemalloc2) when installed: with glibc's malloc sharp/libvips fragment
 *   memory under concurrent uploads, and sharp limits itself to one thread per image.
 * - MALLOC_ARENA_MAX=2 as the fallback when jemalloc is not installed.
 */
import { existsSync } from 'node:fs'

const JEMALLOC_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
]

export const jemallocPath = () => JEMALLOC_PATHS.find((p) => existsSync(p))

/** The environment for an image-serving Node process, on top of `base`. */
export const runtimeEnv = (base = process.env) => {
  const env = { ...base }
  const jemalloc = jemallocPath()
  if (jemalloc && !(env.LD_PRELOAD ?? '').includes('jemalloc')) {
    env.LD_PRELOAD = [jemalloc, env.LD_PRELOAD].filter(Boolean).join(' ')
  } else if (!jemalloc) {
    env.MALLOC_ARENA_MAX ??= '2'
  }
  return env
}
