/**
 * `signed` delivery with a real signing window (MEDIA_SIGNED_URL_WINDOW): a URL is signed at the
 * start of the window it is read in, so every read in one window gets the same URL (browsers and
 * CDNs can cache it) and it still works for at least `expires - window` seconds; a read in the next
 * window gets a new URL. Each URL works against the private bucket until it expires, and not after.
 *
 * The window is short (4 s) so that the test can wait for real window boundaries: the signing and
 * the S3 server's expiry check both use the real clock.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { gradientJPEG } from '../helpers/images'
import { fetchUntilRefused, signatureOf } from '../helpers/signed'

const EXPIRES_IN = 8
const WINDOW = 4
const WINDOW_MS = WINDOW * 1000

/** The number of the signing window `time` falls in. */
const windowOf = (time: number) => Math.floor(time / WINDOW_MS)

let app: TestApp

beforeAll(async () => {
  app = await startTestApp(
    {
      MEDIA_DELIVERY: 'signed',
      MEDIA_SIGNED_URL_EXPIRES_IN: String(EXPIRES_IN),
      MEDIA_SIGNED_URL_WINDOW: String(WINDOW),
    },
    { privateBucket: true },
  )
})

afterAll(async () => {
  await app?.stop()
})

it('reads within one window get the same URL with at least expires - window left; the next window gets a new one; each works until it expires', async () => {
  const { body, status } = await uploadREST(app, 'product-images', {
    data: await gradientJPEG(1600, 1200, [0, 0, 0], [255, 255, 255]),
    name: 'lamp.jpg',
  })
  expect(status).toBe(201)
  const id = body.doc.id as number
  /** The document's URLs as a client reads them (REST), with when the read began and ended. */
  const read = async () => {
    const before = Date.now()
    const response = await fetch(`${app.baseURL}/api/product-images/${id}`, {
      headers: { Authorization: `JWT ${app.token}` },
    })
    const doc = (await response.json()) as { srcSet: string; url: string }
    expect(response.status).toBe(200)
    return { after: Date.now(), before, srcSet: doc.srcSet, url: doc.url }
  }

  // Begin early in a window, so that three reads fit in it even on a slow machine.
  await vi.waitFor(() => expect(Date.now() % WINDOW_MS).toBeLessThan(WINDOW_MS / 4), {
    interval: 20,
    timeout: WINDOW_MS + 2_000,
  })
  const first = await read()
  const second = await read()
  const local = await app.payload.findByID({ collection: 'product-images', depth: 0, id })
  const end = Date.now()
  expect(windowOf(end), 'the reads took less than one window').toBe(windowOf(first.before))

  // One window, one URL: for the document and its variants, through REST and the Local API.
  expect(second.url).toBe(first.url)
  expect(second.srcSet).toBe(first.srcSet)
  expect(local.url).toBe(first.url)
  // Signed at the start of the window, for EXPIRES_IN seconds: at least expires - window left.
  const signed = signatureOf(first.url)
  expect(signed.expiresIn).toBe(EXPIRES_IN)
  expect(signed.signedAt).toBe(windowOf(first.before) * WINDOW_MS)
  expect(signed.expiresAt - end).toBeGreaterThanOrEqual((EXPIRES_IN - WINDOW) * 1000)
  const ok = await fetch(first.url)
  expect(ok.status).toBe(200)
  expect(ok.headers.get('content-type')).toBe('image/webp')
  expect((await ok.arrayBuffer()).byteLength).toBe(body.doc.filesize)

  // The window moves on: a new URL, signed at the new window's start; both work meanwhile.
  await vi.waitFor(() => expect(windowOf(Date.now())).toBeGreaterThan(windowOf(first.before)), {
    interval: 20,
    timeout: WINDOW_MS + 2_000,
  })
  const next = await read()
  expect(windowOf(next.after), 'the read took less than one window').toBe(windowOf(next.before))
  expect(next.url).not.toBe(first.url)
  expect(next.srcSet).not.toBe(first.srcSet)
  const renewed = signatureOf(next.url)
  expect(renewed.signedAt).toBe(windowOf(next.before) * WINDOW_MS)
  expect(renewed.signedAt).toBeGreaterThan(signed.signedAt)
  expect(renewed.expiresIn).toBe(EXPIRES_IN)
  for (const url of [first.url, next.url]) {
    const response = await fetch(url)
    expect(response.status, url).toBe(200)
    await response.arrayBuffer()
  }

  // The first URL works until it expires, and not after: the S3 server's clock decides.
  const { refused, worked } = await fetchUntilRefused(first.url, {
    deadline: signed.expiresAt + 10_000,
  })
  for (const answer of worked) expect(answer.before).toBeLessThanOrEqual(signed.expiresAt)
  expect(refused.status).toBe(403)
  expect(refused.body).toContain('Request has expired')
  expect(refused.after).toBeGreaterThan(signed.expiresAt)
  // The next window's URL outlives it: it was signed later.
  expect(renewed.expiresAt).toBeGreaterThan(refused.after)
  expect((await fetch(next.url)).status).toBe(200)
})
