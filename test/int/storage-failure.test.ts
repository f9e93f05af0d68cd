/**
 * S3 down: the app is pointed at an endpoint where nothing listens. An upload must fail with a
 * clear 503 on the file field, the row must be rolled back, and the server must keep answering.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'

import { freePort } from '../../src/dev/services'
import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { gradientJPEG } from '../helpers/images'

let app: TestApp

beforeAll(async () => {
  app = await startTestApp({ S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` })
})

afterAll(async () => {
  await app?.stop()
})

it('S3 down: 503 with a clear message, no row, and the server still answers', async () => {
  const { body, status } = await uploadREST(app, 'media', { data: await gradientJPEG(800, 600, [0, 0, 0], [250, 250, 250]), name: 'x.jpg' })
  expect(status).toBe(503)
  const message = 'The image could not be stored: the storage service did not accept it. Nothing was saved to Media; try again in a moment.'
  expect(body.errors[0].message).toBe(message)
  expect(body.errors[0].data.errors).toEqual([{ message, path: 'file' }])
  expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|node_modules|127\.0\.0\.1/)
  expect(await app.sql('select id from media')).toEqual([])
  const list = await fetch(`${app.baseURL}/api/media`)
  expect(list.status).toBe(200)
})
