/**
 * Operations on the real database and S3 server: re-optimization after a preset change (from the
 * kept original, else from the stored WebP), interrupted and rerun, on the jobs queue, with two
 * workers held at the same claim, and reconcile finding planted orphans and missing objects.
 *
 * Every test starts from an empty app (no documents, ledger, clean-up rows, jobs or objects; see
 * `beforeEach`) and uploads the documents it works on (each upload's bytes its own), so that no
 * test depends on another one's results or on the order the tests run in.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'

import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { type CollectionSlug, ValidationError } from 'payload'
import {
  CLEANUP_SLUG,
  LEDGER_SLUG,
  queueReoptimize,
  reconcile,
  reoptimizeAll,
  type Runtime,
  runtimeOf,
} from 'payload-image-assets'
import { REOPTIMIZE_QUEUE, REOPTIMIZE_TASK } from 'payload-image-assets/internal'
import sharp from 'sharp'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'

import { startTestApp, type TestApp } from '../helpers/app'
import { gradientJPEG } from '../helpers/images'

let app: TestApp

/** Documents per re-optimization test (the product images, with AVIF, are the costly ones to make). */
const DOCS = 4

type Doc = {
  filename: string
  fingerprint: string
  id: number
  objectKeys: string[]
  originalKey: null | string
  width: number
}

const withPreset = (runtime: Runtime, slug: string, width: number, height = width): Runtime => ({
  ...runtime,
  collections: runtime.collections.map((c) =>
    c.slug === slug ? { ...c, preset: { ...c.preset, height, width } } : c,
  ),
})

const docsOf = async (slug: string): Promise<Doc[]> =>
  (await app.payload.find({ collection: slug as 'media', depth: 0, limit: 100, sort: 'id' }))
    .docs as unknown as Doc[]

/**
 * Every object under the collection's prefixes is one a document references, and every referenced
 * one exists, once the app's own clean-up has run (it deletes replaced objects after the commit).
 */
const expectBucketMatchesDocuments = async (slug: string) => {
  await vi.waitFor(
    async () => {
      const referenced = (await docsOf(slug)).flatMap((d) => d.objectKeys).sort()
      const stored = [
        ...(await app.listKeys(`${slug}/`)),
        ...(await app.listKeys(`originals/${slug}/`)),
      ].sort()
      expect(stored).toEqual(referenced)
    },
    { interval: 200, timeout: 30_000 },
  )
}

/** Uploads so far in this file: each upload's bytes (and so its object keys) are its own. */
let uploads = 0

const upload = async (slug: string, name: string) => {
  const n = uploads++
  const data = await gradientJPEG(1800, 1200, [(n * 37) % 256, 80, 160], [240, (n * 53) % 256, 120])
  return app.payload.create({
    collection: slug as 'media',
    data: {},
    file: { data, mimetype: 'image/jpeg', name, size: data.length },
  })
}

/** `count` new documents in `slug`, in id order. */
const seed = async (slug: string, count: number): Promise<Doc[]> => {
  const docs: Doc[] = []
  for (let i = 0; i < count; i++)
    docs.push((await upload(slug, `${slug}-${i}.jpg`)) as unknown as Doc)
  return docs
}

const ALL = { id: { exists: true } }

/**
 * An empty app: no documents in the plugin's collections, no ledger or clean-up rows, no jobs, no
 * objects. Rows go through the database adapter (no hooks), objects straight to S3.
 */
const emptyApp = async () => {
  const slugs = [
    ...runtimeOf(app.payload).collections.map((c) => c.slug),
    LEDGER_SLUG,
    CLEANUP_SLUG,
    'payload-jobs',
  ]
  for (const slug of slugs)
    await app.payload.db.deleteMany({ collection: slug as CollectionSlug, where: ALL })
  for (const Key of await app.listKeys())
    await app.s3.send(new DeleteObjectCommand({ Bucket: app.bucket, Key }))
  expect(await app.listKeys()).toEqual([])
  expect(await app.sql('select id from image_asset_reoptimizations')).toEqual([])
}

beforeAll(async () => {
  app = await startTestApp()
}, 120_000)

beforeEach(emptyApp, 60_000)

