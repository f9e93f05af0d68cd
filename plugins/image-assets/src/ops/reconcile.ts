import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import type { Payload } from 'payload'

import { ORIGINALS_PREFIX } from '../storage/documentFiles.js'
import { s3Status } from '../storage/objects.js'
import { STAGING_PREFIX } from '../upload/direct.js'
import { documentKeys, EVERY_DOCUMENT } from '../storage/documentKeys.js'
import { CLEANUP_SLUG } from '../collections/cleanup.js'
import { CleanupRunner } from '../storage/cleanupRunner.js'
import type { Runtime } from './runtime.js'

export type ReconcileReport = {
  /** Objects under the plugin's prefixes that no document references. */
  orphans: Array<{ deleted: boolean; key: string; lastModified?: string; tooRecent: boolean }>
  /** Objects a document references that are not in the bucket. */
  missing: Array<{ collection: string; id: number | string; key: string }>
  /** Objects recorded for clean-up: how many were deleted now, and how many rows still wait. */
  recorded: { deleted: number; remaining: number }
  scannedDocuments: number
  scannedObjects: number
  /** The same counts for each collection on its own. */
  collections: Record<
    string,
    { documents: number; missing: number; objects: number; orphans: number }
  >
}

const PAGE = 1000
const HEAD_CONCURRENCY = 16

/** Runs `task` over `items` with at most `limit` at once. */
const eachLimited = async <T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
) => {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++])
    }),
  )
}

/** Documents written before `objectKeys` existed get it recorded, so that the object scan can trust it. */
const backfillObjectKeys = async (payload: Payload, slug: string) => {
  for (;;) {
    const { docs } = await payload.find({
      collection: slug,
      depth: 0,
      limit: 200,
      ...EVERY_DOCUMENT,
      pagination: false,
      where: { and: [{ filename: { exists: true } }, { objectKeys: { exists: false } }] },
    })
    if (docs.length === 0) return
    for (const doc of docs)
      await payload.db.updateOne({
        collection: slug,
        data: { objectKeys: documentKeys(doc as Parameters<typeof documentKeys>[0], slug) },
        id: doc.id,
        returning: false,
      })
  }
}

/**
 * Brings bucket and database back in line. Lists every object under the plugin's prefixes a page
 * at a time (memory stays bounded by the page), asks the database which of the page's keys a
 * document references, and reports the rest as orphans; checks every document's objects with
 * HEAD requests and reports the missing. With `fix`, orphans older than `graceMs` are deleted (a
 * younger one may belong to an upload still in progress), and recorded failed deletes are retried.
 */
export const reconcile = async (args: {
  fix?: boolean
  graceMs?: number
  onProgress?: (line: string) => void
  payload: Payload
  runtime: Runtime
}): Promise<ReconcileReport> => {
  const { fix = false, graceMs = 24 * 60 * 60 * 1000, payload, runtime } = args
  const { bucket } = runtime.store.storage
  const client = runtime.store.client
  const report: ReconcileReport = {
    collections: {},
    missing: [],
    orphans: [],
    recorded: { deleted: 0, remaining: 0 },
    scannedDocuments: 0,
    scannedObjects: 0,
  }
  const slugs = runtime.collections.map((c) => c.slug)
  for (const slug of slugs) await backfillObjectKeys(payload, slug)

  // Objects recorded for clean-up (replaced, deleted, unfinished uploads): the app deletes them by
  // itself; with `fix`, whatever is due is settled now too.
  if (fix)
    report.recorded.deleted = (await new CleanupRunner(payload, runtime.store, 0).runOnce()).deleted
  report.recorded.remaining = (
    await payload.count({
      collection: CLEANUP_SLUG,
      overrideAccess: true,
      where: { doneAt: { exists: false } },
    })
  ).totalDocs

  for (const slug of slugs) {
    const own = (report.collections[slug] = { documents: 0, missing: 0, objects: 0, orphans: 0 })
    // Staged direct uploads are never referenced: older than the grace period, nobody claims them.
    for (const prefix of [
      `${slug}/`,
      `${ORIGINALS_PREFIX}/${slug}/`,
      `${STAGING_PREFIX}/${slug}/`,
    ]) {
      let ContinuationToken: string | undefined
      const scanned = { objects: 0, orphans: 0 }
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            ContinuationToken,
            MaxKeys: PAGE,
            Prefix: prefix,
          }),
          { abortSignal: AbortSignal.timeout(runtime.store.storage.timeoutSeconds * 1000) },
        )
        ContinuationToken = page.NextContinuationToken
        const objects = (page.Contents ?? []).filter((o) => o.Key)
        report.scannedObjects += objects.length
        own.objects += objects.length
        scanned.objects += objects.length
        if (objects.length === 0) continue
        const keys = objects.map((o) => o.Key!)
        const { docs } = await payload.find({
          collection: slug,
          depth: 0,
          limit: 0,
          ...EVERY_DOCUMENT,
          pagination: false,
          select: { objectKeys: true },
          where: { objectKeys: { in: keys } },
        })
        const referenced = new Set(
          docs.flatMap((d) => (d as { objectKeys?: string[] }).objectKeys ?? []),
        )
        const orphans = objects.filter((o) => !referenced.has(o.Key!))
        const old = orphans.filter(
          (o) => !o.LastModified || Date.now() - o.LastModified.getTime() >= graceMs,
        )
        const failed = fix
          ? new Set((await runtime.store.deleteAll(old.map((o) => o.Key!))).map((f) => f.key))
          : new Set<string>()
        own.orphans += orphans.length
        scanned.orphans += orphans.length
        for (const o of orphans) {
          const tooRecent = !old.includes(o)
          report.orphans.push({
            deleted: fix && !tooRecent && !failed.has(o.Key!),
            key: o.Key!,
            lastModified: o.LastModified?.toISOString(),
            tooRecent,
          })
        }
        args.onProgress?.(
          `${prefix}: ${scanned.objects} objects scanned, ${scanned.orphans} orphaned`,
        )
      } while (ContinuationToken)
    }

    let pageNumber = 1
    for (;;) {
      const result = await payload.find({
        collection: slug,
        depth: 0,
        limit: 200,
        ...EVERY_DOCUMENT,
        page: pageNumber++,
        select: { objectKeys: true },
        sort: 'id',
      })
      report.scannedDocuments += result.docs.length
      own.documents += result.docs.length
      const checks = result.docs.flatMap((doc) =>
        ((doc as { objectKeys?: string[] }).objectKeys ?? []).map((key) => ({ id: doc.id, key })),
      )
      await eachLimited(checks, HEAD_CONCURRENCY, async ({ id, key }) => {
        try {
          await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), {
            abortSignal: AbortSignal.timeout(runtime.store.storage.timeoutSeconds * 1000),
          })
        } catch (error) {
          if (s3Status(error) === 404 || (error as { name?: string }).name === 'NotFound') {
            report.missing.push({ collection: slug, id, key })
            own.missing++
          } else throw error
        }
      })
      args.onProgress?.(
        `${slug}: ${own.documents} documents checked, missing objects: ${own.missing}`,
      )
      if (!result.hasNextPage) break
    }
  }

  return report
}
