/**
 * Races on the real database and S3 server: two replacements of one document at once, a
 * replacement racing a delete, a re-optimization overtaken by an editor's replacement, and several
 * clean-up runners sharing the due rows. After each race, once the app's own clean-up has run, the
 * bucket holds exactly the objects the documents reference: nothing leaks, nothing referenced is
 * missing, and each replacement's document fields come from one upload.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3'
import pg from 'pg'
import {
  BUILT_IN_COLLECTIONS,
  reoptimizeDocument,
  type Runtime,
  runtimeOf,
} from 'payload-image-assets'
import { CleanupRunner, cleanupRunnerOf } from 'payload-image-assets/internal'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { startTestApp, type TestApp } from '../helpers/app'
import { gradientJPEG } from '../helpers/images'

let app: TestApp

const SLUG = 'product-images'

type Doc = {
  filename: string
  fingerprint: string
  id: number
  objectKeys: string[]
  originalKey: null | string
  width: number
}
type Reply = { body: any; status: number }

const docsOf = async (slug: string): Promise<Doc[]> =>
  (await app.payload.find({ collection: slug as 'media', depth: 0, limit: 1000, sort: 'id' }))
    .docs as unknown as Doc[]

const docById = async (slug: string, id: number | string): Promise<Doc | null> =>
  (await app.payload.findByID({
    collection: slug as 'media',
    depth: 0,
    disableErrors: true,
    id,
  })) as unknown as Doc | null

const withPreset = (runtime: Runtime, slug: string, width: number, height = width): Runtime => ({
  ...runtime,
  collections: runtime.collections.map((c) =>
    c.slug === slug ? { ...c, preset: { ...c.preset, height, width } } : c,
  ),
})

/** An image unlike every other one the file uploads (each `seed` gives other bytes). */
const photo = (seed: number) =>
  gradientJPEG(
    1300 + (seed % 7) * 10,
    1000,
    [(seed * 37) % 200, 60 + ((seed * 13) % 120), 150],
    [240, (seed * 53) % 255, 100 + ((seed * 7) % 120)],
  )

/** PATCH /api/<slug>/<id> with a new file, as the admin UI does when an editor replaces the image. */
const replaceREST = async (
  slug: string,
  id: number | string,
  data: Buffer,
  name: string,
): Promise<Reply> => {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(data)], { type: 'image/jpeg' }), name)
  const response = await fetch(`${app.baseURL}/api/${slug}/${id}`, {
    body: form,
    headers: { Authorization: `JWT ${app.token}` },
    method: 'PATCH',
  })
  return { body: await response.json().catch(() => null), status: response.status }
}

const deleteREST = async (slug: string, id: number | string): Promise<Reply> => {
  const response = await fetch(`${app.baseURL}/api/${slug}/${id}`, {
    headers: { Authorization: `JWT ${app.token}` },
    method: 'DELETE',
  })
  return { body: await response.json().catch(() => null), status: response.status }
}

const createDoc = async (slug: string, seed: number): Promise<Doc> => {
  const data = await photo(seed)
  return (await app.payload.create({
    collection: slug as 'media',
    data: {},
    file: { data, mimetype: 'image/jpeg', name: `start-${seed}.jpg`, size: data.length },
  })) as unknown as Doc
}

const bucketKeysOf = async (slug: string) =>
  [...(await app.listKeys(`${slug}/`)), ...(await app.listKeys(`originals/${slug}/`))].sort()

/** Clean-up rows not finished yet (uploads in progress, transitions still to be deleted). */
const pendingCleanup = () =>
  app.sql<{ id: number; keys: string[]; reason: string }>(
    'select id, reason, keys from image_asset_cleanup where done_at is null order by id',
  )

/**
 * Once the app's own clean-up has run (no command), the bucket holds exactly the objects the
 * collection's documents reference, and no clean-up row is left pending.
 */
const expectBucketMatchesDocuments = async (slug: string) => {
  await vi.waitFor(
    async () => {
      const referenced = (await docsOf(slug)).flatMap((d) => d.objectKeys).sort()
      expect(new Set(referenced).size).toBe(referenced.length)
      expect(await bucketKeysOf(slug)).toEqual(referenced)
      expect(await pendingCleanup()).toEqual([])
    },
    { interval: 250, timeout: 60_000 },
  )
}

