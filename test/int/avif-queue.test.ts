/**
 * AVIF versions are background work on Payload's jobs queue: an upload is answered and served as
 * WebP at once, and `avif` / `avifSrcSet` appear when the job has run. A failing job is retried and
 * recorded; a replaced or deleted image's pending job leaves nothing behind.
 *
 * Here the queue is drained by hand (`IMAGE_RUN_JOBS=false`, as with dedicated workers running
 * `payload jobs:run --queue image-assets`), to control when each job runs.
 */
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { missingAvif, runtimeOf } from 'payload-image-assets'
import { AVIF_TASK, holdTiming, runAvifJob } from 'payload-image-assets/internal'
import { createLocalReq } from 'payload'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import {
  type Doc,
  drain,
  fileNamesOf,
  jobs,
  photo,
  read,
  settledBucket,
  SLUG,
} from '../helpers/imageJobs'

describe('jobs drained by hand (dedicated workers)', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ IMAGE_RUN_JOBS: 'false' })
  })
  afterAll(async () => app?.stop())

  /**
   * A new upload's job, as a worker's claim leaves it: `claim()` writes `processing` and its own
   * `updatedAt` stamp and reads the row back, as Payload's claim does; `run` is the task's handler.
   */
  const claimedJob = async (seed: number, name: string) => {
    const { body } = await uploadREST(app, SLUG, { data: await photo(seed), name })
    const job = (await jobs(app)).find((j) => String(j.input.id) === String(body.doc.id))!
    const claim = async () =>
      (await app.payload.db.updateOne({
        collection: 'payload-jobs',
        data: { processing: true, updatedAt: new Date().toISOString() },
        id: job.id,
      })) as unknown as { id: number; input: Record<string, unknown>; updatedAt: string }
    const task = app.payload.config.jobs.tasks!.find((t) => t.slug === AVIF_TASK)!
    const handler = task.handler as (args: unknown) => Promise<{ output: { status: string } }>
    const req = await createLocalReq({}, app.payload)
    const run = (claimed: Awaited<ReturnType<typeof claim>>) =>
      handler({ input: claimed.input, job: claimed, req })
    return { claim, doc: body.doc as { id: number }, job, run }
  }

  /** Polls until a run has taken the job: its hold mark is on the row. */
  const heldByARun = (jobId: number, interval: number) =>
    vi.waitFor(
      async () => {
        const [row] = await app.sql<{ input: Record<string, unknown> }>(
          'select input from payload_jobs where id = $1',
          [jobId],
        )
        expect(Object.keys(row.input)).toContain('imageAssetsHeldUntil')
      },
      { interval, timeout: 10_000 },
    )

  /** Replaces a document's file over REST, as an editor does; the response's status. */
  const replaceFile = async (id: number, seed: number, name: string) => {
    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(await photo(seed))], { type: 'image/jpeg' }), name)
    form.append('_payload', '{}')
    const replaced = await fetch(`${app.baseURL}/api/${SLUG}/${id}`, {
      body: form,
      headers: { Authorization: `JWT ${app.token}` },
      method: 'PATCH',
    })
    return replaced.status
  }

  /** Clean-up rows made so far: every stored set (upload or job) records one, taking the next id. */
  const rowsMade = async () => {
    const [{ seq }] = await app.sql<{ seq: string }>(
      `select pg_get_serial_sequence('image_asset_cleanup', 'id') as seq`,
    )
    return Number((await app.sql<{ n: number }>(`select last_value::int as n from ${seq}`))[0].n)
  }

  it('queues one job per new file, in the same transaction, and runs nothing itself', async () => {
    const { body } = await uploadREST(app, SLUG, { data: await photo(3), name: 'a.jpg' })
    const queued = (await jobs(app)).filter((j) => String(j.input.id) === String(body.doc.id))
    expect(queued).toHaveLength(1)
    expect((await read(app, body.doc.id)).avif).toBeNull()
    await drain(app)
    expect((await read(app, body.doc.id)).avif?.length).toBeGreaterThan(0)
  })

  it('one job run twice at once (Payload can hand a job to two workers) records one set; the other run’s objects are cleaned up', async () => {
    const { body } = await uploadREST(app, SLUG, { data: await photo(8), name: 'twice.jpg' })
    const input = { collection: SLUG, filename: body.doc.filename, id: String(body.doc.id) }
    // Both runs read the document before either records: both encode and store their set.
    const runtime = runtimeOf(app.payload)
    const results = await Promise.all([
      runAvifJob(app.payload, runtime, input),
      runAvifJob(app.payload, runtime, input),
    ])
    expect(results.map((r) => r.status).sort()).toEqual(['done', 'superseded'])
    const doc = await read(app, body.doc.id)
    expect(doc.avif?.length).toBeGreaterThan(0)
    for (const v of doc.avif!) expect(doc.objectKeys).toContain(`${SLUG}/${v.filename}`)
    // The losing run's objects are deleted: the bucket ends with exactly what documents reference.
    await settledBucket(app)
    await drain(app)
  })

  it('a job two workers both claimed (Payload claims with a read, then a write) is encoded once: the run whose claim is on the row goes on, the other leaves at once', async () => {
    const { claim, doc: uploaded, job, run } = await claimedJob(9, 'claimed.jpg')
    const first = await claim()
    await new Promise((resolve) => setTimeout(resolve, 5))
    const second = await claim()
    expect(second.updatedAt).not.toBe(first.updatedAt)
    const rowsBefore = await rowsMade()
    const [early, late] = await Promise.all([run(first), run(second)])
    expect([early.output.status, late.output.status]).toEqual(['claimed-elsewhere', 'done'])
    const doc = await read(app, uploaded.id)
    expect(doc.avif?.length).toBeGreaterThan(0)
    // One set only: the run that left recorded and stored nothing (a run that encoded and lost
    // would have left its clean-up row), and the bucket is exactly what documents reference.
    expect(await rowsMade()).toBe(rowsBefore + 1)
    expect(await app.sql('select id from image_asset_cleanup where id > $1', [rowsBefore])).toEqual(
      [],
    )
    await settledBucket(app)
    await app.payload.delete({ collection: 'payload-jobs', id: job.id, overrideAccess: true })
  })

  it('a claim that lands after another run took the job (Payload updates its claimed rows one after another) finds it held and leaves', async () => {
    const { claim, doc: uploaded, job, run } = await claimedJob(10, 'held.jpg')
    const first = await claim()
    const running = run(first)
    // The first run has taken the job (its mark is on the row); a second worker's claim only now
    // writes the row, and reads the mark back with it.
    await heldByARun(job.id, 20)
    const late = await claim()
    expect(late.updatedAt).not.toBe(first.updatedAt)
    expect((await run(late)).output.status).toBe('claimed-elsewhere')
    expect((await running).output.status).toBe('done')
    expect((await read(app, uploaded.id)).avif?.length).toBeGreaterThan(0)
    await settledBucket(app)
    await app.payload.delete({ collection: 'payload-jobs', id: job.id, overrideAccess: true })
  })

  it('a run keeps its job held for as long as it works (renewed while it waits for a work slot): a claim after the first lease has run out still finds it held', async () => {
    const saved = { ...holdTiming }
    Object.assign(holdTiming, { leaseMs: 1500, renewMs: 200 })
    const limiter = runtimeOf(app.payload).limiter
    let release = () => {}
    const busy = new Promise<void>((resolve) => {
      release = resolve
    })
    const { claim, doc: uploaded, job, run } = await claimedJob(11, 'renewed.jpg')
    // Every work slot is taken (by uploads, say): the job's run waits for one.
    const slots = Array.from({ length: limiter.concurrency }, () => limiter.run(() => busy))
    try {
      const first = await claim()
      const running = run(first)
      await heldByARun(job.id, 20)
      const heldUntil = async () =>
        Number(
          (
            await app.sql<{ until: string }>(
              "select input ->> 'imageAssetsHeldUntil' as until from payload_jobs where id = $1",
              [job.id],
            )
          )[0].until,
        )
      const firstLease = await heldUntil()
      // Past the first lease, the mark has moved on.
      await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(firstLease + 500), {
        interval: 100,
        timeout: 10_000,
      })
      expect(await heldUntil()).toBeGreaterThan(Date.now())
      const late = await claim()
      expect((await run(late)).output.status).toBe('claimed-elsewhere')
      release()
      await Promise.all(slots)
      expect((await running).output.status).toBe('done')
      expect((await read(app, uploaded.id)).avif?.length).toBeGreaterThan(0)
      await app.payload.delete({ collection: 'payload-jobs', id: job.id, overrideAccess: true })
    } finally {
      release()
      Object.assign(holdTiming, saved)
    }
  })

  /**
   * Polls until no connection of the app's database is idle in a transaction since before `since`
   * (an aborted one shows no `xact_start`, so its last state change is what dates it).
   */
  const noTransactionLeftOpen = (since: Date) =>
    vi.waitFor(
      async () =>
        expect(
          await app.sql(
            `select state, left(query, 80) as query from pg_stat_activity
              where datname = current_database() and state like 'idle in transaction%' and state_change < $1`,
            [since],
          ),
        ).toEqual([]),
      { interval: 100, timeout: 5_000 },
    )

  it('two workers running the queue at the same moment take each job once: every image gets its AVIF versions, no run fails, no transaction is left open', async () => {
    await drain(app)
    const uploaded: Array<{ id: number }> = []
    for (let i = 0; i < 4; i++) {
      const { body } = await uploadREST(app, SLUG, {
        data: await photo(20 + i),
        name: `pair-${i}.jpg`,
      })
      uploaded.push(body.doc)
    }
    const rowsBefore = await rowsMade()
    const errors: string[] = []
    // Two workers (as two `payload jobs:run --queue image-assets` processes would): both look at
    // the queue at once, and Payload claims with a read, then a write.
    const worker = async () => {
      for (let i = 0; i < 6; i++) {
        try {
          const result = await app.payload.jobs.run({ limit: 10, queue: 'image-assets' })
          if (result.noJobsRemaining) return
        } catch (error) {
          errors.push(error instanceof Error ? error.message : String(error))
        }
      }
    }
    await Promise.all([worker(), worker()])
    const ended = new Date()
    expect(errors).toEqual([])
    for (const doc of uploaded) expect((await read(app, doc.id)).avif?.length).toBeGreaterThan(0)
    // Each job encoded and stored one set (each stored set records one clean-up row).
    expect(await rowsMade()).toBe(rowsBefore + uploaded.length)
    expect(await jobs(app)).toEqual([])
    await noTransactionLeftOpen(ended)
  })

  it('a job deleted while its run still encodes (another worker finished it): the run’s last write fails, and its transaction is rolled back', async () => {
    await drain(app)
    const { body } = await uploadREST(app, SLUG, { data: await photo(30), name: 'gone.jpg' })
    const job = (await jobs(app)).find((j) => String(j.input.id) === String(body.doc.id))!
    const running = app.payload.jobs.run({ limit: 10, queue: 'image-assets' }).then(
      () => 'resolved',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    )
    // The run has taken the job and is encoding; the row goes, as another worker's completion
    // deletes it.
    await heldByARun(job.id, 10)
    await app.sql('delete from payload_jobs where id = $1', [job.id])
    // Payload's write of the task's log to the deleted row fails; whatever the run then answers,
    // the document has its AVIF versions and no connection stays in a transaction.
    await running
    const ended = new Date()
    expect((await read(app, body.doc.id)).avif?.length).toBeGreaterThan(0)
    await noTransactionLeftOpen(ended)
    // The pool still answers.
    expect((await app.payload.find({ collection: SLUG, limit: 1 })).docs).toHaveLength(1)
  })

  it('jobs left processing by a process that died are taken up again by the next claim; a live run’s are not; one abandoned too often is failed with the reason', async () => {
    await drain(app)
    const upload = async (seed: number, name: string) => {
      const { body } = await uploadREST(app, SLUG, { data: await photo(seed), name })
      const job = (await jobs(app)).find((j) => String(j.input.id) === String(body.doc.id))!
      return { doc: body.doc as { id: number }, job }
    }
    // As a `kill -9` leaves them: claimed (processing), and for a run that had started, its hold
    // mark; the one whose hold has ended and the one claimed long ago without a hold are abandoned,
    // the one still held belongs to a live run elsewhere.
    const ended = await upload(40, 'killed-after-hold.jpg')
    const unheld = await upload(41, 'killed-before-hold.jpg')
    const live = await upload(42, 'held-elsewhere.jpg')
    const mark = (id: number, heldUntil: null | number, minutesAgo = 0) =>
      app.sql(
        `update payload_jobs set processing = true,
           updated_at = now() - make_interval(mins => $3::int),
           input = case when $2::double precision is null then input - 'imageAssetsHeldUntil'
             else jsonb_set(input, '{imageAssetsHeldUntil}', to_jsonb($2::double precision)) end
         where id = $1`,
        [id, heldUntil, minutesAgo],
      )
    await mark(ended.job.id, Date.now() - 1000)
    await mark(unheld.job.id, null, 31)
    await mark(live.job.id, Date.now() + 10 * 60_000)
    await app.payload.jobs.run({ limit: 10, queue: 'image-assets' })
    expect((await read(app, ended.doc.id)).avif?.length).toBeGreaterThan(0)
    expect((await read(app, unheld.doc.id)).avif?.length).toBeGreaterThan(0)
    expect((await read(app, live.doc.id)).avif ?? null).toBeNull()
    const [left] = await jobs(app)
    expect(left).toMatchObject({ has_error: false, id: live.job.id, processing: true })

    // A job whose process keeps dying (an image that crashes it) is not taken up for ever.
    await app.sql(`update payload_jobs set total_tried = 3 where id = $1`, [live.job.id])
    await mark(live.job.id, Date.now() - 1000)
    await app.payload.jobs.run({ limit: 10, queue: 'image-assets' })
    const [failed] = await app.sql<{
      error: { message: string }
      has_error: boolean
      input: Record<string, unknown>
      processing: boolean
    }>('select error, has_error, input, processing from payload_jobs where id = $1', [live.job.id])
    expect(failed).toMatchObject({ has_error: true, processing: false })
    // The dead run's hold goes with the release (a new run's claim must not read it as expired).
    expect(Object.keys(failed.input)).not.toContain('imageAssetsHeldUntil')
    expect(failed.error.message).toBe(
      'payload-image-assets: the process running this job stopped before it finished, 4 times',
    )
    expect((await read(app, live.doc.id)).avif ?? null).toBeNull()
    await app.sql('delete from payload_jobs where id = $1', [live.job.id])
  })

  it('a replaced image’s pending job does nothing; the new file gets its own', async () => {
    const first = await uploadREST(app, SLUG, { data: await photo(4), name: 'b.jpg' })
    expect(await replaceFile(first.body.doc.id, 5, 'c.jpg')).toBe(200)
    await drain(app)
    const doc = await read(app, first.body.doc.id)
    expect(doc.filename).not.toBe(first.body.doc.filename)
    expect(doc.avif?.length).toBeGreaterThan(0)
    // Nothing of the first file's AVIF is left: the bucket holds exactly what the documents reference.
    const stored = await settledBucket(app)
    expect(stored.filter((k) => k.endsWith('.avif'))).toHaveLength(
      (
        (await app.payload.find({ collection: SLUG, depth: 0, limit: 100 }))
          .docs as unknown as Doc[]
      ).flatMap((d) => fileNamesOf(d).filter((f) => f.endsWith('.avif'))).length,
    )
  })

  it('a job whose image is replaced while it waits to read its source, and the old objects cleaned up, ends as superseded instead of failing', async () => {
    await drain(app)
    const first = await uploadREST(app, SLUG, { data: await photo(50), name: 'old.jpg' })
    const job = (await jobs(app)).find((j) => String(j.input.id) === String(first.body.doc.id))!
    const runtime = runtimeOf(app.payload)
    const get = runtime.store.get.bind(runtime.store)
    // Only the timing is arranged: the replacement and the clean-up are the real ones, and so is
    // the bucket's 404 for the old source afterwards.
    const spy = vi.spyOn(runtime.store, 'get').mockImplementationOnce(async (key, deadline) => {
      expect(await replaceFile(first.body.doc.id, 51, 'new.jpg')).toBe(200)
      await vi.waitFor(async () => expect(await app.listKeys(key)).toEqual([]), {
        interval: 200,
        timeout: 30_000,
      })
      return get(key, deadline)
    })
    try {
      const result = await runAvifJob(app.payload, runtime, job.input as never)
      expect(result).toEqual({ status: 'superseded' })
    } finally {
      spy.mockRestore()
    }
    await drain(app)
    expect((await read(app, first.body.doc.id)).avif?.length).toBeGreaterThan(0)
  })

  it('a deleted image’s pending job does nothing and leaves nothing', async () => {
    const { body } = await uploadREST(app, SLUG, { data: await photo(6), name: 'd.jpg' })
    const deleted = await fetch(`${app.baseURL}/api/${SLUG}/${body.doc.id}`, {
      headers: { Authorization: `JWT ${app.token}` },
      method: 'DELETE',
    })
    expect(deleted.status).toBe(200)
    await drain(app)
    const stored = await settledBucket(app)
    expect(stored.some((k) => k.includes(body.doc.filename))).toBe(false)
    // Its job ran and ended without an error (a completed job is deleted from the queue).
    const job = (await jobs(app)).find((j) => String(j.input.id) === String(body.doc.id))
    expect(job?.has_error ?? false).toBe(false)
  })

  it('a failing job is retried, then recorded with its error; the document keeps its WebP', async () => {
    const { body } = await uploadREST(app, SLUG, { data: await photo(7), name: 'e.jpg' })
    const doc = await read(app, body.doc.id)
    // The job's source, the kept original, is gone.
    const original = doc.objectKeys.find((k) => k.startsWith(`originals/${SLUG}/`))!
    await app.s3.send(new DeleteObjectCommand({ Bucket: app.bucket, Key: original }))
    const jobRow = async () =>
      (
        await app.sql<{ total_tried: number; wait_until: Date | null }>(
          `select total_tried::int, wait_until from payload_jobs where queue = 'image-assets' and input->>'id' = $1`,
          [String(body.doc.id)],
        )
      )[0]!
    await app.payload.jobs.run({ limit: 10, queue: 'image-assets' })
    // Tried again only after a delay (15 s, then growing): an outage of a moment costs nothing.
    const failedOnce = await jobRow()
    expect(failedOnce.total_tried).toBe(1)
    expect(new Date(failedOnce.wait_until!).getTime() - Date.now()).toBeGreaterThan(10_000)
    await app.payload.jobs.run({ limit: 10, queue: 'image-assets' })
    expect((await jobRow()).total_tried).toBe(1)
    // Each delay over at once, the job is tried until its retries are used up.
    for (let i = 0; i < 6; i++) {
      await app.sql(`update payload_jobs set wait_until = null where queue = 'image-assets'`)
      await app.payload.jobs.run({ limit: 10, queue: 'image-assets' })
    }
    expect((await jobRow()).total_tried).toBe(5)
    const job = (await jobs(app)).find((j) => String(j.input.id) === String(body.doc.id))!
    expect(job.has_error).toBe(true)
    expect(job.total_tried).toBeGreaterThan(1)
    const recorded = (await app.payload.findByID({
      collection: 'payload-jobs',
      depth: 0,
      id: job.id,
    })) as unknown as { error?: unknown; log?: Array<{ state: string }> }
    expect(recorded.log?.filter((entry) => entry.state === 'failed').length).toBeGreaterThan(1)
    expect(JSON.stringify(recorded.error)).toContain(
      `the image's source object ${original} is missing from the bucket`,
    )
    const after = await read(app, body.doc.id)
    expect(after.avif).toBeNull()
    expect(after.filename).toBe(doc.filename)
    const main = await fetch(body.doc.url)
    expect([main.status, main.headers.get('content-type')]).toEqual([200, 'image/webp'])
    // Nothing was written by the failed attempts.
    expect((await app.listKeys(`${SLUG}/`)).filter((k) => k.endsWith('.avif')).length).toBe(
      (
        (await app.payload.find({ collection: SLUG, depth: 0, limit: 100 }))
          .docs as unknown as Doc[]
      ).flatMap((d) => fileNamesOf(d).filter((f) => f.endsWith('.avif'))).length,
    )

    // Once the source is back (the outage is over), re-optimization's check finds the image
    // without AVIF versions and with no job left, and queues one; then nothing is missing.
    await app.s3.send(
      new PutObjectCommand({ Body: await photo(7), Bucket: app.bucket, Key: original }),
    )
    const runtime = runtimeOf(app.payload)
    const count = async () =>
      (await missingAvif(app.payload, runtime, { queue: false })).find((c) => c.collection === SLUG)
        ?.missing
    expect(await count()).toBeGreaterThanOrEqual(1)
    await missingAvif(app.payload, runtime, { collections: [SLUG], queue: true })
    expect(await count()).toBe(0)
    await drain(app)
    expect((await read(app, body.doc.id)).avif?.length).toBeGreaterThan(0)
    expect(await count()).toBe(0)
  })
})
