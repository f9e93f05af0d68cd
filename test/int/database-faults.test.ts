/**
 * The database failing: refusing the insert, and down altogether. No object may be left in the
 * bucket, the answer is a clear 5xx, and the server answers again once the database is back.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { inject } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { startTCPProxy } from '../helpers/faultyProxy'
import { cleanupRunnerOf, cleanupTiming } from 'payload-image-assets/internal'
import { gradientJPEG } from '../helpers/images'

let photo: Buffer

beforeAll(async () => {
  photo = await gradientJPEG(2000, 1500, [10, 90, 160], [250, 220, 120])
})

describe('the database failing', () => {
  let app: TestApp
  let db: Awaited<ReturnType<typeof startTCPProxy>>

  beforeAll(async () => {
    const admin = new URL(inject('pgAdminURI'))
    db = await startTCPProxy(admin.hostname, Number(admin.port || 5432))
    app = await startTestApp(
      {},
      {
        routeDatabase: (direct) => {
          const routed = new URL(direct)
          routed.hostname = '127.0.0.1'
          routed.port = String(db.port)
          routed.search = ''
          return routed
        },
      },
    )
  })
  afterAll(async () => {
    await app?.stop()
    await db?.stop()
  })

  const mediaRows = async () =>
    (await app.sql<{ id: number }>('select id from media order by id')).map((r) => r.id)

  it('the database refusing the insert: a clear 500, no row and no object', async () => {
    await app.sql(
      `create function refuse_insert() returns trigger language plpgsql as $$ begin raise exception 'refused by test'; end $$`,
    )
    await app.sql(
      'create trigger refuse before insert on media for each row execute function refuse_insert()',
    )
    try {
      const rowsBefore = await mediaRows()
      const keysBefore = await app.listKeys()
      const { body, status } = await uploadREST(app, 'media', { data: photo, name: 'x.jpg' })
      expect(status).toBe(500)
      expect(body.errors[0].message).toBe(
        "The database refused to save the change, so nothing was saved. Try again; if it keeps happening, tell the site's administrator.",
      )
      expect(JSON.stringify(body)).not.toMatch(/refused by test|node_modules|at .*\.js:\d+/)
      expect(await mediaRows()).toEqual(rowsBefore)
      // The objects were stored before the record step; the app's clean-up removes them right after.
      await vi.waitFor(async () => expect(await app.listKeys()).toEqual(keysBefore), {
        interval: 100,
        timeout: 15_000,
      })
    } finally {
      await app.sql('drop trigger refuse on media')
      await app.sql('drop function refuse_insert()')
    }
  })

  it('the database down: 503 with a clear message, no object, and the server answers again once it is back', async () => {
    const rowsBefore = await mediaRows()
    const keysBefore = await app.listKeys()
    db.down()
    try {
      const { body, headers, status } = await uploadREST(app, 'media', {
        data: photo,
        name: 'x.jpg',
      })
      expect(status).toBe(503)
      expect(headers.get('retry-after')).toBe('5')
      expect(body.errors[0].message).toBe(
        'The database is unavailable, so nothing was saved. Try again in a moment.',
      )
      expect(JSON.stringify(body)).not.toMatch(/ECONN|node_modules|127\.0\.0\.1/)
      expect(await app.listKeys()).toEqual(keysBefore)
    } finally {
      db.up()
    }
    const again = await uploadREST(app, 'media', { data: photo, name: 'x.jpg' })
    expect(again.status).toBe(201)
    expect(await mediaRows()).toEqual([...rowsBefore, again.body.doc.id])
  })

  it('the database answering nothing: the clean-up pass gives up at its step deadline instead of waiting for ever, and runs again once it answers', async () => {
    const runner = cleanupRunnerOf(app.payload)!
    const saved = { ...cleanupTiming }
    cleanupTiming.stepDeadlineMs = 1_000
    db.stall()
    try {
      const started = Date.now()
      await expect(runner.runOnce()).rejects.toThrow(
        'claiming due clean-up rows did not finish within 1 s',
      )
      expect(Date.now() - started).toBeLessThan(10_000)
      // The stalled step still holds its connection: no new pass starts meanwhile.
      expect((runner as unknown as { stuck?: Promise<void> }).stuck).toBeDefined()
    } finally {
      db.flow()
      Object.assign(cleanupTiming, saved)
    }
    // Once the database answers, the stalled step ends and passes run again.
    await vi.waitFor(
      () => expect((runner as unknown as { stuck?: Promise<void> }).stuck).toBeUndefined(),
      { interval: 100, timeout: 10_000 },
    )
    await expect(runner.runOnce()).resolves.toMatchObject({ failed: 0 })
  })
})
