/** What the benchmark's parent and its contestant processes say to each other, and shared helpers. */
import path from 'node:path'

import type { Payload } from 'payload'

export type Mode = 'floor' | 'payload-hand' | 'plugin-local' | 'plugin-rest'
export type RunRequest = {
  collection: string
  concurrency: number
  id: number
  indexes: number[]
  saveTo?: string
  type: 'run'
}
export type RunResult = {
  cpuMs: number
  id: number
  latencies: number[]
  outputs: number[]
  peakRss: number
  type: 'result'
  wallMs: number
}
export type Measure = { cpuMs: number; id: number; peakRss: number; type: 'measured' }
export type ReoptimizeRequest = { count: number; id: number; type: 'reoptimize' }
/** The server over a window: the database pool's size limit, most connections in use, most requests waiting for one; event-loop delay. */
export type PoolWatch = {
  eventLoopDelay: { maxMs: number; p99Ms: number }
  max: number
  maxInUse: number
  maxWaiting: number
  samples: number
  samplesWaiting: number
  type: 'pool-report'
}
export type ReoptimizeReport = {
  cpuMs: number
  id: number
  images: number
  setupMs: number
  type: 'reoptimized'
  wallMs: number
}

export const mimeTypeOf = (file: string): string =>
  ({ '.jpeg': 'image/jpeg', '.jpg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp' })[
    path.extname(file).toLowerCase()
  ] ?? 'application/octet-stream'

/** Runs `task(i)` for every index with at most `concurrency` in flight; returns each one's ms. */
/**
 * The multipart form of one upload as the reference app takes it: the file (typed by its
 * extension) and `_payload` with the alt text `product-images` and `media` require there.
 */
export const uploadForm = (data: Buffer, file: string, name: string, alt: string): FormData => {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(data)], { type: mimeTypeOf(file) }), name)
  form.append('_payload', JSON.stringify({ alt }))
  return form
}

export const pool = async (
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<number[]> => {
  const latencies = new Array<number>(count).fill(0)
  let next = 0
  const lane = async () => {
    while (next < count) {
      const i = next++
      const start = performance.now()
      await task(i)
      latencies[i] = performance.now() - start
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane))
  return latencies
}

/** The benchmark's own user, created in `payload` and logged in over REST at `baseURL`: its token. */
export const benchLogin = async (payload: Payload, baseURL: string): Promise<string> => {
  const user = { email: 'bench@example.com', password: 'bench-password' }
  await payload.create({ collection: 'users', data: user })
  const login = await fetch(`${baseURL}/api/users/login`, {
    body: JSON.stringify(user),
    headers: { 'Content-Type': 'application/json' },
    method: 'POST',
  })
  return ((await login.json()) as { token: string }).token
}
