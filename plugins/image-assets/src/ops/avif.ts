import { NotFound, type Payload, type PayloadRequest, type Where } from 'payload'

import { settingsFingerprint } from '../image/fingerprint.js'

import { ImageUploadError } from '../errors.js'
import { encodeAvifSet } from '../image/transform.js'
import { storedFraming } from '../upload/framing.js'
import type { ResolvedCollection } from '../options.js'
import { abandonUpload } from '../storage/cleanup.js'
import { nudgeCleanup } from '../storage/cleanupRunner.js'
import { contentDisposition } from '../storage/headers.js'
import { listed, named } from '../storage/documentFiles.js'
import { objectKey, prefixOf } from '../storage/keys.js'
import { s3Status } from '../storage/objects.js'
import { storeObjects } from '../upload/prepare.js'
import { sessionContext, type UploadSession } from '../upload/session.js'
import { pages } from './pages.js'
import { collectionRuntime, type Runtime } from './runtime.js'

/**
 * AVIF versions as background work on Payload's jobs queue (PostgreSQL-backed: any number of app
 * and worker processes share it). An upload is complete and served as WebP at once; recording it
 * queues one job in the same transaction, and `avif` / `avifSrcSet` appear when the job is done.
 *
 * The job follows the upload path: read the source (the kept original, else the main WebP), encode
 * within the shared work limit, record the new keys for clean-up, store them, then record them on
 * the document conditionally on its file being the one the job was queued for. A replaced or
 * deleted image's job does nothing, or its objects go to the clean-up; a failure is retried with
 * a growing delay (`RETRIES`) and then stays in Payload's jobs collection with its error.
 */
export const AVIF_TASK = 'imageAssetsAvif'
export const IMAGE_QUEUE = 'image-assets'
/**
 * A failed job is tried again this many times, after 15 s, 30 s, 60 s and 120 s: a bucket that
 * is away for a few minutes (a blip, a restart) does not leave images without AVIF versions.
 */
const RETRIES = { attempts: 4, backoff: { delay: 15_000, type: 'exponential' as const } }
/** How often each process looks at the image queue, and how many jobs one run takes. */
export const JOBS_INTERVAL_MS = 5_000
export const JOBS_PER_RUN = 10
/** AVIF encodes are several times slower than WebP: the job's deadline is this many image deadlines. */
const DEADLINE_FACTOR = 4
/** How long a job waits for a slot in the work limit before it gives up (and is retried later). */
const SLOT_WAIT_MS = 10 * 60 * 1000

export type AvifInput = { collection: string; filename: string; id: number | string }
export type AvifResult = {
  status: 'claimed-elsewhere' | 'done' | 'gone' | 'superseded' | 'up-to-date'
}

/** Payload's jobs collection. */
const JOBS_SLUG = 'payload-jobs'

type ClaimedJob = { id?: number | string; input?: unknown; updatedAt?: unknown }

/** Where a run that took a job marks it in the job's input, with the time its hold ends. */
export const HOLD_KEY = 'imageAssetsHeldUntil'
/**
 * How a run holds its job: the mark ends `leaseMs` after it was last set, and a live run sets it
 * again every `renewMs` for as long as it works (waiting for a slot, reading, encoding, storing).
 * A run whose process died stops renewing it, so the next claim after `leaseMs` takes the job up
 * again (`jobClaims.ts`), instead of waiting out the longest a run could take. The lease leaves
 * room for clocks that differ between hosts (a claim compares the mark with the database's clock).
 * (An object, so that tests can shorten it.)
 */
export const holdTiming = { leaseMs: 120_000, renewMs: 20_000 }

/**
 * Payload claims pending jobs with a read and then a write (one row after another), so two workers
 * that look at the queue at the same moment can both take the same job, and both would encode it.
 * Each claim writes the row's `updatedAt`; a run goes on only if its own stamp is still on the row
 * (a compare-and-set, which also marks the job held in its input), and leaves at once, having
 * encoded nothing, when another run holds it (a claim that came after the hold reads the mark).
 * Were both to go on anyway, the record step would keep one result and hand the other's objects to
 * the clean-up: this saves the work, it is not what keeps the document whole.
 */
