/**
 * The upload path in order: authorize before any image work; process and store with no database
 * transaction open (S3 stalled: the uploads end at the store deadline with a 503, no connection
 * sits idle in a transaction, the rest of the app keeps answering, and whatever reached the bucket
 * is cleaned up by the app); record in a short transaction, clean up only after it commits (a
 * failure after the new objects and the row were written leaves the previous image intact, and
 * only the new objects are removed).
 *
 * One app for the file, its S3 traffic through a fault-injecting proxy (healthy unless a test
 * says otherwise) and a 4 s store deadline.
 */
import { randomBytes } from 'node:crypto'
import http from 'node:http'

import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { runtimeOf } from 'payload-image-assets'
import { cleanupRunnerOf } from 'payload-image-assets/internal'
import type { CollectionAfterChangeHook } from 'payload'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { startFaultyS3 } from '../helpers/faultyProxy'
import { gradientJPEG } from '../helpers/images'
import { fileNamesOf } from '../helpers/imageJobs'

const STORAGE_FAILED =
  'The image could not be stored because the storage service did not accept it. Nothing was saved to Product Images; try again in a moment.'
const COLLECTIONS = ['avatars', 'category-images', 'media', 'product-images'] as const
const S3_TIMEOUT_SECONDS = 4

let app: TestApp
let s3: Awaited<ReturnType<typeof startFaultyS3>>
/** 5120 x 3840 of grey noise: about 19 MB of PNG, under every byte limit, costly to decode. */
let bigPNG: Blob
let photo: Buffer
let small: Buffer

beforeAll(async () => {
  s3 = await startFaultyS3(inject('s3Endpoint'))
  app = await startTestApp({ S3_ENDPOINT: s3.url, S3_TIMEOUT_SECONDS: String(S3_TIMEOUT_SECONDS) })
  const [width, height] = [5120, 3840]
  const png = await sharp(randomBytes(width * height), { raw: { channels: 1, height, width } })
    .toColourspace('b-w')
    .png({ compressionLevel: 1 })
    .toBuffer()
  expect(png.length).toBeGreaterThan(15 * 1024 * 1024)
  expect(png.length).toBeLessThan(25 * 1024 * 1024)
  bigPNG = new Blob([new Uint8Array(png)], { type: 'image/png' })
  photo = await gradientJPEG(2000, 1500, [10, 90, 160], [250, 220, 120])
  small = await gradientJPEG(800, 600, [200, 40, 40], [40, 40, 200])
}, 120_000)

