/**
 * Operations on the real database and S3 server: re-optimization after a preset change (from the
 * kept original, else from the stored WebP), interrupted and rerun, on the jobs queue with two
 * workers at once, and reconcile finding planted orphans and missing objects.
 */
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'

import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import {
  queueReoptimize,
  reconcile,
  reoptimizeAll,
  type Runtime,
  runtimeOf,
} from 'payload-image-assets'
import { REOPTIMIZE_QUEUE } from 'payload-image-assets/internal'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { startTestApp, type TestApp } from '../helpers/app'
import { gradientJPEG } from '../helpers/images'

let app: TestApp

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

const upload = async (slug: string, name: string, seed: number) => {
  const data = await gradientJPEG(1800, 1200, [seed * 30, 80, 160], [240, 200, 120 - seed * 10])
  return app.payload.create({
    collection: slug as 'media',
    data: {},
    file: { data, mimetype: 'image/jpeg', name, size: data.length },
  })
}

beforeAll(async () => {
  app = await startTestApp()
  for (let i = 0; i < 6; i++) await upload('product-images', `product-${i}.jpg`, i)
  for (let i = 0; i < 3; i++) await upload('category-images', `category-${i}.jpg`, i)
}, 120_000)

afterAll(async () => {
  await app?.stop()
})

describe('reoptimize', () => {
  it('after a preset change every document is re-processed from its original, old objects are gone, nothing is orphaned; a second run does nothing', async () => {
    const before = await docsOf('product-images')
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
      done: 6,
      failed: 0,
      skipped: 0,
      total: 6,
    })
    expect(first.totals[0].bytesAfter).toBeLessThan(first.totals[0].bytesBefore)

    const after = await docsOf('product-images')
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
    expect(ledger).toHaveLength(6)
    expect(ledger.every((r) => r.status === 'done' && r.source === 'original')).toBe(true)

    const second = await reoptimizeAll({
      collections: ['product-images'],
      payload: app.payload,
      runtime,
    })
    expect(second.totals[0]).toMatchObject({ done: 0, total: 0 })
  })

  it('without a kept original it re-processes the stored WebP', async () => {
    const runtime = withPreset(runtimeOf(app.payload), 'category-images', 400)
    const { totals } = await reoptimizeAll({
      collections: ['category-images'],
      payload: app.payload,
      runtime,
    })
    expect(totals[0]).toMatchObject({ done: 3, total: 3 })
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
    const runtime = withPreset(runtimeOf(app.payload), 'product-images', 600)
    const controller = new AbortController()
    const first = await reoptimizeAll({
      collections: ['product-images'],
      onProgress: (p) => p.done >= 3 && controller.abort(),
      payload: app.payload,
      runtime,
      signal: controller.signal,
    })
    expect(first.interrupted).toBe(true)
    expect(first.totals[0].done).toBe(3)
    expect((await docsOf('product-images')).map((d) => d.width).sort()).toEqual([
      600, 600, 600, 800, 800, 800,
    ])
    await expectBucketMatchesDocuments('product-images')

    const rerun = await reoptimizeAll({
      collections: ['product-images'],
      payload: app.payload,
      runtime,
    })
    expect(rerun.totals[0]).toMatchObject({ done: 3, total: 3 })
    expect((await docsOf('product-images')).every((d) => d.width === 600)).toBe(true)
    await expectBucketMatchesDocuments('product-images')
  })

  it('two workers at once (the command on two machines) process each document once', async () => {
    const runtime = withPreset(runtimeOf(app.payload), 'product-images', 500)
    const [a, b] = await Promise.all([
      reoptimizeAll({ collections: ['product-images'], payload: app.payload, runtime }),
      reoptimizeAll({ collections: ['product-images'], payload: app.payload, runtime }),
    ])
    // Every document was re-optimized by exactly one of them; the other skipped it.
    expect(a.totals[0].done + b.totals[0].done).toBe(6)
    expect(a.totals[0].failed + b.totals[0].failed).toBe(0)
    expect((await docsOf('product-images')).every((d) => d.width === 500)).toBe(true)
    const fingerprint = (await docsOf('product-images'))[0].fingerprint
    const rows = await app.sql<{ document: string; n: string }>(
      "select document, count(*) as n from image_asset_reoptimizations where collection = 'product-images' and fingerprint = $1 and status = 'done' group by document",
      [fingerprint],
    )
    expect(rows).toHaveLength(6)
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true)
    await expectBucketMatchesDocuments('product-images')
  })

  it('on the jobs queue: one task per stale document, run by a jobs worker in the background', async () => {
    const runtime = withPreset(runtimeOf(app.payload), 'product-images', 450)
    expect(await queueReoptimize(app.payload, runtime, ['product-images'])).toBe(6)
    // The queued task runs with the app's own settings: point them at the new preset, as a deploy would.
    const live = runtimeOf(app.payload)
    const saved = live.collections
    live.collections = runtime.collections
    try {
      await app.payload.jobs.run({ limit: 100, queue: REOPTIMIZE_QUEUE })
      expect(await queueReoptimize(app.payload, runtime, ['product-images'])).toBe(0)
    } finally {
      live.collections = saved
    }
    expect((await docsOf('product-images')).every((d) => d.width === 450)).toBe(true)
    expect(await app.sql('select id from payload_jobs')).toEqual([])
    await expectBucketMatchesDocuments('product-images')
  })
})