/** The document's image fields all come from the one reply whose file it has (no mix of two uploads). */
const expectDocumentFrom = (doc: Doc, reply: Reply) => {
  expect(doc.filename).toBe(reply.body.doc.filename)
  expect([...doc.objectKeys].sort()).toEqual([...reply.body.doc.objectKeys].sort())
  expect(doc.originalKey).toBe(reply.body.doc.originalKey)
}

const CONFLICT = /changed by another request while yours was being processed/

/** Polls `done` until it answers true (at most `timeoutMs`). */
const until = async (done: () => Promise<boolean>, what: string, timeoutMs = 120_000) => {
  const end = Date.now() + timeoutMs
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * A transaction on a connection of the test's own holding a document row locked: the app's
 * transactions that write that row wait for it, so that several of them can be brought to the
 * same point before `release()`.
 */
const lockRow = async (table: string, id: number | string) => {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URI })
  await client.connect()
  await client.query('begin')
  await client.query(`select id from ${table} where id = $1 for update`, [id])
  return {
    /** Waits until `n` of the app's statements are waiting for a lock in this database. */
    waiters: (n: number) =>
      vi.waitFor(
        async () => {
          const { rows } = await client.query(
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()",
          )
          expect(rows[0].n).toBe(n)
        },
        { interval: 50, timeout: 120_000 },
      ),
    release: async () => {
      await client.query('rollback').catch(() => undefined)
      await client.end().catch(() => undefined)
    },
  }
}

/**
 * Collects every error with SQLSTATE `code` that PostgreSQL answers on any connection of this
 * process (the app's pool included: it uses the same `pg` module), until the returned function
 * is called. The queries themselves go on unchanged.
 */
const watchDriverErrors = (code: string, into: unknown[]) => {
  const query = pg.Client.prototype.query
  const note = (error: unknown) => {
    if ((error as { code?: unknown } | null)?.code === code) into.push(error)
  }
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const callback = args.at(-1)
    if (typeof callback === 'function')
      args[args.length - 1] = (error: unknown, result: unknown) => {
        note(error)
        return (callback as (e: unknown, r: unknown) => unknown)(error, result)
      }
    const result = (query as (...a: unknown[]) => unknown).apply(this, args)
    if (result instanceof Promise) result.catch(note)
    return result
  } as typeof query
  return () => {
    pg.Client.prototype.query = query
  }
}

const transitionsOf = async (id: number | string) =>
  (
    await app.sql<{ reason: string; transition: string }>(
      'select reason, transition from image_asset_cleanup where document = $1 order by id',
      [String(id)],
    )
  ).map((r) => `${r.reason} ${r.transition}`)

beforeAll(async () => {
  app = await startTestApp()
}, 120_000)

afterAll(async () => {
  await app?.stop()
})

