/**
 * Two app processes on one database and bucket: each runs its own clean-up runner
 * (IMAGE_CLEANUP_INTERVAL_SECONDS=1) over the same `image_asset_cleanup` rows. Every recorded object
 * is deleted exactly once between them, both take part, and neither waits on the other nor on a
 * row another transaction holds (the claim is `FOR UPDATE SKIP LOCKED` with a lease, see
 * storage/cleanup.ts).
 *
 * The in-process app (startTestApp) only sets up the database and bucket and reads them; its own
 * clean-up is off (IMAGE_CLEANUP_INTERVAL_SECONDS=0). Each child reaches S3 through a proxy of its
 * own (test/helpers/faultyProxy.ts) that counts the DELETEs it forwards, per object key, and holds
 * each DELETE 300 ms so that the work lasts long enough for both runners to be at it together.
 */
import type { ChildProcess } from 'node:child_process'

import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'

import { startTestApp, type TestApp } from '../helpers/app'
import { type ChildApp, startChildApp, tail, killAll } from '../helpers/childApp'
import { type SeenRequest, startFaultyS3 } from '../helpers/faultyProxy'

/** Planted objects, one clean-up row each; the first one's row is held locked by the test. */
const OBJECTS = 60
/** Each DELETE is held this long by the proxy: one runner alone would need 60 x 0.3 s = 18 s. */
const DELETE_DELAY_MS = 300
/** The held row is leased (unclaimable) this long after it is planted; the test locks it meanwhile. */
const HELD_LEASE_MS = 3_000
/** Rows planted once the others are done, to see both runners' passes while the held row is locked. */
const PROBES = 10

type Proxy = Awaited<ReturnType<typeof startFaultyS3>>
type AppProcess = ChildApp & { proxy: Proxy }
type CleanupRow = {
  attempts: number
  done_at: Date | null
  id: number
  keys: string[]
  last_error: null | string
  lease_until: Date | null
}

let app: TestApp
const alive = new Set<ChildProcess>()
const proxies: Proxy[] = []
const children: AppProcess[] = []
let lockClient: pg.Client | undefined

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const logs = () => children.map((c) => `--- ${c.name} ---\n${tail(c.log)}`).join('\n')

/** Starts the reference app in a child process on the test's database and bucket, reaching S3 through `proxy`; resolves once it serves. */
const startAppProcess = async (name: string, proxy: Proxy): Promise<AppProcess> => {
  const app = await startChildApp(
    name,
    { IMAGE_CLEANUP_INTERVAL_SECONDS: '1', S3_ENDPOINT: proxy.url },
    alive,
  )
  expect(new URL(app.baseURL).hostname).toBe('127.0.0.1')
  return { ...app, proxy }
}

const rowsOf = async (ids: number[]) =>
  app.sql<CleanupRow>(
    'select id, attempts::int as attempts, done_at, lease_until, last_error, keys from image_asset_cleanup where id = any($1::int[]) order by id',
    [ids],
  )

const exists = async (key: string) =>
  app.s3.send(new HeadObjectCommand({ Bucket: app.bucket, Key: key })).then(
    () => true,
    () => false,
  )

const deletesOf = (proxy: Proxy, keys: Set<string>): SeenRequest[] =>
  proxy.seen().filter((r) => r.method === 'DELETE' && keys.has(r.key))

beforeAll(async () => {
  app = await startTestApp({ IMAGE_CLEANUP_INTERVAL_SECONDS: '0' })
  for (let i = 0; i < 2; i++) {
    const proxy = await startFaultyS3(inject('s3Endpoint'))
    proxy.set({ delayDeletesMs: DELETE_DELAY_MS })
    proxies.push(proxy)
  }
  // Both boot at once; the rows are planted only once both serve (and run their clean-up).
  children.push(
    ...(await Promise.all(proxies.map((proxy, i) => startAppProcess(`app-${'AB'[i]}`, proxy)))),
  )
}, 240_000)

afterAll(async () => {
  await killAll(alive)
  if (lockClient) {
    await lockClient.query('rollback').catch(() => undefined)
    await lockClient.end().catch(() => undefined)
  }
  for (const proxy of proxies) await proxy.stop()
  await app?.stop()
}, 120_000)

