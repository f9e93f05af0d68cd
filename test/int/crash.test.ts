/**
 * A crash in the middle of replacements: the app runs in a child process (test/helpers/appProcess.ts)
 * on the run's real PostgreSQL and S3 server, takes many concurrent multipart replacements of a few
 * product images, and is killed with SIGKILL while they are in flight; three times, at different
 * moments (right after a replacement committed, while the app's clean-up holds the replaced file's
 * row; while an upload's objects are being stored; at a random moment). Then a restarted app, with no command run: no document lost or pointing at a
 * missing object, every committed answer kept, and the leftovers of the killed uploads deleted by
 * the app's own clean-up, so that the bucket holds exactly the objects the documents reference.
 *
 * The in-process app (startTestApp) only sets up the database and bucket and reads them; its own
 * clean-up is off (IMAGE_CLEANUP_INTERVAL_SECONDS=0), so every deletion is done by the child apps.
 *
 * The scenario (the three cycles in order, then the restart) runs once, in `beforeAll`; each test
 * checks one part of what it left, so that the tests do not depend on one another's order.
 */
import type { ChildProcess } from 'node:child_process'
import { createHash, randomInt } from 'node:crypto'

import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { startTestApp, type TestApp } from '../helpers/app'
import { type ChildApp, startChildApp, tail, killAll } from '../helpers/childApp'
import { gradientJPEG } from '../helpers/images'
import { fileNamesOf } from '../helpers/imageJobs'

const SLUG = 'product-images'
/** The store deadline of the child apps: an unfinished upload's objects are due ~30 s after it started storing. */
const S3_TIMEOUT_SECONDS = '5'
const DOCUMENTS = 4
const REPLACEMENTS_PER_CYCLE = 12
const IMAGE_SIZE = [3000, 2000] as const

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

type AppProcess = ChildApp

/** One upload sent to the child: its file name (unique, also sent as `alt`), the bytes' hash, and how it ended. */
type Sent = {
  cycle: number
  data: Buffer
  doc: number
  error?: string
  /** The document's id in the answer. */
  id?: number
  name: string
  sha: string
  status?: number
  updatedAt?: string
}

type Doc = {
  alt?: null | string
  avif?: Array<{ filename: string }> | null
  filename: string
  id: number
  objectKeys: string[]
  originalFilename: string
  originalKey: null | string
  shapes?: Parameters<typeof fileNamesOf>[0]['shapes']
  updatedAt: string
  variants?: Array<{ filename: string }> | null
}

let app: TestApp
const alive = new Set<ChildProcess>()
const sent = new Map<string, Sent>()
const ids: number[] = []
/** What each kill left behind, right after the process was gone. */
const aftermath: Array<{
  inFlight: number
  leftovers: number
  pending: Record<string, number>
  strategy: string
  answered: Record<string, number>
}> = []
let finalApp: AppProcess | undefined

/** Starts the reference app in a child process on the test's database and bucket; resolves once it serves. */
const startAppProcess = (name: string): Promise<AppProcess> =>
  startChildApp(name, { IMAGE_CLEANUP_INTERVAL_SECONDS: '5', S3_TIMEOUT_SECONDS }, alive)

const kill = async (proc: AppProcess) => {
  proc.child.kill('SIGKILL')
  await proc.exited
}

const docs = async (): Promise<Doc[]> =>
  (
    await app.payload.find({
      collection: SLUG as 'media',
      depth: 0,
      limit: 0,
      overrideAccess: true,
      pagination: false,
      sort: 'id',
    })
  ).docs as unknown as Doc[]

const storedKeys = async () =>
  [...(await app.listKeys(`${SLUG}/`)), ...(await app.listKeys(`originals/${SLUG}/`))].sort()

/** Objects in the bucket that no document references. */
const unreferenced = async (): Promise<string[]> => {
  const referenced = new Set((await docs()).flatMap((d) => d.objectKeys))
  return (await storedKeys()).filter((k) => !referenced.has(k))
}