describe('reoptimize, settings moved back', () => {
  it('a preset changed back to earlier settings re-processes again (the ledger records changes, not settings)', async () => {
    const runtime = withPreset(runtimeOf(app.payload), 'product-images', 500)
    const { totals } = await reoptimizeAll({
      collections: ['product-images'],
      payload: app.payload,
      runtime,
    })
    expect(totals[0]).toMatchObject({ done: 6, skipped: 0, total: 6 })
    expect((await docsOf('product-images')).every((d) => d.width === 500)).toBe(true)
    await expectBucketMatchesDocuments('product-images')
  })
})

describe('reconcile', () => {
  it('finds planted orphans and missing objects; --fix deletes the orphans past the grace period and reports the missing', async () => {
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
    const [victim] = await docsOf('category-images')
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

    const report = await reconcile({ fix: false, graceMs: 0, payload: app.payload, runtime })
    expect(report.orphans.map((o) => o.key).sort()).toEqual([...planted, recordedKey].sort())
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
    await vi.waitFor(async () => expect(await app.listKeys('avatars/aaaa')).toEqual([]), {
      interval: 200,
      timeout: 20_000,
    })
    expect(await app.sql('select id from image_asset_cleanup where id = $1', [row.id])).toEqual([])
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
    // Documents made with other settings (an older preset).
    await app.sql("update media set fingerprint = 'older-preset'")
    await app.sql("update avatars set fingerprint = 'older-preset'")
    await upload('avatars', 'me.jpg', 1)
    await app.sql("update avatars set fingerprint = 'older-preset'")

    const dry = await payloadBin(['reoptimize-images', '--dry-run', '--collection', 'avatars'])
    expect(dry.stdout).toContain('avatars: 1 image to re-optimize')
    const run = await payloadBin(['reoptimize-images', '--collection', 'avatars'])
    expect(run.code, run.stdout).toBe(0)
    expect(run.stdout).toMatch(/avatars: 1 re-optimized, 0 skipped, 0 failed of 1; stored .+ → .+/)
    expect(run.stdout).toContain('Done: 1 image(s) re-optimized.')
    const again = await payloadBin(['reoptimize-images', '--collection', 'avatars'])
    expect(again.stdout).toContain('avatars: 0 re-optimized, 0 skipped, 0 failed of 0')

    // Ctrl-C: the command stops after the current image and says how to continue; a rerun finishes.
    for (let i = 0; i < 24; i++) await upload('avatars', `crowd-${i}.jpg`, i % 5)
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

    const check = await payloadBin(['reconcile-images'])
    expect(check.stdout).toMatch(
      /0 orphaned object\(s\) \(run with --fix to delete them\); 1 missing object\(s\)/,
    )
    expect(check.code).toBe(1)
  })
})