describe('two replacements of the same document at once', () => {
  it('both are answered (200, or 409 with a clear message), the last writer wins with one upload’s fields, and nothing leaks', async () => {
    const doc = await createDoc(SLUG, 0)
    const tally = { conflict: 0, ok: 0 }
    for (let round = 1; round <= 8; round++) {
      const [a, b] = await Promise.all([photo(round * 2), photo(round * 2 + 1)])
      const replies = await Promise.all([
        replaceREST(SLUG, doc.id, a, `round-${round}-a.jpg`),
        replaceREST(SLUG, doc.id, b, `round-${round}-b.jpg`),
      ])
      for (const reply of replies) {
        expect([200, 409], JSON.stringify(reply.body)).toContain(reply.status)
        if (reply.status === 409) {
          tally.conflict++
          expect(reply.body.errors[0].message).toMatch(CONFLICT)
        } else {
          tally.ok++
        }
      }
      const saved = replies.filter((r) => r.status === 200)
      expect(saved.length).toBeGreaterThan(0)
      // The two uploads made distinct objects.
      if (saved.length === 2)
        expect(saved[0].body.doc.filename).not.toBe(saved[1].body.doc.filename)
      const current = (await docById(SLUG, doc.id))!
      const winner = saved.find((r) => r.body.doc.filename === current.filename)
      expect(
        winner,
        `round ${round}: the document has ${current.filename}, none of the saved uploads' files`,
      ).toBeDefined()
      expectDocumentFrom(current, winner!)
    }
    console.info(
      `two replacements at once, 8 rounds: ${tally.ok} saved, ${tally.conflict} refused with 409`,
    )
    await expectBucketMatchesDocuments(SLUG)
  }, 600_000)

  it('when both reach their record step together (held there by a row lock), the one that loses the unique transition retries from the winner’s state and also succeeds', async () => {
    const doc = await createDoc(SLUG, 40)
    // The first record step to get past its unique transition waits at its UPDATE; the second
    // waits at the same transition, which the first has not committed.
    const lock = await lockRow('product_images', doc.id)
    let replies: Reply[]
    try {
      const [a, b] = await Promise.all([photo(41), photo(42)])
      const pending = Promise.all([
        replaceREST(SLUG, doc.id, a, 'held-a.jpg'),
        replaceREST(SLUG, doc.id, b, 'held-b.jpg'),
      ])
      await lock.waiters(2)
      await lock.release()
      replies = await pending
    } finally {
      await lock.release()
    }
    expect(
      replies.map((r) => r.status),
      JSON.stringify(replies.map((r) => r.body)),
    ).toEqual([200, 200])
    expect(replies[0].body.doc.filename).not.toBe(replies[1].body.doc.filename)
    const current = (await docById(SLUG, doc.id))!
    const winner = replies.find((r) => r.body.doc.filename === current.filename)
    expect(winner).toBeDefined()
    expectDocumentFrom(current, winner!)
    // One transition from the starting file, then one from the first writer's file to the last one's.
    const first = replies.find((r) => r !== winner)!
    expect(await transitionsOf(doc.id)).toEqual([
      `replaced ${SLUG}:${doc.id}:${doc.filename}`,
      `replaced ${SLUG}:${doc.id}:${first.body.doc.filename}`,
    ])
    await expectBucketMatchesDocuments(SLUG)
  }, 300_000)
})