/** A multipart upload to the child, as a browser sends it; records how it ended. */
const send = async (baseURL: string, entry: Sent, id?: number): Promise<void> => {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(entry.data)], { type: 'image/jpeg' }), entry.name)
  form.append('_payload', JSON.stringify({ alt: entry.name }))
  try {
    const response = await fetch(`${baseURL}/api/${SLUG}${id === undefined ? '' : `/${id}`}`, {
      body: form,
      headers: { Authorization: `JWT ${app.token}` },
      method: id === undefined ? 'POST' : 'PATCH',
      signal: AbortSignal.timeout(180_000),
    })
    const body = (await response.json()) as { doc?: Doc; errors?: Array<{ message: string }> }
    entry.status = response.status
    entry.id = body.doc?.id
    entry.updatedAt = body.doc?.updatedAt
    if (!response.ok) entry.error = body.errors?.[0]?.message
  } catch (error) {
    entry.error = String((error as Error).cause ?? error)
  }
}

let seed = 0
const newImage = async (cycle: number, doc: number, name: string): Promise<Sent> => {
  seed++
  const data = await gradientJPEG(
    IMAGE_SIZE[0],
    IMAGE_SIZE[1],
    [(seed * 53) % 200, (seed * 29) % 200, 40 + (seed % 7) * 20],
    [250 - (seed % 11) * 9, 220, (seed * 71) % 256],
  )
  const entry: Sent = { cycle, data, doc, name, sha: sha256(data) }
  expect(
    [...sent.values()].some((s) => s.sha === entry.sha),
    'every upload has different bytes',
  ).toBe(false)
  sent.set(name, entry)
  return entry
}

type Strategy = {
  describe: string
  killWhen: (progress: {
    before: Set<string>
    firstOK: () => Promise<void>
    /** Requests of the batch not answered yet. */
    inFlight: () => number
  }) => Promise<void>
}

/** Clean-up rows some process has claimed (leased) and not finished. */
const claimedRows = async () =>
  (
    await app.sql<{ id: number }>(
      'select id from image_asset_cleanup where done_at is null and lease_until is not null and lease_until > now()',
    )
  ).map((r) => r.id)

const CLAIMED: Strategy = {
  describe:
    "right after a replacement committed, while the app's clean-up holds the replaced file's row",
  killWhen: async ({ firstOK }) => {
    const old = new Set(await claimedRows())
    await firstOK()
    // The answer goes out at commit; the clean-up claims the replaced file's row ~200 ms later.
    for (const stop = Date.now() + 60_000; Date.now() < stop;) {
      if ((await claimedRows()).some((id) => !old.has(id))) return
      await sleep(3)
    }
  },
}

const STORING: Strategy = {
  describe:
    'while an upload is being stored (a new object no document references is in the bucket)',
  killWhen: async ({ before }) => {
    for (;;) {
      if ((await unreferenced()).some((key) => !before.has(key))) return
      await sleep(randomInt(5, 30))
    }
  },
}

const RANDOM: Strategy = {
  describe:
    'at a random moment, 0.5-3 s after the first replacement answered (sooner if only one request is left)',
  killWhen: async ({ firstOK, inFlight }) => {
    await firstOK()
    // The random delay is what this cycle tests; it ends early rather than after the last answer.
    const stop = Date.now() + randomInt(500, 3000)
    while (Date.now() < stop && inFlight() > 1) await sleep(5)
  },
}

/**
 * One moment to kill at per cycle (each kills after 90 s at the latest). The kill while the
 * clean-up holds a row comes last, and the bucket must match the documents within 80 s of that
 * kill: a row claimed by a process that died is free again after its lease (30 s, LEASE_MS in
 * storage/cleanup.ts), and a killed upload's objects are due about 30 s after it began storing.
 */
const STRATEGIES: Strategy[] = [STORING, RANDOM, CLAIMED]
let lastKill = 0

/** What one cycle did: its uploads (with how each ended) and the app's last output lines. */
type Cycle = { batch: Sent[]; log: string; strategy: Strategy }
const cycles: Cycle[] = []

/**
 * One cycle: a fresh child app (the first one also creates the documents), a batch of concurrent
 * replacements, and a SIGKILL at the strategy's moment. Records what was answered and left behind.
 */