const takeJob = async (payload: Payload, job: ClaimedJob | undefined): Promise<boolean> => {
  if (job?.id === undefined || typeof job.updatedAt !== 'string') return true
  const input = { ...(job.input as Record<string, unknown>) }
  const heldUntil = input[HOLD_KEY]
  if (typeof heldUntil === 'number' && heldUntil > Date.now()) return false
  const taken = await payload.db.updateOne({
    collection: JOBS_SLUG,
    data: {
      input: { ...input, [HOLD_KEY]: Date.now() + holdTiming.leaseMs },
      updatedAt: new Date().toISOString(),
    },
    options: { atomic: true },
    returning: false,
    where: { and: [{ id: { equals: job.id } }, { updatedAt: { equals: job.updatedAt } }] },
  })
  return taken !== null
}

/**
 * Renews a taken job's hold every `holdTiming.renewMs` while its run works (only while the job is
 * still processing: a finished or released job is left alone). Returns the stop, which waits for
 * a renewal in flight, so that none lands after the run has let go of the job.
 */
const keepHeld = (payload: Payload, job: ClaimedJob | undefined): (() => Promise<void>) => {
  if (job?.id === undefined) return async () => undefined
  const { [HOLD_KEY]: _held, ...input } = job.input as Record<string, unknown>
  let renewing: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    renewing = renewing.then(() =>
      payload.db
        .updateOne({
          collection: JOBS_SLUG,
          data: { input: { ...input, [HOLD_KEY]: Date.now() + holdTiming.leaseMs } },
          options: { atomic: true },
          returning: false,
          where: { and: [{ id: { equals: job.id } }, { processing: { equals: true } }] },
        })
        .catch(() => undefined),
    )
  }, holdTiming.renewMs)
  timer.unref()
  return async () => {
    clearInterval(timer)
    // A renewal the database does not answer is not waited for long (its lease then runs out).
    let late: NodeJS.Timeout | undefined
    await Promise.race([
      renewing,
      new Promise((resolve) => {
        late = setTimeout(resolve, holdTiming.renewMs)
      }),
    ])
    clearTimeout(late)
  }
}

/** A run that failed lets go of its job, so that Payload's retry can take it (best effort). */
const letGo = async (payload: Payload, job: ClaimedJob | undefined): Promise<void> => {
  if (job?.id === undefined) return
  const { [HOLD_KEY]: _held, ...input } = job.input as Record<string, unknown>
  await payload.db
    .updateOne({ collection: JOBS_SLUG, data: { input }, id: job.id, returning: false })
    .catch(() => undefined)
}

type Version = { filename: string; filesize: number; height: number; width: number }
type Shape = Version & { avif?: Version[]; variants?: Version[] }

type Doc = {
  avif?: unknown
  crop?: unknown
  filename?: null | string
  focalX?: null | number
  focalY?: null | number
  shapes?: null | Record<string, Shape>
  id: number | string
  objectKeys?: null | string[]
  originalFilename?: null | string
  originalKey?: null | string
  prefix?: null | string
  variants?: Array<{ width: number }> | null
  width?: null | number
}

/** Queues the job for a document whose new file was just recorded, inside that transaction. */
export const queueAvif = async (
  req: PayloadRequest,
  collection: ResolvedCollection,
  doc: { filename?: unknown; id: number | string },
): Promise<void> => {
  if (!collection.avif || typeof doc.filename !== 'string') return
  const input: AvifInput = { collection: collection.slug, filename: doc.filename, id: doc.id }
  await req.payload.jobs.queue({ input, queue: IMAGE_QUEUE, req, task: AVIF_TASK })
}

/**
 * Documents of the given collections (all with `avif` on by default) whose current file has no
 * AVIF versions and no job that could still make them (its job failed, for example through a long
 * bucket outage, or was deleted): with `queue`, a job is queued for each. Documents whose settings
 * are stale are left to re-optimization, which queues their job. Per collection, how many.
 */
