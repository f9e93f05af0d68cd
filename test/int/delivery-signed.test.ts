/**
 * `signed` delivery from a private bucket (the S3 server refuses unsigned requests for it), with no
 * signing window (MEDIA_SIGNED_URL_WINDOW=0: each read signs its URL then): documents carry
 * presigned URLs that work, and stop working once they expire; an unsigned GET of the same object
 * is refused. delivery-signed-window.test.ts covers a real window.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { gradientJPEG } from '../helpers/images'
import { fetchUntilRefused, signatureOf } from '../helpers/signed'

const EXPIRES_IN = 4

let app: TestApp

beforeAll(async () => {
  app = await startTestApp(
    {
      MEDIA_DELIVERY: 'signed',
      MEDIA_SIGNED_URL_EXPIRES_IN: String(EXPIRES_IN),
      MEDIA_SIGNED_URL_WINDOW: '0',
    },
    { privateBucket: true },
  )
})

afterAll(async () => {
  await app?.stop()
})

it('presigned URLs work until they expire; an unsigned GET is refused; objects are cached privately', async () => {
  const data = await gradientJPEG(1600, 1200, [0, 0, 0], [255, 255, 255])
  const uploading = Date.now()
  const { body, status } = await uploadREST(app, 'product-images', { data, name: 'lamp.jpg' })
  const answered = Date.now()
  expect(status).toBe(201)
  const key = `product-images/${body.doc.filename}`
  const unsigned = `${app.s3Endpoint}/${app.bucket}/${key}`
  const signed = new URL(body.doc.url)
  expect(`${signed.origin}${signed.pathname}`).toBe(unsigned)
  expect(signed.searchParams.get('X-Amz-Expires')).toBe(String(EXPIRES_IN))
  // With no window, the URL is signed when it is read (X-Amz-Date is to the second).
  const { signedAt } = signatureOf(body.doc.url)
  expect(signedAt).toBeGreaterThanOrEqual(Math.floor(uploading / 1000) * 1000)
  expect(signedAt).toBeLessThanOrEqual(answered)

  const ok = await fetch(body.doc.url)
  expect(ok.status).toBe(200)
  expect(ok.headers.get('content-type')).toBe('image/webp')
  expect(ok.headers.get('cache-control')).toBe(`private, max-age=${EXPIRES_IN}, immutable`)
  expect((await ok.arrayBuffer()).byteLength).toBe(body.doc.filesize)
  for (const variant of body.doc.variants) expect((await fetch(variant.url)).status).toBe(200)
  expect(body.doc.srcSet).toContain('X-Amz-Signature=')

  const anonymous = await fetch(unsigned)
  expect(anonymous.status).toBe(403)
  expect(await anonymous.text()).toContain('AccessDenied')

  // The same document read through GraphQL and the Local API carries a URL for the same object.
  const local = await app.payload.findByID({ collection: 'product-images', id: body.doc.id })
  expect(new URL(local.url!).pathname).toBe(signed.pathname)

  // It works until it expires, and not after: the S3 server's own clock decides.
  const { expiresAt } = signatureOf(body.doc.url)
  const { refused, worked } = await fetchUntilRefused(body.doc.url, {
    deadline: expiresAt + 10_000,
  })
  for (const answer of worked) expect(answer.before).toBeLessThanOrEqual(expiresAt)
  expect(refused.status).toBe(403)
  expect(refused.body).toContain('Request has expired')
  expect(refused.after).toBeGreaterThan(expiresAt)
  // A fresh read signs a fresh URL that works again.
  const again = await app.payload.findByID({ collection: 'product-images', id: body.doc.id })
  expect((await fetch(again.url!)).status).toBe(200)
})