const runCycle = async (cycle: number, strategy: Strategy): Promise<Cycle> => {
  // The images are made while the app boots.
  const booting = startAppProcess(`cycle-${cycle + 1}`)
  booting.catch(() => undefined)
  const initial: Sent[] = []
  if (cycle === 0)
    for (let d = 0; d < DOCUMENTS; d++) initial.push(await newImage(-1, d, `doc${d}-initial.jpg`))
  const batch: Sent[] = []
  for (let r = 0; r < REPLACEMENTS_PER_CYCLE; r++)
    batch.push(
      await newImage(cycle, r % DOCUMENTS, `doc${r % DOCUMENTS}-cycle${cycle + 1}-${r}.jpg`),
    )
  const proc = await booting
  try {
    if (cycle === 0) {
      await Promise.all(initial.map((entry) => send(proc.baseURL, entry)))
      for (const entry of initial)
        expect(entry.status, `creating ${entry.name}: ${entry.error}\n${tail(proc.log)}`).toBe(201)
      ids.push(...initial.map((entry) => entry.id!))
      expect((await docs()).map((d) => d.id)).toEqual([...ids].sort((a, b) => a - b))
    }

    const before = new Set(await unreferenced())
    let answeredOK: () => void = () => undefined
    const ok = new Promise<void>((resolve) => (answeredOK = resolve))
    const requests = batch.map((entry) =>
      send(proc.baseURL, entry, ids[entry.doc]).then(() => {
        if (entry.status === 200) answeredOK()
      }),
    )
    const inFlight = () => batch.filter((e) => e.status === undefined && !e.error).length
    const started = Date.now()
    await Promise.race([strategy.killWhen({ before, firstOK: () => ok, inFlight }), sleep(90_000)])
    const killedAfter = Date.now() - started
    await kill(proc)
    lastKill = Date.now()
    await Promise.all(requests)

    const leftovers = await unreferenced()
    const rows = await app.sql<{ n: number; reason: string }>(
      'select reason, count(*)::int as n from image_asset_cleanup where done_at is null group by reason',
    )
    const answered: Record<string, number> = {}
    for (const entry of batch)
      answered[entry.status ?? 'none'] = (answered[entry.status ?? 'none'] ?? 0) + 1
    aftermath.push({
      answered,
      inFlight: batch.filter((e) => e.status === undefined).length,
      leftovers: leftovers.length,
      pending: Object.fromEntries(rows.map((r) => [r.reason, r.n])),
      strategy: strategy.describe,
    })
    const detail = await app.sql(
      'select id, reason, document, jsonb_array_length(keys) as keys, due, lease_until, attempts from image_asset_cleanup where done_at is null order by id',
    )
    console.log(
      `cycle ${cycle + 1}: killed after ${killedAfter} ms at ${new Date().toISOString()}; answers ${JSON.stringify(answered)}; ${leftovers.length} unreferenced object(s) (${before.size} before the cycle); pending clean-up rows ${JSON.stringify(detail)}`,
    )
    return { batch, log: tail(proc.log), strategy }
  } finally {
    if (proc.child.exitCode === null && proc.child.signalCode === null) await kill(proc)
  }
}

beforeAll(async () => {
  app = await startTestApp({ IMAGE_CLEANUP_INTERVAL_SECONDS: '0', S3_TIMEOUT_SECONDS })
  // The whole scenario runs here, once, in order (each cycle builds on the documents the one
  // before left); the tests below check what it did, each on its own and in any order.
  for (const [cycle, strategy] of STRATEGIES.entries()) cycles.push(await runCycle(cycle, strategy))
  // Restarted, with no command run: its clean-up is the only one left to run.
  finalApp = await startAppProcess('restarted')
}, 1_200_000)

afterAll(async () => {
  await killAll(alive)
  await app?.stop()
}, 120_000)