export const missingAvif = async (
  payload: Payload,
  runtime: Runtime,
  options: { collections?: string[]; queue: boolean },
): Promise<Array<{ collection: string; missing: number }>> => {
  const wanted = runtime.collections.filter(
    (c) => c.avif && (!options.collections?.length || options.collections.includes(c.slug)),
  )
  if (wanted.length === 0) return []
  // Jobs that can still run: pending, processing, or waiting for a retry. A document written
  // after this moment queued its own job, which the snapshot may miss: it is left out.
  const snapshot = new Date().toISOString()
  const pending = new Set<string>()
  for await (const job of pages(payload, JOBS_SLUG, {
    and: [
      { queue: { equals: IMAGE_QUEUE } },
      { taskSlug: { equals: AVIF_TASK } },
      { completedAt: { exists: false } },
      { hasError: { not_equals: true } },
    ],
  })) {
    const input = job.input as Partial<AvifInput> | undefined
    pending.add(`${input?.collection}:${input?.id}:${input?.filename}`)
  }
  const counts: Array<{ collection: string; missing: number }> = []
  for (const collection of wanted) {
    let missing = 0
    const current = { fingerprint: { equals: settingsFingerprint(collection) } }
    const where: Where = {
      and: [{ filename: { exists: true } }, current, { updatedAt: { less_than: snapshot } }],
    }
    for await (const doc of pages(payload, collection.slug, where, {
      select: { avif: true, filename: true },
    })) {
      const { avif, filename, id } = doc as Doc
      if ((Array.isArray(avif) && avif.length > 0) || typeof filename !== 'string') continue
      if (pending.has(`${collection.slug}:${id}:${filename}`)) continue
      missing++
      if (options.queue)
        await payload.jobs.queue({
          input: { collection: collection.slug, filename, id } satisfies AvifInput,
          queue: IMAGE_QUEUE,
          task: AVIF_TASK,
        })
    }
    counts.push({ collection: collection.slug, missing })
  }
  return counts
}

/** Makes and records one document's AVIF versions; see the module comment. */
export const runAvifJob = async (
  payload: Payload,
  runtime: Runtime,
  input: AvifInput,
): Promise<AvifResult> => {
  const { collection, delivery } = collectionRuntime(runtime, input.collection)
  const read = async () =>
    (await payload.findByID({
      collection: collection.slug,
      depth: 0,
      disableErrors: true,
      id: input.id,
      overrideAccess: true,
    })) as Doc | null
  /** Why the job has nothing to do for the document as it is now, if so. */
  const outdated = (now: Doc | null): AvifResult | undefined =>
    !now?.filename
      ? { status: 'gone' }
      : now.filename !== input.filename
        ? { status: 'superseded' }
        : undefined
  const doc = await read()
  const before = outdated(doc)
  if (before || !doc) return before ?? { status: 'gone' }
  if (Array.isArray(doc.avif) && doc.avif.length > 0) return { status: 'up-to-date' }

  const prefix = prefixOf(doc, collection.slug)
  const widths = [...(doc.variants ?? []).map((v) => v.width), doc.width ?? Infinity]
  const framing = storedFraming(doc)
  // Background work: a slot only when no upload waits for one (uploads come first), however long
  // that takes up to SLOT_WAIT_MS; the source is read once the slot is taken, so that jobs
  // waiting for one hold no image in memory, and the deadline starts then.
  const sourceKey = doc.originalKey ?? objectKey(prefix, doc.filename!)
  const done = await runtime.limiter.runBackground(async () => {
    let source: Buffer
    try {
      source = await runtime.store.get(sourceKey)
    } catch (error) {
      // The image was replaced or deleted since it was read, and its objects cleaned up.
      if (s3Status(error) === 404) return undefined
      throw error
    }
    return encodeAvifSet(source, collection.preset, widths, {
      deadline: Date.now() + collection.limits.timeoutSeconds * 1000 * DEADLINE_FACTOR,
      // The stored WebP is already cropped; the original is cropped as the document says.
      framing: { crop: doc.originalKey ? framing.crop : null, focal: framing.focal },
      maxPixels: collection.limits.maxPixels,
      // Each shape at the widths its WebP versions have (some may have been left out as no lighter).
      shapes: collection.shapes.flatMap((shape) => {
        const stored = doc.shapes?.[shape.name]
        if (!stored) return []
        const widths = new Set((stored.variants ?? []).map((v) => v.width))
        return [{ ...shape, variantWidths: shape.variantWidths.filter((w) => widths.has(w)) }]
      }),
    })
  }, Date.now() + SLOT_WAIT_MS)
  if (!done)
    throw new Error('no image work slot came free in time (uploads come first); retrying later')
  if (!done.value) {
    const since = outdated(await read())
    if (since) return since
    throw new Error(`the image's source object ${sourceKey} is missing from the bucket`)
  }

  const versions = named(done.value.versions, '.avif')
  const shapeVersions = Object.entries(done.value.shapes).map(
    ([name, shape]) => [name, named([...shape.variants, shape.main], '.avif')] as const,
  )
  const display = doc.originalFilename || 'image'
  const all = [...versions, ...shapeVersions.flatMap(([, list]) => list)]
  const objects = all.map((v) => ({
    body: v.data,
    cacheControl: delivery.cacheControl,
    contentDisposition: contentDisposition(display, '.avif'),
    contentType: 'image/avif',
    key: objectKey(prefix, v.filename),
  }))
  const { intent, keys } = await storeObjects(payload, collection.slug, runtime.store, objects)
  const session: UploadSession = {
    addsVersions: true,
    collection: collection.slug,
    internal: true,
    data: {
      avif: listed(versions),
      objectKeys: [...(doc.objectKeys ?? []), ...keys],
      shapes: withShapeAvif(doc.shapes, new Map(shapeVersions.map(([n, l]) => [n, listed(l)]))),
    },
    expectFilename: input.filename,
    intent: intent.id,
    keys,
    recordBy: intent.recordBy,
  }
  try {
    await payload.update({
      collection: collection.slug,
      context: sessionContext(session),
      data: {},
      depth: 0,
      id: input.id,
      overrideAccess: true,
    })
  } catch (error) {
    await abandonUpload(payload, intent.id)
    nudgeCleanup(payload)
    if (error instanceof NotFound) return { status: 'gone' }
    if (error instanceof ImageUploadError && error.code === 'UPLOAD_CONFLICT')
      return { status: 'superseded' }
    throw error
  }
  return { status: 'done' }
}