afterAll(async () => {
  await app?.stop()
})

describe('reoptimize', () => {
  it('after a preset change every document is re-processed from its original, old objects are gone, nothing is orphaned; a second run does nothing', async () => {
    const before = await seed('product-images', DOCS)
    expect(before.every((d) => d.width === 1024 && d.originalKey)).toBe(true)
    const runtime = withPreset(runtimeOf(app.payload), 'product-images', 800)
    const first = await reoptimizeAll({
      collections: ['product-images'],
      payload: app.payload,
      runtime,
    })
    expect(first.interrupted).toBe(false)
    expect(first.totals[0]).toMatchObject({
      collection: 'product-images',
      done: DOCS,
      failed: 0,
      skipped: 0,
      total: DOCS,
    })
    expect(first.totals[0].bytesAfter).toBeLessThan(first.totals[0].bytesBefore)

    const after = await docsOf('product-images')
    expect(after.map((d) => d.id)).toEqual(before.map((d) => d.id))
    for (const [i, doc] of after.entries()) {
      expect(doc.width).toBe(800)
      expect(doc.fingerprint).not.toBe(before[i].fingerprint)
      expect(doc.filename).not.toBe(before[i].filename)
      // The original is kept as it was, and the new main image was made from it (not from the old WebP).
      expect(doc.originalKey).toBe(before[i].originalKey)
      const main = await app.s3.send(
        new GetObjectCommand({ Bucket: app.bucket, Key: `product-images/${doc.filename}` }),
      )
      expect(
        (await sharp(Buffer.from(await main.Body!.transformToByteArray())).metadata()).width,
      ).toBe(800)
    }
    await expectBucketMatchesDocuments('product-images')
    const oldKeys = before.flatMap((d) => d.objectKeys.filter((k) => !k.startsWith('originals/')))
    const stored = new Set(await app.listKeys('product-images/'))
    expect(oldKeys.filter((k) => stored.has(k))).toEqual([])
    const ledger = await app.sql<{ source: string; status: string }>(
      "select status, source from image_asset_reoptimizations where collection = 'product-images'",
    )
    expect(ledger).toHaveLength(DOCS)
    expect(ledger.every((r) => r.status === 'done' && r.source === 'original')).toBe(true)

    const second = await reoptimizeAll({
      collections: ['product-images'],
      payload: app.payload,
      runtime,
    })
    expect(second.totals[0]).toMatchObject({ done: 0, total: 0 })
  })

  it('without a kept original it re-processes the stored WebP', async () => {
    const before = await seed('category-images', 3)
    expect(before.every((d) => d.width === 800 && d.originalKey === null)).toBe(true)
    const runtime = withPreset(runtimeOf(app.payload), 'category-images', 400)
    const { totals } = await reoptimizeAll({
      collections: ['category-images'],
      payload: app.payload,
      runtime,
    })
    expect(totals[0]).toMatchObject({ done: 3, failed: 0, skipped: 0, total: 3 })
    expect(
      (await docsOf('category-images')).every((d) => d.width === 400 && d.originalKey === null),
    ).toBe(true)
    const ledger = await app.sql<{ source: string }>(
      "select source from image_asset_reoptimizations where collection = 'category-images'",
    )
    expect(ledger.map((r) => r.source)).toEqual(['stored-webp', 'stored-webp', 'stored-webp'])
    await expectBucketMatchesDocuments('category-images')
  })

  it('interrupted halfway, a rerun finishes the rest', async () => {
    await seed('product-images', DOCS)
    const runtime = withPreset(runtimeOf(app.payload), 'product-images', 600)
    const controller = new AbortController()
    const first = await reoptimizeAll({
      collections: ['product-images'],
      onProgress: (p) => p.done >= 2 && controller.abort(),
      payload: app.payload,
      runtime,
      signal: controller.signal,
    })
    expect(first.interrupted).toBe(true)
    expect(first.totals[0].done).toBe(2)
    // The first two in id order are done; the others still have the upload's 1024 px.
    expect((await docsOf('product-images')).map((d) => d.width)).toEqual([600, 600, 1024, 1024])
    await expectBucketMatchesDocuments('product-images')

    const rerun = await reoptimizeAll({
      collections: ['product-images'],
      payload: app.payload,
      runtime,
    })
    expect(rerun.totals[0]).toMatchObject({ done: 2, total: 2 })
    expect((await docsOf('product-images')).every((d) => d.width === 600)).toBe(true)
    await expectBucketMatchesDocuments('product-images')
  })

  it('two workers at once (the command on two machines), both held at the claim of each document until the other is there too: the ledger lets exactly one of them process it, the other skips it', async () => {
    await seed('product-images', DOCS)
    const live = runtimeOf(app.payload)
    const worker = new AsyncLocalStorage<'a' | 'b'>()
    // The image work each worker does (re-processing goes through the limiter once per image).
    const processed = { a: 0, b: 0 }
    const runtime = {
      ...withPreset(live, 'product-images', 500),
      limiter: {
        run: (task: () => Promise<unknown>) => {
          processed[worker.getStore()!]++
          return live.limiter.run(task)
        },
      },
    } as unknown as Runtime

    // The barrier, at the claim itself (the ledger row's create): whichever worker gets there first
    // waits until the other one has read the same document in the same state and tries the same
    // claim, then both go on at once. Nothing but the ledger's unique key is left to keep the
    // second one from processing the document too.
    type Arrival = { error?: unknown; key: string; outcome?: 'claimed' | 'refused'; worker: string }
    const arrivals: Arrival[] = []
    const waiting = new Map<string, () => void>()
    const create = app.payload.create
    const atClaim = async (options: { collection: string; data?: Record<string, unknown> }) => {
      if (options.collection !== LEDGER_SLUG)
        return (create as (o: unknown) => Promise<unknown>).call(app.payload, options)
      const arrival: Arrival = { key: String(options.data?.key), worker: worker.getStore()! }
      arrivals.push(arrival)
      const other = waiting.get(arrival.key)
      if (other) {
        waiting.delete(arrival.key)
        other()
      } else {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () =>
              reject(
                new Error(
                  `worker ${arrival.worker} waited 60 s at the claim ${arrival.key} for the other worker`,
                ),
              ),
            60_000,
          )
          waiting.set(arrival.key, () => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
      try {
        const row = await (create as (o: unknown) => Promise<unknown>).call(app.payload, options)
        arrival.outcome = 'claimed'
        return row
      } catch (error) {
        arrival.outcome = 'refused'
        arrival.error = error
        throw error
      }
    }
    app.payload.create = atClaim as unknown as typeof create
    let results: Awaited<ReturnType<typeof reoptimizeAll>>[]
    try {
      results = await Promise.all(
        (['a', 'b'] as const).map((name) =>
          worker.run(name, () =>
            reoptimizeAll({ collections: ['product-images'], payload: app.payload, runtime }),
          ),
        ),
      )
    } finally {
      app.payload.create = create
    }

    // Both workers tried the claim of every document, with the same key (same file, same
    // settings); the database took one claim and refused the other one as a duplicate key.
    const keys = [...new Set(arrivals.map((x) => x.key))]
    expect(keys).toHaveLength(DOCS)
    for (const key of keys) {
      const at = arrivals.filter((x) => x.key === key)
      expect(at.map((x) => x.worker).sort(), key).toEqual(['a', 'b'])
      expect(at.map((x) => x.outcome).sort(), key).toEqual(['claimed', 'refused'])
      const refused = at.find((x) => x.outcome === 'refused')!.error
      expect(refused, key).toBeInstanceOf(ValidationError)
      expect((refused as ValidationError).data.errors.map((e) => e.path)).toEqual(['key'])
    }
    // Each worker re-processed exactly the documents whose claim it won, and skipped the others.
    for (const [i, name] of (['a', 'b'] as const).entries()) {
      const won = arrivals.filter((x) => x.worker === name && x.outcome === 'claimed').length
      expect(results[i].totals[0], name).toMatchObject({
        done: won,
        failed: 0,
        skipped: DOCS - won,
        total: DOCS,
      })
      expect(processed[name], name).toBe(won)
    }
    expect(processed.a + processed.b).toBe(DOCS)

    const docs = await docsOf('product-images')
    expect(docs.every((d) => d.width === 500)).toBe(true)
    const rows = await app.sql<{ document: string; status: string }>(
      "select document, status from image_asset_reoptimizations where collection = 'product-images' order by document::int",
    )
    expect(rows).toEqual(docs.map((d) => ({ document: String(d.id), status: 'done' })))
    await expectBucketMatchesDocuments('product-images')
  })

  it("on the jobs queue: one task per stale document, run by a jobs worker in the background with the app's own settings", async () => {
    const before = await seed('product-images', DOCS)
    const live = runtimeOf(app.payload)
    // The queue's re-optimization tasks (other image work, such as AVIF versions, shares the queue).
    const reoptimizeJobs = () =>
      app.sql('select id from payload_jobs where task_slug = $1', [REOPTIMIZE_TASK])
    // Documents made with other settings (an older preset); the app's own settings are current.
    await app.sql("update product_images set fingerprint = 'older-preset'")
    expect(await queueReoptimize(app.payload, live, ['product-images'])).toBe(DOCS)
    expect(await reoptimizeJobs()).toHaveLength(DOCS)
    await app.payload.jobs.run({ limit: 100, queue: REOPTIMIZE_QUEUE })
    expect(await queueReoptimize(app.payload, live, ['product-images'])).toBe(0)

    const after = await docsOf('product-images')
    for (const [i, doc] of after.entries()) {
      // Re-processed (a new file) with the app's settings: the fingerprint and size of an upload now.
      expect(doc.filename).not.toBe(before[i].filename)
      expect(doc.fingerprint).toBe(before[i].fingerprint)
      expect(doc.width).toBe(1024)
    }
    const ledger = await app.sql<{ status: string }>(
      "select status from image_asset_reoptimizations where collection = 'product-images'",
    )
    expect(ledger.map((r) => r.status)).toEqual(Array(DOCS).fill('done'))
    expect(await reoptimizeJobs()).toEqual([])
    await expectBucketMatchesDocuments('product-images')
  })
})

describe('reoptimize, settings moved back', () => {
  it('a preset changed back to earlier settings re-processes again (the ledger records changes, not settings)', async () => {
    await seed('product-images', DOCS)
    const live = runtimeOf(app.payload)
    const run = (width: number) =>
      reoptimizeAll({
        collections: ['product-images'],
        payload: app.payload,
        runtime: withPreset(live, 'product-images', width),
      })
    expect((await run(500)).totals[0]).toMatchObject({ done: DOCS, skipped: 0, total: DOCS })
    expect((await run(450)).totals[0]).toMatchObject({ done: DOCS, skipped: 0, total: DOCS })
    expect((await docsOf('product-images')).every((d) => d.width === 450)).toBe(true)

    // Back to 500: the same settings as the first run, from other files, so new ledger keys.
    const { totals } = await run(500)
    expect(totals[0]).toMatchObject({ done: DOCS, skipped: 0, total: DOCS })
    expect((await docsOf('product-images')).every((d) => d.width === 500)).toBe(true)
    const ledger = await app.sql<{ fingerprint: string; n: number }>(
      "select fingerprint, count(*)::int as n from image_asset_reoptimizations where collection = 'product-images' and status = 'done' group by fingerprint order by n",
    )
    // Two fingerprints (500 and 450); 500's twice over, once per change to it.
    expect(ledger.map((r) => r.n)).toEqual([DOCS, 2 * DOCS])
    await expectBucketMatchesDocuments('product-images')
  })
})

describe('reconcile', () => {
  it('finds planted orphans and missing objects; --fix deletes the orphans past the grace period and reports the missing', async () => {
    await seed('product-images', 2)
    const categories = await seed('category-images', 3)
    const runtime = runtimeOf(app.payload)
    const planted = [
      'product-images/0123456789abcdef-00000000.webp',
      'originals/product-images/0123456789abcdef-00000000.jpg',
      'media/fedcba9876543210-11111111.webp',
    ]
    for (const Key of planted)
      await app.s3.send(
        new PutObjectCommand({ Body: Buffer.from('stray'), Bucket: app.bucket, Key }),
      )
    const [victim] = categories
    const missingKey = victim.objectKeys.find((k) => !k.endsWith(victim.filename))!
    await app.s3.send(new DeleteObjectCommand({ Bucket: app.bucket, Key: missingKey }))
    // An upload still in progress (its keys recorded for clean-up, not yet due), with an object written.
    const recordedKey = 'avatars/aaaaaaaaaaaaaaaa-22222222.webp'
    await app.s3.send(
      new PutObjectCommand({ Body: Buffer.from('stray'), Bucket: app.bucket, Key: recordedKey }),
    )
    const row = await app.payload.db.create({
      collection: 'image-asset-cleanup',
      data: {
        attempts: 0,
        collection: 'avatars',
        due: new Date(Date.now() + 3_600_000).toISOString(),
        keys: [recordedKey],
        reason: 'upload',
      },
    })
    const progress: string[] = []
    const report = await reconcile({
      fix: false,
      graceMs: 0,
      onProgress: (line) => progress.push(line),
      payload: app.payload,
      runtime,
    })
    expect(report.orphans.map((o) => o.key).sort()).toEqual([...planted, recordedKey].sort())
    // Each prefix's progress line counts that prefix only (originals are listed apart from the
    // collection's own objects), and each collection's document line its own documents.
    const objectsOf = async (prefix: string) => (await app.listKeys(prefix)).length
    expect(progress).toContain(
      `originals/product-images/: ${await objectsOf('originals/product-images/')} objects scanned, 1 orphaned`,
    )
    expect(progress).toContain(
      `product-images/: ${await objectsOf('product-images/')} objects scanned, 1 orphaned`,
    )
    expect(progress).toContain('category-images: 3 documents checked, missing objects: 1')
    expect(progress).toContain(
      `avatars: ${report.collections.avatars.documents} documents checked, missing objects: 0`,
    )
    expect(report.recorded).toEqual({ deleted: 0, remaining: 1 })

    // With --fix and a grace period, young orphans stay (an upload may still be in progress), and
    // so does the recorded upload that is not due yet.
    const young = await reconcile({ fix: true, graceMs: 3_600_000, payload: app.payload, runtime })
    expect(young.recorded).toEqual({ deleted: 0, remaining: 1 })
    expect(young.orphans.map((o) => o.key).sort()).toEqual([...planted, recordedKey].sort())
    expect(young.orphans.every((o) => o.tooRecent && !o.deleted)).toBe(true)
    expect(report.orphans.every((o) => !o.deleted)).toBe(true)
    // Once it is due (the upload never finished), the app's own clean-up deletes it: no command.
    await app.payload.db.updateOne({
      collection: 'image-asset-cleanup',
      data: { due: new Date(Date.now() - 1000).toISOString() },
      id: row.id,
    })
    // The runner deletes the objects, then the row.
    await vi.waitFor(
      async () => {
        expect(await app.listKeys('avatars/aaaa')).toEqual([])
        expect(await app.sql('select id from image_asset_cleanup where id = $1', [row.id])).toEqual(
          [],
        )
      },
      { interval: 200, timeout: 20_000 },
    )
    expect(report.missing).toEqual([
      { collection: 'category-images', id: victim.id, key: missingKey },
    ])
    // Each collection's line counts its own objects and documents, not a running total.
    expect(
      Object.fromEntries(
        Object.entries(report.collections).map(([slug, c]) => [slug, [c.missing, c.orphans]]),
      ),
    ).toEqual({
      avatars: [0, 1],
      'category-images': [1, 0],
      media: [0, 1],
      'product-images': [0, 2],
    })
    expect(report.collections['category-images'].documents).toBe(3)
    expect(Object.values(report.collections).reduce((n, c) => n + c.objects, 0)).toBe(
      report.scannedObjects,
    )

    const fixed = await reconcile({ fix: true, graceMs: 0, payload: app.payload, runtime })
    expect(fixed.orphans.every((o) => o.deleted)).toBe(true)
    expect(fixed.missing).toEqual([
      { collection: 'category-images', id: victim.id, key: missingKey },
    ])
    expect(fixed.recorded).toEqual({ deleted: 0, remaining: 0 })
    const keys = new Set(await app.listKeys())
    expect([...planted, recordedKey].filter((k) => keys.has(k))).toEqual([])
    // Objects documents reference are untouched.
    for (const slug of ['product-images', 'avatars', 'media'])
      await expectBucketMatchesDocuments(slug)
  })
})

describe('the commands', () => {
  const payloadBin = (args: string[]) =>
    promisify(execFile)('npx', ['payload', ...args], {
      env: { ...process.env, NODE_ENV: 'development' },
      timeout: 180_000,
    }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code?: number; stdout?: string }) => ({ code: e.code ?? 1, stdout: e.stdout ?? '' }),
    )

  it('`payload reoptimize-images` reports, re-processes and then has nothing left to do; `payload reconcile-images` reports what is missing', async () => {
    // Documents made with other settings (an older preset): an avatar, and a media image that a
    // command for avatars only must leave alone.
    const [media] = await seed('media', 1)
    await app.sql("update media set fingerprint = 'older-preset'")
    await upload('avatars', 'me.jpg')
    await app.sql("update avatars set fingerprint = 'older-preset'")
    // A category image with one of its objects gone from the bucket, for `reconcile-images`.
    const [category] = await seed('category-images', 1)
    const missingKey = category.objectKeys.find((k) => !k.endsWith(category.filename))!
    await app.s3.send(new DeleteObjectCommand({ Bucket: app.bucket, Key: missingKey }))

    const dry = await payloadBin(['reoptimize-images', '--dry-run', '--collection', 'avatars'])
    expect(dry.stdout).toContain('avatars: 1 image to re-optimize')
    const run = await payloadBin(['reoptimize-images', '--collection', 'avatars'])
    expect(run.code, run.stdout).toBe(0)
    expect(run.stdout).toMatch(/avatars: 1 re-optimized, 0 skipped, 0 failed of 1; stored .+ → .+/)
    expect(run.stdout).toContain('Done: 1 image(s) re-optimized.')
    const again = await payloadBin(['reoptimize-images', '--collection', 'avatars'])
    expect(again.stdout).toContain('avatars: 0 re-optimized, 0 skipped, 0 failed of 0')

    // Ctrl-C: the command stops after the current image and says how to continue; a rerun finishes.
    for (let i = 0; i < 24; i++) await upload('avatars', `crowd-${i}.jpg`)
    await app.sql("update avatars set fingerprint = 'older-preset'")
    // The `payload` bin itself (npx would die of the SIGINT first, as npm does in a terminal).
    const child = spawn(
      process.execPath,
      ['node_modules/payload/bin.js', 'reoptimize-images', '--collection', 'avatars'],
      {
        detached: true,
        env: { ...process.env, NODE_ENV: 'development' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    )
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk
        // Interrupt once the first images are done.
        if (/avatars \[#+-+\] [1-9]/.test(stderr)) resolve()
      })
      void exited.then(() => resolve())
    })
    process.kill(-child.pid!, 'SIGINT')
    expect(await exited).toBe(1)
    expect(stderr).toContain('Stopping after the current image')
    const interrupted = Number(
      /Interrupted after (\d+) image\(s\); run the command again to continue\./.exec(stdout)?.[1],
    )
    expect(interrupted).toBeGreaterThan(0)
    expect(interrupted).toBeLessThan(25)
    const rest = await payloadBin(['reoptimize-images', '--collection', 'avatars'])
    expect(rest.stdout, `${stdout}\n---\n${stderr}\n---\n${rest.stdout}`).toContain(
      `avatars: ${25 - interrupted} re-optimized, 0 skipped, 0 failed of ${25 - interrupted}`,
    )
    await expectBucketMatchesDocuments('avatars')
    // The media image was not the command's to touch: still its upload's file, still stale.
    expect(await app.sql('select filename, fingerprint from media')).toEqual([
      { filename: media.filename, fingerprint: 'older-preset' },
    ])

    const check = await payloadBin(['reconcile-images'])
    expect(check.stdout).toMatch(
      /0 orphaned object\(s\) \(run with --fix to delete them\); 1 missing object\(s\)/,
    )
    expect(check.code).toBe(1)
    // Five `payload` commands, each booting Payload in a process of its own.
  }, 300_000)
})
