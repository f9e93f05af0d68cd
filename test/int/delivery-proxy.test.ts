/**
 * `proxy` delivery (Payload's own behaviour, the slow path): the document's URL is the app's file
 * route, and the app streams the object from the bucket.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { gradientJPEG } from '../helpers/images'

let app: TestApp

beforeAll(async () => {
  app = await startTestApp({ MEDIA_DELIVERY: 'proxy' })
})

afterAll(async () => {
  await app?.stop()
})

it('the URL is the app file route and the app streams the stored WebP', async () => {
  const { body, status } = await uploadREST(app, 'category-images', {
    data: await gradientJPEG(900, 900, [0, 0, 0], [255, 255, 255]),
    name: 'cat.jpg',
  })
  expect(status).toBe(201)
  expect(body.doc.url).toBe(`/api/category-images/file/${body.doc.filename}?prefix=category-images`)
  expect(body.doc.srcSet).toBeNull()
  const streamed = await fetch(`${app.baseURL}${body.doc.url}`)
  expect(streamed.status).toBe(200)
  expect(streamed.headers.get('content-type')).toBe('image/webp')
  expect((await streamed.arrayBuffer()).byteLength).toBe(body.doc.filesize)
  expect(app.requests).toContain(body.doc.url)
  // An unknown name under the route is not found.
  expect((await fetch(`${app.baseURL}/api/category-images/file/nothing.webp`)).status).toBe(404)
})