/** The stored shapes (without the URLs reading added), each with its AVIF versions. */
const withShapeAvif = (
  shapes: Doc['shapes'],
  avif: Map<string, Version[]>,
): Record<string, Shape> => {
  const plain = ({ filename, filesize, height, width }: Version): Version => ({
    filename,
    filesize,
    height,
    width,
  })
  return Object.fromEntries(
    Object.entries(shapes ?? {}).map(([name, shape]) => [
      name,
      {
        ...plain(shape),
        variants: (shape.variants ?? []).map(plain),
        ...(avif.has(name) ? { avif: avif.get(name) } : {}),
      },
    ]),
  )
}

/** The jobs-queue task, registered by the plugin. */
export const avifTask = (runtime: Runtime) => ({
  slug: AVIF_TASK,
  handler: async ({
    input,
    job,
    req,
  }: {
    input: unknown
    job?: ClaimedJob
    req: PayloadRequest
  }) => {
    if (!(await takeJob(req.payload, job))) return { output: { status: 'claimed-elsewhere' } }
    const stopHolding = keepHeld(req.payload, job)
    try {
      const result = await runAvifJob(req.payload, runtime, input as AvifInput)
      await stopHolding()
      return { output: { status: result.status } }
    } catch (error) {
      await stopHolding()
      await letGo(req.payload, job)
      throw error
    }
  },
  inputSchema: [
    { name: 'collection', type: 'text' as const, required: true },
    { name: 'id', type: 'text' as const, required: true },
    { name: 'filename', type: 'text' as const, required: true },
  ],
  outputSchema: [{ name: 'status', type: 'text' as const }],
  retries: RETRIES,
})

type JobsState = { again: boolean; running?: Promise<unknown>; stopped: boolean }
const states = new WeakMap<Payload, JobsState>()
const stateOf = (payload: Payload): JobsState => {
  let state = states.get(payload)
  if (!state) states.set(payload, (state = { again: false, stopped: false }))
  return state
}

/**
 * Runs the image queue's pending jobs in this process now (after a commit that queued one), unless
 * a run is already going; a run requested meanwhile starts when it ends. Used only when
 * `processing.runJobs` is on; otherwise dedicated workers run `payload jobs:run --queue image-assets`.
 */
export const runImageJobsSoon = (payload: Payload, limit: number): void => {
  const state = stateOf(payload)
  if (state.stopped) return
  if (state.running) {
    state.again = true
    return
  }
  state.running = payload.jobs
    .run({ limit, queue: IMAGE_QUEUE })
    .catch((error: unknown) =>
      payload.logger.error({ err: error, msg: 'payload-image-assets: running image jobs failed' }),
    )
    .finally(() => {
      state.running = undefined
      if (state.again) {
        state.again = false
        runImageJobsSoon(payload, limit)
      }
    })
}

/**
 * In every process that boots Payload with `processing.runJobs` on: the image queue is also looked
 * at every `intervalMs`, for jobs queued by another process or left by one that stopped, and for
 * retries. `payload.destroy()` stops it and waits for a run in progress.
 */
export const startImageJobs = (payload: Payload, intervalMs: number, limit: number): void => {
  const state = stateOf(payload)
  const timer = setInterval(() => runImageJobsSoon(payload, limit), intervalMs)
  timer.unref()
  const destroy = payload.destroy.bind(payload)
  payload.destroy = async () => {
    state.stopped = true
    clearInterval(timer)
    await state.running
    return destroy()
  }
}