afterAll(async () => {
  await app?.stop()
  await s3?.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A multipart POST with no credentials. */
const postAnonymously = async (collection: string, file: Blob, name: string) => {
  const form = new FormData()
  form.append('file', file, name)
  form.append('_payload', '{}')
  const response = await fetch(`${app.baseURL}/api/${collection}`, { body: form, method: 'POST' })
  return { body: (await response.json().catch(() => undefined)) as any, status: response.status }
}

const rowCount = async (table: string) =>
  Number((await app.sql<{ n: string }>(`select count(*) as n from "${table}"`))[0].n)

/** Every object key any document references. */
const referencedKeys = async () => {
  const keys: string[] = []
  for (const collection of COLLECTIONS) {
    const { docs } = await app.payload.find({ collection, depth: 0, limit: 0, pagination: false })
    for (const doc of docs as Array<{ objectKeys?: string[] }>) keys.push(...(doc.objectKeys ?? []))
  }
  return keys.sort()
}

/** The highest clean-up row id so far (0 when there is none). */
const maxCleanupId = async () =>
  Number(
    (await app.sql<{ id: null | number }>('select max(id) as id from image_asset_cleanup'))[0].id ??
      0,
  )

/** Keys in `after` that were not in `before`, sorted. */
const addedKeys = (before: string[], after: string[]) =>
  after.filter((k) => !before.includes(k)).sort()

const exists = async (key: string) => {
  try {
    await app.s3.send(new HeadObjectCommand({ Bucket: app.bucket, Key: key }))
    return true
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return false
    throw error
  }
}

describe('1 authorize: anonymous uploads are refused before any image work', () => {
  it('a large PNG and a text file named .png: 401, never decoded, nothing stored; an editor upload does go through the limiter', async () => {
    const limiter = runtimeOf(app.payload).limiter
    const run = vi.spyOn(limiter, 'run')
    try {
      const rowsBefore = await rowCount('product_images')
      const lastCleanupRow = await maxCleanupId()
      const keysBefore = await app.listKeys()
      const big = await postAnonymously('product-images', bigPNG, 'huge.png')
      expect(big.status).toBe(401)
      expect(big.body?.errors?.[0]?.message).toEqual(expect.any(String))
      const text = await postAnonymously(
        'product-images',
        new Blob(['just some notes, not an image\n'.repeat(100)], { type: 'text/plain' }),
        'notes.png',
      )
      expect(text.status).toBe(401)
      expect(run).not.toHaveBeenCalled()
      expect(await rowCount('product_images')).toBe(rowsBefore)
      // No upload was recorded for clean-up, and nothing reached the bucket.
      expect(
        await app.sql('select id from image_asset_cleanup where id > $1', [lastCleanupRow]),
      ).toEqual([])
      expect(addedKeys(keysBefore, await app.listKeys())).toEqual([])

      // The spy sees processing: the same file from an editor is decoded, through limiter.run, once.
      const form = new FormData()
      form.append('file', bigPNG, 'huge.png')
      form.append('_payload', '{}')
      const response = await fetch(`${app.baseURL}/api/category-images`, {
        body: form,
        headers: { Authorization: `JWT ${app.token}` },
        method: 'POST',
      })
      const body = (await response.json()) as any
      expect(response.status, JSON.stringify(body)).toBe(201)
      expect(run).toHaveBeenCalledTimes(1)
      expect([body.doc.originalWidth, body.doc.originalHeight]).toEqual([5120, 3840])
      expect(addedKeys(keysBefore, await app.listKeys())).toEqual([...body.doc.objectKeys].sort())
    } finally {
      run.mockRestore()
    }
  })

  it('the refusal comes before the body is read: a request whose body never completes is answered 401', async () => {
    const rowsBefore = await rowCount('product_images')
    const url = new URL(`${app.baseURL}/api/product-images`)
    const head =
      '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="huge.png"\r\nContent-Type: image/png\r\n\r\n'
    const answer = await new Promise<{ connection?: string; status?: number }>(
      (resolve, reject) => {
        const req = http.request(
          {
            headers: {
              'content-length': String(20 * 1024 * 1024),
              'content-type': 'multipart/form-data; boundary=XYZ',
            },
            host: url.hostname,
            method: 'POST',
            path: url.pathname,
            port: url.port,
          },
          (res) => {
            res.resume()
            resolve({ connection: res.headers.connection, status: res.statusCode })
            req.destroy()
          },
        )
        req.on('error', reject)
        // 1 MB of the 20 MB announced, and no more: only an answer that does not wait for the body can come.
        req.write(head)
        req.write(Buffer.alloc(1024 * 1024))
        setTimeout(() => {
          req.destroy()
          reject(new Error('no answer while the body was incomplete'))
        }, 30_000).unref()
      },
    )
    expect(answer).toEqual({ connection: 'close', status: 401 })
    expect(await rowCount('product_images')).toBe(rowsBefore)
  })

  it('a flood of 24 anonymous large uploads: every one 401 and none decoded, while an editor upload at the same time is created', async () => {
    const limiter = runtimeOf(app.payload).limiter
    const run = vi.spyOn(limiter, 'run')
    try {
      const rowsBefore = await rowCount('product_images')
      const keysBefore = await app.listKeys('product-images/')
      const flood = Array.from({ length: 24 }, (_, i) =>
        postAnonymously('product-images', bigPNG, `flood-${i}.png`),
      )
      const editor = uploadREST(app, 'product-images', {
        data: small,
        name: 'editor.jpg',
        type: 'image/jpeg',
      })
      const [anonymous, mine] = await Promise.all([Promise.all(flood), editor])
      expect(anonymous.map((r) => r.status)).toEqual(Array(24).fill(401))
      expect(mine.status, JSON.stringify(mine.body)).toBe(201)
      expect(run).toHaveBeenCalledTimes(1)
      expect(await rowCount('product_images')).toBe(rowsBefore + 1)
      expect(
        await app.sql('select id from product_images where id = $1', [mine.body.doc.id]),
      ).toHaveLength(1)
      const added = (await app.listKeys('product-images/')).filter((k) => !keysBefore.includes(k))
      // The kept original lives under originals/; everything else under the collection's prefix.
      expect(added.sort()).toEqual(
        mine.body.doc.objectKeys.filter((k: string) => k.startsWith('product-images/')).sort(),
      )
      expect(await exists(mine.body.doc.originalKey)).toBe(true)
    } finally {
      run.mockRestore()
    }
  })
})

describe('4 a failure after the new objects and the row were written', () => {
  it('leaves the previous image in place and served; only the new objects are cleaned up', async () => {
    const created = await uploadREST(app, 'media', {
      data: photo,
      name: 'before.jpg',
      type: 'image/jpeg',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const old = created.body.doc as {
      filename: string
      id: number
      objectKeys: string[]
      url: string
      variants: Array<{ url: string }>
    }
    const oldKeys = [...old.objectKeys].sort()
    expect(oldKeys.length).toBeGreaterThan(0)
    expect((await app.listKeys('media/')).sort()).toEqual(oldKeys)

    // The hook runs inside the update's transaction, after the row was written: it sees the new
    // file's fields and checks that its objects are already in the bucket, then fails.
    const seen: { filename?: string; keys: string[]; stored: boolean[] } = { keys: [], stored: [] }
    const failing: CollectionAfterChangeHook = async ({ doc, operation }) => {
      if (operation !== 'update') return doc
      seen.filename = doc.filename
      seen.keys = [...(doc.objectKeys ?? [])]
      seen.stored = await Promise.all(seen.keys.map(exists))
      throw new Error('injected failure after the database write')
    }
    const hooks = app.payload.collections.media.config.hooks
    hooks.afterChange ??= []
    hooks.afterChange.push(failing)
    let status: number
    try {
      const form = new FormData()
      form.append(
        'file',
        new Blob([new Uint8Array(await gradientJPEG(1800, 1200, [0, 160, 60], [250, 250, 250]))], {
          type: 'image/jpeg',
        }),
        'after.jpg',
      )
      const response = await fetch(`${app.baseURL}/api/media/${old.id}`, {
        body: form,
        headers: { Authorization: `JWT ${app.token}` },
        method: 'PATCH',
      })
      status = response.status
      await response.arrayBuffer()
    } finally {
      hooks.afterChange.splice(hooks.afterChange.indexOf(failing), 1)
    }
    expect(status).toBeGreaterThanOrEqual(500)
    expect(status).toBeLessThan(600)

    // The failure came after the new objects were stored and the row was updated.
    expect(seen.filename).toBeDefined()
    expect(seen.filename).not.toBe(old.filename)
    expect(seen.keys.length).toBeGreaterThan(0)
    expect(seen.keys.filter((k) => oldKeys.includes(k))).toEqual([])
    expect(seen.stored).toEqual(seen.keys.map(() => true))

    const checkOldIntact = async () => {
      const [row] = await app.sql<{ filename: string }>(
        'select filename from media where id = $1',
        [old.id],
      )
      expect(row.filename).toBe(old.filename)
      const doc = await app.payload.findByID({ collection: 'media', depth: 0, id: old.id })
      expect(doc.filename).toBe(old.filename)
      expect([...(doc.objectKeys ?? [])].sort()).toEqual(oldKeys)
      for (const key of oldKeys) expect(await exists(key), key).toBe(true)
      // Served: the API answers with the old file, and every URL it gives works.
      const api = await fetch(`${app.baseURL}/api/media/${old.id}`)
      expect(api.status).toBe(200)
      const served = (await api.json()) as typeof old
      expect(served.filename).toBe(old.filename)
      for (const url of [served.url, ...served.variants.map((v) => v.url)]) {
        const object = await fetch(url)
        expect(object.status, url).toBe(200)
        expect(object.headers.get('content-type')).toBe('image/webp')
        await object.arrayBuffer()
      }
      // No pending deletion of the old file survived the rollback.
      expect(
        await app.sql(
          "select id from image_asset_cleanup where reason <> 'upload' and document = $1",
          [String(old.id)],
        ),
      ).toEqual([])
    }
    await checkOldIntact()

    // The new objects are the app's to remove, with no command; the old ones stay.
    await vi.waitFor(
      async () => {
        for (const key of seen.keys) expect(await exists(key), key).toBe(false)
        expect((await app.listKeys('media/')).sort()).toEqual(oldKeys)
      },
      { interval: 250, timeout: 60_000 },
    )
    await cleanupRunnerOf(app.payload)!.runOnce()
    await checkOldIntact()
    expect((await app.listKeys('media/')).sort()).toEqual(oldKeys)
  }, 180_000)
})

describe('2 the Local API: the operation’s connection is let go for the image work', () => {
  const create = (name: string, req?: { transactionID: number | string }) =>
    app.payload.create({
      collection: 'media',
      data: { alt: name },
      file: { data: small, mimetype: 'image/jpeg', name: `${name}.jpg`, size: small.length },
      ...(req ? { req } : {}),
    } as never) as Promise<{ id: number; objectKeys: string[] }>
  const rowsWithId = (id: number) => app.sql('select id from media where id = $1', [id])

  it('more creates with a file at once than the pool has connections and the work queue holds (an import script’s Promise.all): every one is created', async () => {
    // Each operation's transaction would otherwise hold a connection through its image work while
    // the plugin's clean-up row waits for another: with the pool's 10 all held, for ever. And the
    // server's own code waits for a work slot where a request would be refused as busy.
    const { concurrency, queueDepth } = runtimeOf(app.payload).limiter
    const count = concurrency + queueDepth + 10
    let timer: NodeJS.Timeout | undefined
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the creates still wait after 60 s')), 60_000)
    })
    try {
      const docs = await Promise.race([
        Promise.all(Array.from({ length: count }, (_, i) => create(`import-${i}`))),
        hung,
      ])
      expect(new Set(docs.map((d) => d.id)).size).toBe(count)
      for (const doc of docs) {
        expect(await rowsWithId(doc.id)).toHaveLength(1)
        for (const key of doc.objectKeys) expect(await exists(key), key).toBe(true)
      }
    } finally {
      clearTimeout(timer)
    }
  })

  it('a transaction the caller began and passed in keeps its meaning: the image is in it, and commits or rolls back with it', async () => {
    for (const outcome of ['rollback', 'commit'] as const) {
      const transactionID = (await app.payload.db.beginTransaction())!
      const doc = await create(`in-${outcome}`, { transactionID })
      // Not visible outside the caller's transaction before it ends.
      expect(await rowsWithId(doc.id)).toEqual([])
      if (outcome === 'commit') await app.payload.db.commitTransaction(transactionID)
      else await app.payload.db.rollbackTransaction(transactionID)
      expect(await rowsWithId(doc.id)).toHaveLength(outcome === 'commit' ? 1 : 0)
    }
    // Several at once in one fresh caller transaction: let go once, begun again once (each
    // operation records in the new one), and all of them end with the caller's.
    for (const outcome of ['rollback', 'commit'] as const) {
      const shared = (await app.payload.db.beginTransaction())!
      const together = await Promise.all(
        [1, 2, 3].map((n) => create(`together-${outcome}-${n}`, { transactionID: shared })),
      )
      if (outcome === 'commit') await app.payload.db.commitTransaction(shared)
      else await app.payload.db.rollbackTransaction(shared)
      for (const doc of together)
        expect(await rowsWithId(doc.id)).toHaveLength(outcome === 'commit' ? 1 : 0)
    }
    // One that has already written: the image work runs inside it, and it commits as one.
    const transactionID = (await app.payload.db.beginTransaction())!
    const first = await create('written-first', { transactionID })
    const second = await create('written-second', { transactionID })
    await app.payload.db.rollbackTransaction(transactionID)
    expect([...(await rowsWithId(first.id)), ...(await rowsWithId(second.id))]).toEqual([])
    // Nothing is left open.
    expect(
      await app.sql(
        `select state from pg_stat_activity
          where datname = current_database() and state like 'idle in transaction%'`,
      ),
    ).toEqual([])
  })
})

describe('3 S3 stalled: the store step ends at its deadline, with no transaction open', () => {
  for (const [what, stallDelivers] of [
    ['the requests never reach S3', false],
    ['the writes reach S3 but their answers never come back', true],
  ] as const) {
    it(`${what}: 503 with Retry-After at the deadline, no idle transaction meanwhile, reads still answered, the bucket cleaned up after`, async () => {
      const rowsBefore = await rowCount('product_images')
      s3.set({ stall: 'puts', stallDelivers })
      let results: Array<Awaited<ReturnType<typeof uploadREST>> & { elapsed: number }>
      const idleInTransaction: unknown[] = []
      const failedReads: string[] = []
      let samplesWhileStalled = 0
      let appSessionsSeen = 0
      try {
        let settled = false
        const uploads = Promise.all(
          Array.from({ length: 4 }, async (_, i) => {
            const started = Date.now()
            const result = await uploadREST(app, 'product-images', {
              data: photo,
              name: `stalled-${i}.jpg`,
              type: 'image/jpeg',
            })
            return { ...result, elapsed: Date.now() - started }
          }),
        ).finally(() => {
          settled = true
        })
        while (!settled) {
          const stalledNow = s3.stalls().held > 0
          // The app's connections, seen from ours (same role, so their state is visible).
          const sessions = await app.sql<{ pid: number; query: string; state: null | string }>(
            'select pid, state, query from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
          )
          if (sessions.some((s) => s.state !== null)) appSessionsSeen++
          idleInTransaction.push(
            ...sessions.filter((s) => s.state?.startsWith('idle in transaction')),
          )
          if (stalledNow && s3.stalls().held > 0) samplesWhileStalled++
          for (const path of ['/api/products', '/api/product-images']) {
            const response = await fetch(`${app.baseURL}${path}`)
            if (response.status !== 200) failedReads.push(`${path}: ${response.status}`)
            await response.arrayBuffer()
          }
          await sleep(200)
        }
        results = await uploads
      } finally {
        s3.set({})
      }

      expect(idleInTransaction).toEqual([])
      expect(failedReads).toEqual([])
      // The samples above saw the app's connections, and were taken while S3 held writes unanswered.
      expect(appSessionsSeen).toBeGreaterThanOrEqual(3)
      expect(samplesWhileStalled).toBeGreaterThanOrEqual(3)
      for (const { body, elapsed, headers, status } of results) {
        expect(status, JSON.stringify(body)).toBe(503)
        expect(headers.get('retry-after')).toBe('10')
        expect(body.errors[0].message).toBe(STORAGE_FAILED)
        expect(JSON.stringify(body)).not.toMatch(/Abort|Timeout|node_modules|127\.0\.0\.1/)
        // Processing, then the 4 s store deadline: well within a minute.
        expect(elapsed).toBeLessThan(60_000)
      }
      expect(await rowCount('product_images')).toBe(rowsBefore)

      // S3 answers again: the same upload is stored, every object in the bucket.
      const retried = await uploadREST(app, 'product-images', {
        data: photo,
        name: 'stalled-0.jpg',
        type: 'image/jpeg',
      })
      expect(retried.status, JSON.stringify(retried.body)).toBe(201)
      // Its keys are exactly those of its files: the main image, its two variants, its square
      // shape and that shape's variant, and the kept original (AVIF versions come later, from a
      // job this app does not run).
      const doc = retried.body.doc as Parameters<typeof fileNamesOf>[0] & {
        objectKeys: string[]
        originalKey: string
      }
      expect([...doc.objectKeys].sort()).toEqual(
        [...fileNamesOf(doc).map((f) => `product-images/${f}`), doc.originalKey].sort(),
      )
      expect(doc.objectKeys).toHaveLength(6)
      for (const key of retried.body.doc.objectKeys) expect(await exists(key), key).toBe(true)

      // Nothing is left behind: every object in the bucket belongs to a document. A PUT whose
      // answer was lost may still have been applied, so what the stalled uploads wrote must stay
      // recorded for the clean-up, which removes it with no command.
      await vi.waitFor(
        async () => expect((await app.listKeys()).sort()).toEqual(await referencedKeys()),
        { interval: 500, timeout: 60_000 },
      )
    }, 240_000)
  }
})