describe('a replacement racing a delete', () => {
  type When = 'at once' | 'while it stores' | 'as it records'
  /**
   * Sends the DELETE at once, or once the replacement's upload is recorded for clean-up (it is
   * storing its objects), or once every one of its objects is stored (it is at its record step).
   */
  const deleteWhen = async (when: When, id: number): Promise<Reply> => {
    if (when !== 'at once') {
      let seen = false
      await until(async () => {
        const rows = await app.sql<{ keys: string[] }>(
          "select keys from image_asset_cleanup where reason = 'upload' and collection = $1 and done_at is null",
          [SLUG],
        )
        if (rows.length === 0) return seen // recorded already: the DELETE comes right after
        seen = true
        if (when === 'while it stores') return true
        const stored = new Set(await bucketKeysOf(SLUG))
        return rows[0].keys.every((k) => stored.has(k))
      }, `the replacement to reach "${when}"`)
    }
    return deleteREST(SLUG, id)
  }

  it('whichever commits first, the outcome is whole: a deleted document leaves no object, a kept one has all of its objects', async () => {
    const tally: Record<string, number> = {}
    const moments: When[] = ['at once', 'while it stores', 'as it records']
    for (let round = 1; round <= 9; round++) {
      const when = moments[round % 3]
      const doc = await createDoc(SLUG, 100 + round)
      const replacement = await photo(200 + round)
      const [patched, deleted] = await Promise.all([
        replaceREST(SLUG, doc.id, replacement, `replace-${round}.jpg`),
        deleteWhen(when, doc.id),
      ])
      const key = `${when}: PATCH ${patched.status} / DELETE ${deleted.status}`
      tally[key] = (tally[key] ?? 0) + 1
      expect([200, 404, 409], JSON.stringify(patched.body)).toContain(patched.status)
      expect([200, 409], JSON.stringify(deleted.body)).toContain(deleted.status)
      if (patched.status === 409) expect(patched.body.errors[0].message).toMatch(CONFLICT)
      const current = await docById(SLUG, doc.id)
      if (deleted.status === 200) {
        expect(current).toBeNull()
        // The delete answers with the document as it read it (before or after the replacement).
        expect([doc.filename, patched.body?.doc?.filename]).toContain(deleted.body.doc.filename)
      } else {
        expect(current).not.toBeNull()
        if (patched.status === 200) expectDocumentFrom(current!, patched)
      }
      // Either way the document's objects are gone or all there, after the app's clean-up.
      await expectBucketMatchesDocuments(SLUG)
      if (current === null) {
        const stored = new Set(await bucketKeysOf(SLUG))
        const ofThisDocument = [
          ...doc.objectKeys,
          ...(patched.status === 200 ? patched.body.doc.objectKeys : []),
        ]
        expect(ofThisDocument.filter((k: string) => stored.has(k))).toEqual([])
      }
    }
    console.info(`replacement vs delete, 9 rounds: ${JSON.stringify(tally)}`)
  }, 900_000)

  it('a delete that read the document before a replacement committed deletes the replacement, and records its objects (held by a row lock)', async () => {
    const doc = await createDoc(SLUG, 150)
    const lock = await lockRow('product_images', doc.id)
    let patched: Reply
    let deleted: Reply
    try {
      // The replacement records its transition and waits at its UPDATE; the delete reads the
      // document as it was and waits at its DELETE, behind the replacement.
      const patching = replaceREST(SLUG, doc.id, await photo(151), 'replace-held.jpg')
      await lock.waiters(1)
      const deleting = deleteREST(SLUG, doc.id)
      await lock.waiters(2)
      await lock.release()
      ;[patched, deleted] = await Promise.all([patching, deleting])
    } finally {
      await lock.release()
    }
    expect([patched.status, deleted.status], JSON.stringify([patched.body, deleted.body])).toEqual([
      200, 200,
    ])
    expect(await docById(SLUG, doc.id)).toBeNull()
    // It recorded the file it found under the row's lock (the replacement's), not the one it read
    // before: a bulk delete's shared transaction would otherwise be aborted by the unique key.
    expect(await transitionsOf(doc.id)).toEqual([
      `replaced ${SLUG}:${doc.id}:${doc.filename}`,
      `deleted ${SLUG}:${doc.id}:${patched.body.doc.filename}`,
    ])
    await expectBucketMatchesDocuments(SLUG)
    const stored = new Set(await bucketKeysOf(SLUG))
    expect(
      [...doc.objectKeys, ...patched.body.doc.objectKeys].filter((k: string) => stored.has(k)),
    ).toEqual([])
  }, 300_000)

  it('a delete and a replacement meeting at their record steps cannot deadlock (the replacement locks the row before anything else): one is retried, and the outcome is whole (held by a row lock)', async () => {
    const doc = await createDoc(SLUG, 160)
    // Every deadlock PostgreSQL breaks is an error (40P01) on one of the app's connections, retried
    // or not: the app runs in this process, so its driver's answers are seen here as they come
    // (pg_stat_database counts them too, but only once the backend flushes its statistics).
    const deadlocks: unknown[] = []
    const restoreDriver = watchDriverErrors('40P01', deadlocks)
    const lock = await lockRow('product_images', doc.id)
    let patched: Reply
    let deleted: Reply
    try {
      // The delete waits at its DELETE first; the replacement waits at its compare-and-set on the
      // same row (before it records its transition, so it holds nothing the delete needs).
      // Released, the delete goes first and the replacement finds the row gone.
      const deleting = deleteREST(SLUG, doc.id)
      await lock.waiters(1)
      const patching = replaceREST(SLUG, doc.id, await photo(161), 'replace-deadlock.jpg')
      await lock.waiters(2)
      await lock.release()
      ;[patched, deleted] = await Promise.all([patching, deleting])
    } finally {
      await lock.release()
      restoreDriver()
    }
    console.info(`deadlock: PATCH ${patched.status} / DELETE ${deleted.status}`)
    // No deadlock had to be broken, and both requests were answered cleanly.
    expect(deadlocks).toEqual([])
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200)
    expect([200, 404], JSON.stringify(patched.body)).toContain(patched.status)
    expect(await docById(SLUG, doc.id)).toBeNull()
    const last = patched.status === 200 ? patched.body.doc.filename : doc.filename
    expect(deleted.body.doc.filename).toBe(last)
    expect((await transitionsOf(doc.id)).at(-1)).toBe(`deleted ${SLUG}:${doc.id}:${last}`)
    await expectBucketMatchesDocuments(SLUG)
    const stored = new Set(await bucketKeysOf(SLUG))
    expect(
      [...doc.objectKeys, ...(patched.status === 200 ? patched.body.doc.objectKeys : [])].filter(
        (k: string) => stored.has(k),
      ),
    ).toEqual([])
  }, 300_000)

  it('a GraphQL delete behind a replacement (held by a row lock) deletes the replaced document, and leaks nothing', async () => {
    const doc = await createDoc(SLUG, 170)
    const lock = await lockRow('product_images', doc.id)
    let patched: Reply
    let graphql: {
      data?: any
      errors?: Array<{ message: string; extensions?: { statusCode?: number } }>
    }
    try {
      const patching = replaceREST(SLUG, doc.id, await photo(171), 'replace-before-graphql.jpg')
      await lock.waiters(1)
      // Payload's own delete operation (not the plugin's REST endpoint, which retries).
      const deleting = fetch(`${app.baseURL}/api/graphql`, {
        body: JSON.stringify({
          query: `mutation { deleteProductImage(id: ${doc.id}) { id filename } }`,
        }),
        headers: { Authorization: `JWT ${app.token}`, 'Content-Type': 'application/json' },
        method: 'POST',
      }).then((r) => r.json())
      await lock.waiters(2)
      await lock.release()
      ;[patched, graphql] = await Promise.all([patching, deleting])
    } finally {
      await lock.release()
    }
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    // Payload's own delete operation, with no retry: it read the file before the replacement, and
    // deletes what is there under the lock, recording the replacement's file and objects.
    expect(graphql.errors).toBeUndefined()
    expect(graphql.data?.deleteProductImage?.id).toBe(doc.id)
    expect(await docById(SLUG, doc.id)).toBeNull()
    expect(await transitionsOf(doc.id)).toEqual([
      `replaced ${SLUG}:${doc.id}:${doc.filename}`,
      `deleted ${SLUG}:${doc.id}:${patched.body.doc.filename}`,
    ])
    await expectBucketMatchesDocuments(SLUG)
    const stored = new Set(await bucketKeysOf(SLUG))
    expect(
      [...doc.objectKeys, ...patched.body.doc.objectKeys].filter((k: string) => stored.has(k)),
    ).toEqual([])
  }, 300_000)
})