describe('two app processes on one database and bucket', () => {
  it('delete each recorded object exactly once between them, both take part, and neither waits on a row another transaction holds', async () => {
    expect(children).toHaveLength(2)
    const stamp = Date.now().toString(36)
    const keys = Array.from(
      { length: OBJECTS },
      (_, n) => `media/two-apps-${stamp}-${String(n).padStart(2, '0')}.webp`,
    )
    const keySet = new Set(keys)
    const probeKeys = Array.from(
      { length: PROBES },
      (_, n) => `media/two-apps-${stamp}-probe-${String(n).padStart(2, '0')}.webp`,
    )
    // The objects go straight to S3 (not through the proxies), so the proxies see only the clean-up.
    for (const key of keys) {
      await app.s3.send(
        new PutObjectCommand({
          Body: Buffer.from(`object ${key}`),
          Bucket: app.bucket,
          ContentType: 'image/webp',
          Key: key,
        }),
      )
    }
    expect((await app.listKeys('media/')).sort()).toEqual([...keys].sort())
    for (const proxy of proxies) expect(deletesOf(proxy, keySet)).toEqual([])

    // The held row: due before every other one (each claim scans it first), but leased for a few
    // seconds so that no runner claims it before the test's own transaction locks it.
    const heldKey = keys[0]
    const started = Date.now()
    const leaseEnds = Date.now() + HELD_LEASE_MS
    const held = await app.payload.db.create({
      collection: 'image-asset-cleanup',
      data: {
        attempts: 0,
        collection: 'media',
        due: new Date(Date.now() - 10 * 60_000).toISOString(),
        keys: [heldKey],
        leaseUntil: new Date(leaseEnds).toISOString(),
        reason: 'deleted',
        transition: `two-apps:${stamp}:0`,
      },
    })
    const heldId = held.id as number
    lockClient = new pg.Client({ connectionString: process.env.DATABASE_URI })
    await lockClient.connect()
    await lockClient.query('begin')
    const locked = await lockClient.query(
      'select id from image_asset_cleanup where id = $1 for update',
      [heldId],
    )
    expect(locked.rows).toEqual([{ id: heldId }])
    expect(Date.now(), 'the held row is locked before its lease ends').toBeLessThan(leaseEnds - 500)

    // From now on until the lock ends, no session of this database ever waits for a lock (a claim
    // that waited on the held row would show up here as wait_event_type 'Lock').
    let sampling = true
    let samples = 0
    const waiting: unknown[] = []
    const sampler = (async () => {
      while (sampling) {
        const rows = await app.sql(
          "select pid, application_name, state, wait_event_type, wait_event, left(query, 200) as query from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        )
        samples++
        waiting.push(...rows)
        await sleep(50)
      }
    })()

    const ids: number[] = [heldId]
    let plantedAt: number
    try {
      // The other rows, due at once (in the past), as a delete's transaction records them.
      for (let n = 1; n < OBJECTS; n++) {
        const row = await app.payload.db.create({
          collection: 'image-asset-cleanup',
          data: {
            attempts: 0,
            collection: 'media',
            due: new Date(Date.now() - 60_000 + n).toISOString(),
            keys: [keys[n]],
            reason: 'deleted',
            transition: `two-apps:${stamp}:${n}`,
          },
        })
        ids.push(row.id as number)
      }
      plantedAt = Date.now()
      const others = ids.slice(1)
      const otherKeys = new Set(keys.slice(1))

      // Every other row is settled and its object gone, while the held row stays locked.
      await vi.waitFor(
        async () => {
          const rows = await rowsOf(others)
          const open = rows.filter((r) => r.done_at === null)
          expect(
            open.length,
            `rows not done yet (${open.length}): ${JSON.stringify(open.slice(0, 5))}`,
          ).toBe(0)
        },
        { interval: 250, timeout: 60_000 },
      )
      const othersDoneAt = Date.now()
      const left = await app.listKeys('media/')
      expect(left, 'every object but the held row’s is deleted').toEqual([heldKey])

      // Both runners kept claiming rows after the held row became claimable (and was skipped): each
      // child's proxy forwarded DELETEs after the held row's lease ended.
      for (const child of children) {
        const after = deletesOf(child.proxy, otherKeys).filter((r) => r.at > leaseEnds + 200)
        expect(
          after.length,
          `${child.name} deleted objects while the held row was due and locked\n${logs()}`,
        ).toBeGreaterThan(0)
      }
      // Both were at it at the same time: their DELETEs interleave.
      const [a, b] = children.map((child) => deletesOf(child.proxy, otherKeys).map((r) => r.at))
      expect(Math.min(...a), 'app-A started before app-B finished').toBeLessThan(Math.max(...b))
      expect(Math.min(...b), 'app-B started before app-A finished').toBeLessThan(Math.max(...a))

      // More passes of both runners with the lock held: a batch of probe rows, due now (after the
      // held row, which each claim scans first), settled by both apps. The held row is skipped
      // every time, never claimed, never waited on.
      for (const [n, key] of probeKeys.entries()) {
        await app.s3.send(
          new PutObjectCommand({
            Body: Buffer.from(`object ${key}`),
            Bucket: app.bucket,
            ContentType: 'image/webp',
            Key: key,
          }),
        )
        const row = await app.payload.db.create({
          collection: 'image-asset-cleanup',
          data: {
            attempts: 0,
            collection: 'media',
            due: new Date(Date.now() - 1_000).toISOString(),
            keys: [key],
            reason: 'deleted',
            transition: `two-apps:${stamp}:probe-${n}`,
          },
        })
        ids.push(row.id as number)
      }
      await vi.waitFor(
        async () => {
          const open = (await rowsOf(ids.slice(OBJECTS))).filter((r) => r.done_at === null)
          expect(open.length, `probe rows not done yet: ${JSON.stringify(open)}`).toBe(0)
        },
        { interval: 250, timeout: 60_000 },
      )
      const probeSet = new Set(probeKeys)
      for (const child of children)
        expect(
          deletesOf(child.proxy, probeSet).length,
          `${child.name} settled probe rows while the held row was locked\n${logs()}`,
        ).toBeGreaterThan(0)
      const [heldRow] = await rowsOf([heldId])
      expect(heldRow.done_at).toBeNull()
      expect(heldRow.attempts, 'the held row was never claimed').toBe(0)
      expect(await exists(heldKey)).toBe(true)
      for (const proxy of proxies) expect(proxy.counts()[heldKey]).toBeUndefined()
      console.info(
        `two apps: the ${OBJECTS - 1} other rows were planted ${plantedAt - started} ms after the held one and settled ${othersDoneAt - plantedAt} ms later (the held row's lease ended ${HELD_LEASE_MS} ms after it was planted); ` +
          `DELETEs per app while the row was held: ${children.map((c) => `${c.name} ${deletesOf(c.proxy, otherKeys).length}`).join(', ')}`,
      )
    } finally {
      sampling = false
      await sampler
    }
    expect(samples).toBeGreaterThan(20)
    expect(waiting, 'no session waited for a lock while the row was held').toEqual([])

    // The lock ends (the other transaction rolls back): the held row is settled by one of the apps.
    const releasedAt = Date.now()
    await lockClient.query('rollback')
    await lockClient.end()
    lockClient = undefined
    await vi.waitFor(
      async () => {
        const [row] = await rowsOf([heldId])
        expect(row.done_at).not.toBeNull()
      },
      { interval: 100, timeout: 20_000 },
    )
    console.info(
      `two apps: the held row was settled ${Date.now() - releasedAt} ms after its lock ended`,
    )

    // The end state: nothing left under media/, every row done once, every key DELETEd exactly once
    // (summed over both apps), and no DELETE of any other key.
    expect(await app.listKeys('media/')).toEqual([])
    const rows = await rowsOf(ids)
    expect(rows).toHaveLength(OBJECTS + PROBES)
    for (const row of rows) {
      expect(row.done_at, `row ${row.id}`).not.toBeNull()
      expect(row.attempts, `row ${row.id} claimed once`).toBe(1)
      expect(row.last_error, `row ${row.id}`).toBeNull()
      expect(row.lease_until, `row ${row.id}`).toBeNull()
    }
    const total: Record<string, number> = {}
    for (const proxy of proxies)
      for (const [key, n] of Object.entries(proxy.counts())) total[key] = (total[key] ?? 0) + n
    expect(total).toEqual(Object.fromEntries([...keys, ...probeKeys].map((key) => [key, 1])))
    const perApp = children.map((c) =>
      Object.values(c.proxy.counts()).reduce((sum, n) => sum + n, 0),
    )
    console.info(
      `two apps: DELETEs per app ${children.map((c, i) => `${c.name} ${perApp[i]}`).join(', ')}`,
    )
    for (const [i, n] of perApp.entries())
      expect(n, `${children[i].name} took part`).toBeGreaterThan(0)
    expect(perApp.reduce((sum, n) => sum + n, 0)).toBe(OBJECTS + PROBES)

    // Both apps are still alive and answering, and neither logged a failed pass or delete.
    for (const child of children) {
      expect(
        child.log.filter((line) => /clean-up pass failed|could not be deleted/.test(line)),
        child.name,
      ).toEqual([])
      expect(child.child.exitCode).toBeNull()
      const response = await fetch(`${child.baseURL}/api/users/me`, {
        signal: AbortSignal.timeout(10_000),
      })
      expect(response.status, child.name).toBe(200)
      await response.arrayBuffer()
    }
  }, 180_000)
})
