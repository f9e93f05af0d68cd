/**
 * The process settings the production server runs with (`npm start`) and the benchmark measures.
 *
 * - jemalloc (Debian's libjemalloc2) when installed: with glibc's malloc sharp/libvips fragment
 *   memory under concurrent uploads, and sharp limits itself to one thread per image.
 * - MALLOC_ARENA_MAX=2 as the fallback when jemalloc is not installed.
 * - V8's old generation allowed to grow to twice its live size before a full collection
 *   (`runtimeNodeArgs`).
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

/**
 * Node options for an image-serving process. By default V8 let this app's old generation grow only
 * about 13% (10 MB over 77 MB live) before the next full mark-compact: with Payload's request
 * handling promoting about that much per upload, nearly every upload paid for one (`--trace-gc`).
 * Growing to twice the live size before collecting, the request-path benchmark on 2026-11-26 (the
 * same machine, one run each) measured the app server's CPU per upload at 557 ms instead of 670,
 * its median latency at 506 ms instead of 540, and its peak RSS at 555 MiB instead of 481.
 * (`--heap-growing-percent` is a V8 option, which `NODE_OPTIONS` does not take: it goes on the
 * command line.)
 */
export const runtimeNodeArgs = ['--heap-growing-percent=100']