describe('a bulk delete racing a replacement', () => {
  it('deletes every document it lists, the replaced one with its new file (held by a row lock): none is rolled back behind its answer', async () => {
    const [first, second] = [await createDoc(SLUG, 180), await createDoc(SLUG, 181)]
    const lock = await lockRow('product_images', first.id)
    let patched: Reply
    let bulk: { body: any; status: number }
    try {
      const patching = replaceREST(SLUG, first.id, await photo(182), 'replace-before-bulk.jpg')
      await lock.waiters(1)
      // Payload's own bulk delete: one transaction for every document it found.
      const deleting = fetch(`${app.baseURL}/api/${SLUG}?where[id][in]=${first.id},${second.id}`, {
        headers: { Authorization: `JWT ${app.token}` },
        method: 'DELETE',
      }).then(async (r) => ({ body: await r.json(), status: r.status }))
      await lock.waiters(2)
      await lock.release()
      ;[patched, bulk] = await Promise.all([patching, deleting])
    } finally {
      await lock.release()
    }
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    expect(bulk.status, JSON.stringify(bulk.body)).toBe(200)
    expect(bulk.body.errors).toEqual([])
    expect(bulk.body.docs.map((d: { id: number }) => d.id).sort()).toEqual(
      [first.id, second.id].sort(),
    )
    // What it answered is what was committed.
    expect(await docById(SLUG, first.id)).toBeNull()
    expect(await docById(SLUG, second.id)).toBeNull()
    await expectBucketMatchesDocuments(SLUG)
    const stored = new Set(await bucketKeysOf(SLUG))
    expect(
      [...first.objectKeys, ...second.objectKeys, ...patched.body.doc.objectKeys].filter(
        (k: string) => stored.has(k),
      ),
    ).toEqual([])
  }, 300_000)
})