describe('the app killed (SIGKILL) in the middle of replacements', () => {
  for (const [cycle, strategy] of STRATEGIES.entries()) {
    it(`cycle ${cycle + 1}: concurrent replacements, killed ${strategy.describe}: every answer given was 200, 409 or 503`, () => {
      const { batch, log } = cycles[cycle]
      // Only answers the app gives under this load: done, busy (limiter), or lost the race to
      // another replacement of the same document; the rest were cut off by the kill.
      for (const entry of batch) {
        if (entry.status !== undefined)
          expect(
            [200, 409, 503],
            `${entry.name}: ${entry.status} ${entry.error}\n${log}`,
          ).toContain(entry.status)
      }
      // The other moments hold requests in flight; a random one may fall after the last answer
      // (uploads are answered fast now that AVIF is a background job), which is a moment too.
      if (strategy !== RANDOM)
        expect(
          batch.filter((e) => e.status === undefined).length,
          'the kill cut requests off mid-way',
        ).toBeGreaterThan(0)
    })
  }

  it('a restarted app: every document is there, readable, on objects that exist, with its last committed image', async () => {
    expect(ids).toHaveLength(DOCUMENTS)
    const found = await docs()
    expect(found.map((d) => d.id)).toEqual([...ids].sort((a, b) => a - b))

    const missing: string[] = []
    for (const doc of found) {
      // The keys it records are exactly those of its own files: the main image, its two variants
      // (320 and 640 px), its square shape and that shape's variant, any AVIF versions made so
      // far, and the kept original.
      expect(doc.variants).toHaveLength(2)
      expect([...doc.objectKeys].sort()).toEqual(
        [...fileNamesOf(doc).map((f) => `${SLUG}/${f}`), doc.originalKey!].sort(),
      )
      for (const key of doc.objectKeys) {
        await app.s3
          .send(new HeadObjectCommand({ Bucket: app.bucket, Key: key }))
          .catch(() => missing.push(`${doc.id}: ${key}`))
      }
    }
    expect(missing).toEqual([])

    for (const doc of found) {
      const index = ids.indexOf(doc.id)
      const response = await fetch(`${finalApp!.baseURL}/api/${SLUG}/${doc.id}`, {
        headers: { Authorization: `JWT ${app.token}` },
      })
      expect(response.status).toBe(200)
      const body = (await response.json()) as Doc & { url: string }
      expect(body.url).toMatch(new RegExp(`/${SLUG}/${body.filename}$`))
      const image = await fetch(body.url)
      expect([image.status, image.headers.get('content-type')]).toEqual([200, 'image/webp'])
      await image.arrayBuffer()

      // The image is one that was sent to this document, whole: its alt (sent with the file) and
      // its kept original (named by the hash of the uploaded bytes) are those of the same upload.
      const source = sent.get(doc.originalFilename)
      expect(source, `document ${doc.id} has ${doc.originalFilename}`).toBeDefined()
      expect(source!.doc).toBe(index)
      expect(doc.alt).toBe(source!.name)
      expect(doc.originalKey).toMatch(
        new RegExp(`^originals/${SLUG}/${source!.sha.slice(0, 16)}-[0-9a-f]{8}\\.jpg$`),
      )

      // Nothing committed was lost: a replacement answered 200 is this image or an older one, and
      // an upload refused (409, 503) never shows up.
      const replacements = [...sent.values()].filter((s) => s.doc === index && s.cycle >= 0)
      const committed = replacements.filter((s) => s.status === 200)
      for (const entry of committed)
        expect(new Date(entry.updatedAt!).getTime()).toBeLessThanOrEqual(
          new Date(doc.updatedAt).getTime(),
        )
      if (source!.cycle >= 0)
        expect(
          source!.status === 200 || source!.status === undefined,
          `${source!.name} answered ${source!.status}`,
        ).toBe(true)
      else expect(committed, 'the initial image stays only if no replacement committed').toEqual([])
      if (source!.status === 200) expect(source!.updatedAt).toBe(doc.updatedAt)
    }
  }, 300_000)

  it('the leftovers of the killed uploads are deleted by the app itself: the bucket holds exactly the objects the documents reference', async () => {
    // Something was left behind for the clean-up to do (by construction of the second cycle).
    expect(aftermath.reduce((n, a) => n + a.leftovers, 0)).toBeGreaterThan(0)
    // Within 80 s of the last kill, with no command: a row the killed process had claimed is free
    // again after its 30 s lease, and killed uploads' objects are due about 30 s after they began storing.
    const started = Date.now()
    const timeout = Math.max(10_000, lastKill + 80_000 - started)
    await vi.waitFor(
      async () => {
        const referenced = (await docs()).flatMap((d) => d.objectKeys).sort()
        expect(await storedKeys()).toEqual(referenced)
      },
      { interval: 1000, timeout },
    )
    const pending = await app.sql(
      'select reason, keys, due, lease_until, attempts, last_error from image_asset_cleanup where done_at is null',
    )
    console.log(
      `bucket matched the documents ${Date.now() - started} ms after this test began, ${Date.now() - lastKill} ms after the last kill; clean-up rows still pending: ${JSON.stringify(pending)}`,
    )
    console.log(JSON.stringify(aftermath, null, 1))
  }, 180_000)
})
