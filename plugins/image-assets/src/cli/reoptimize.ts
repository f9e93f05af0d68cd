import { getPayload, type SanitizedConfig } from 'payload'

import { formatBytes } from '../admin/savings.js'
import { missingAvif } from '../ops/avif.js'
import { queueReoptimize, reoptimizeAll, staleWhere } from '../ops/reoptimize.js'
import { collectionRuntime, runtimeOf } from '../ops/runtime.js'
import { finish, flag, option, progressReporter } from './progress.js'

/**
 * `payload reoptimize-images [--collection <slug>]... [--dry-run] [--queue]`: re-processes the
 * documents whose settings fingerprint differs from their collection's current preset. Ctrl-C
 * stops after the current document; running it again continues; a run with nothing to do does
 * nothing. `--queue` queues jobs-queue tasks instead, for `payload jobs:run --queue image-assets`.
 */
const plural = (n: number) => `${n} image${n === 1 ? '' : 's'}`

export const script = async (config: SanitizedConfig): Promise<void> => {
  const argv = process.argv.slice(3)
  const payload = await getPayload({ config })
  const runtime = runtimeOf(payload)
  const collections = option(argv, 'collection')
  for (const slug of collections) collectionRuntime(runtime, slug)
  const out = (line: string) => process.stdout.write(`${line}\n`)

  if (flag(argv, 'dry-run')) {
    for (const c of runtime.collections.filter(
      (c) => collections.length === 0 || collections.includes(c.slug),
    )) {
      const { totalDocs } = await payload.count({
        collection: c.slug,
        overrideAccess: true,
        where: staleWhere(c),
      })
      out(`${c.slug}: ${plural(totalDocs)} to re-optimize`)
    }
    for (const { collection, missing } of await missingAvif(payload, runtime, {
      collections,
      queue: false,
    }))
      out(`${collection}: ${plural(missing)} missing AVIF versions, with no job left to make them`)
    process.exit(0)
  }
  /** Images whose AVIF job failed for good (a long outage, say) get a new job. */
  const requeueAvif = async () => {
    const counts = await missingAvif(payload, runtime, { collections, queue: true })
    const queued = counts.reduce((sum, c) => sum + c.missing, 0)
    if (queued > 0)
      out(
        `Queued ${queued} AVIF job${queued === 1 ? '' : 's'} for images missing their AVIF versions (the app runs them, or: payload jobs:run --queue image-assets).`,
      )
    return queued
  }
  if (flag(argv, 'queue')) {
    const queued = await queueReoptimize(payload, runtime, collections)
    out(
      `Queued ${queued} re-optimization job${queued === 1 ? '' : 's'} on the "image-assets" queue. Run workers with: payload jobs:run --queue image-assets`,
    )
    await requeueAvif()
    process.exit(0)
  }

  const controller = new AbortController()
  process.once('SIGINT', () => {
    process.stderr.write('\nStopping after the current image (Ctrl-C again to quit at once)...\n')
    controller.abort()
    process.once('SIGINT', () => process.exit(130))
  })
  const report = progressReporter()
  const { interrupted, totals } = await reoptimizeAll({
    collections,
    onProgress: (p) => report(p.collection, p.done + p.skipped + p.failed, p.total),
    payload,
    runtime,
    signal: controller.signal,
  })
  const avifQueued = interrupted ? 0 : await requeueAvif()
  for (const t of totals) {
    out(
      `${t.collection}: ${t.done} re-optimized, ${t.skipped} skipped, ${t.failed} failed of ${t.total}; stored ${formatBytes(t.bytesBefore)} → ${formatBytes(t.bytesAfter)}`,
    )
  }
  const done = totals.reduce((sum, t) => sum + t.done, 0)
  const failed = totals.reduce((sum, t) => sum + t.failed, 0)
  out(
    interrupted
      ? `Interrupted after ${done} image(s); run the command again to continue.`
      : `Done: ${done} image(s) re-optimized${failed ? `, ${failed} failed (see the log; run again to retry)` : ''}${avifQueued ? `; ${avifQueued} AVIF job(s) queued` : ''}.`,
  )
  await finish(payload, failed > 0 || interrupted ? 1 : 0)
}