describe('re-optimization overtaken by an editor', () => {
  it('an editor replacing the file while it is re-processed wins: superseded, the editor’s image stays, the re-optimized set is cleaned up', async () => {
    const doc = await createDoc(SLUG, 300)
    const live = runtimeOf(app.payload)
    const stale = withPreset(live, SLUG, 800)
    let editor: Reply | undefined
    const editorReplacement = async () => {
      editor = await replaceREST(SLUG, doc.id, await photo(301), 'editor.jpg')
      expect(editor.status, JSON.stringify(editor.body)).toBe(200)
    }
    // The re-optimized objects, as written to the real store.
    const written: string[] = []
    const store = Object.create(stale.store) as Runtime['store']
    store.putAll = async (...args: Parameters<Runtime['store']['putAll']>) => {
      written.push(...args[0].map((o) => o.key))
      return stale.store.putAll(...args)
    }
    // The editor's replacement lands after the re-optimization read the document, before it records.
    const racing = {
      ...stale,
      limiter: {
        run: async (task: () => Promise<unknown>) => {
          await editorReplacement()
          return live.limiter.run(task)
        },
      },
      store,
    } as unknown as Runtime

    const result = await reoptimizeDocument(app.payload, racing, SLUG, doc.id)
    expect(result).toEqual({ status: 'superseded' })
    expect(editor?.status).toBe(200)

    const current = (await docById(SLUG, doc.id))!
    expectDocumentFrom(current, editor!)
    expect(current.width).toBe(1024)
    // What was re-processed: the main image (800 wide) and its variants below 800, and the square
    // shape with its 300 px variant (the reference app's), as WebP (AVIF versions are a later
    // job's); the original is kept, not rewritten.
    const widths = BUILT_IN_COLLECTIONS[SLUG].variantWidths.filter((w) => w < 800).length + 1 + 2
    expect(written.filter((k) => k.endsWith('.webp'))).toHaveLength(widths)
    expect(written).toHaveLength(widths)
    expect(written.every((k) => k.startsWith(`${SLUG}/`))).toBe(true)
    expect(written.filter((k) => current.objectKeys.includes(k))).toEqual([])
    await expectBucketMatchesDocuments(SLUG)
    const stored = new Set(await bucketKeysOf(SLUG))
    expect([...written, ...doc.objectKeys].filter((k) => stored.has(k))).toEqual([])
    // The claim was released: the editor's image (made with other settings than `stale`) is re-optimized by a rerun.
    const rerun = await reoptimizeDocument(app.payload, stale, SLUG, doc.id)
    expect(rerun.status).toBe('reoptimized')
    const after = (await docById(SLUG, doc.id))!
    expect(after.width).toBe(800)
    expect(after.originalKey).toBe(editor!.body.doc.originalKey)
    await expectBucketMatchesDocuments(SLUG)
  }, 300_000)

  it('a document deleted while it is re-processed: the re-optimized set is cleaned up and the claim released', async () => {
    const doc = await createDoc(SLUG, 310)
    const live = runtimeOf(app.payload)
    const stale = withPreset(live, SLUG, 700)
    let deleted: Reply | undefined
    const racing = {
      ...stale,
      limiter: {
        run: async (task: () => Promise<unknown>) => {
          deleted = await deleteREST(SLUG, doc.id)
          return live.limiter.run(task)
        },
      },
    } as unknown as Runtime
    // The document is gone by the time the re-optimized set would be recorded: nothing to do.
    const outcome = await reoptimizeDocument(app.payload, racing, SLUG, doc.id).then(
      (result) => result,
      (error: { name?: string; status?: number }) => ({
        thrown: error?.name,
        status: error?.status,
      }),
    )
    console.info(`re-optimization of a deleted document: ${JSON.stringify(outcome)}`)
    expect(deleted?.status, JSON.stringify(deleted?.body)).toBe(200)
    expect(outcome).toEqual({ status: 'gone' })
    expect(await docById(SLUG, doc.id)).toBeNull()
    expect(
      await app.sql(
        "select id from image_asset_reoptimizations where document = $1 and status = 'running'",
        [String(doc.id)],
      ),
    ).toEqual([])
    await expectBucketMatchesDocuments(SLUG)
    const stored = new Set(await bucketKeysOf(SLUG))
    expect(doc.objectKeys.filter((k) => stored.has(k))).toEqual([])
  }, 300_000)
})

describe('several clean-up runners', () => {
  const planted: string[] = []
  let serial = 0

  /** Objects no document references, each recorded for deletion now (as a transition would be). */
  const plant = async (count: number) => {
    const rows: Array<{ id: number; key: string }> = []
    for (let i = 0; i < count; i++) {
      const n = serial++
      const key = `media/${n.toString(16).padStart(16, '0')}-${'ab12cd34'}.webp`
      await app.s3.send(
        new PutObjectCommand({ Body: Buffer.from(`stray ${n}`), Bucket: app.bucket, Key: key }),
      )
      const row = await app.payload.db.create({
        collection: 'image-asset-cleanup',
        data: {
          attempts: 0,
          collection: 'media',
          due: new Date(Date.now() - 60_000).toISOString(),
          keys: [key],
          reason: 'deleted',
          transition: `races:planted:${n}`,
        },
      })
      planted.push(key)
      rows.push({ id: row.id as number, key })
    }
    return rows
  }

  beforeAll(async () => {
    // The app's own runner is stopped so that only the runners below take these rows.
    const own = cleanupRunnerOf(app.payload)
    expect(own).toBeDefined()
    own!.stop()
    await (own as unknown as { running?: Promise<unknown> }).running
    expect(await pendingCleanup()).toEqual([])
  })

  afterAll(() => {
    // ...and started again for the rest of the file, whatever order its tests run in. The runner
    // has no public restart: undo stop() (its `stopped` flag and cleared timer), then start().
    const own = cleanupRunnerOf(app.payload) as unknown as {
      start: () => void
      stopped: boolean
      timer: NodeJS.Timeout | undefined
    }
    own.stopped = false
    own.timer = undefined
    own.start()
  })

  it('three runners at once delete 40 due rows’ objects exactly once between them', async () => {
    const rows = await plant(40)
    expect((await app.listKeys('media/')).length).toBe(40)
    const { store } = runtimeOf(app.payload)
    const results = await Promise.all(
      [0, 1, 2].map(() => new CleanupRunner(app.payload, store, 0).runOnce()),
    )
    console.info(`three runners: ${JSON.stringify(results)}`)
    expect(results.reduce((sum, r) => sum + r.deleted, 0)).toBe(40)
    expect(results.reduce((sum, r) => sum + r.rows, 0)).toBe(40)
    expect(results.reduce((sum, r) => sum + r.failed, 0)).toBe(0)
    expect(await app.listKeys('media/')).toEqual([])
    const settled = await app.sql<{ attempts: number; done_at: Date | null }>(
      'select attempts::int as attempts, done_at from image_asset_cleanup where id = any($1::int[])',
      [rows.map((r) => r.id)],
    )
    expect(settled).toHaveLength(40)
    expect(settled.every((r) => r.done_at !== null && r.attempts === 1)).toBe(true)
  }, 180_000)

  it('a row held by another process is skipped, not waited for: the runner settles the rest, and the held one later', async () => {
    const rows = await plant(10)
    const held = rows[3]
    const { store } = runtimeOf(app.payload)
    // Another process's transaction holds one row (as a runner elsewhere does while it claims).
    const lock = await lockRow('image_asset_cleanup', held.id)
    try {
      const pass = new CleanupRunner(app.payload, store, 0).runOnce()
      const outcome = await Promise.race([
        pass,
        new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 60_000).unref()),
      ])
      expect(outcome).toEqual({ deleted: 9, failed: 0, rows: 9 })
      expect(await app.listKeys('media/')).toEqual([held.key])
      const [row] = await app.sql<{
        attempts: number
        done_at: Date | null
        lease_until: Date | null
      }>(
        'select attempts::int as attempts, done_at, lease_until from image_asset_cleanup where id = $1',
        [held.id],
      )
      expect(row).toEqual({ attempts: 0, done_at: null, lease_until: null })
    } finally {
      await lock.release()
    }
    expect(await new CleanupRunner(app.payload, store, 0).runOnce()).toEqual({
      deleted: 1,
      failed: 0,
      rows: 1,
    })
    expect(await app.listKeys('media/')).toEqual([])
    expect(await pendingCleanup()).toEqual([])
  }, 180_000)
})
