/** S3 down: an upload fails with a clear 503, no row is left, and the server keeps answering. */
import { beforeAll, expect, it } from 'vitest'

import { freePort } from '../../src/dev/services'
import { startTestApp, uploadREST } from '../helpers/app'
import { gradientJPEG } from '../helpers/images'

const STORAGE_FAILED =
  'The image could not be stored because the storage service did not accept it. Nothing was saved to Product Images; try again in a moment.'

let photo: Buffer

beforeAll(async () => {
  photo = await gradientJPEG(2000, 1500, [10, 90, 160], [250, 220, 120])
})

it('S3 down: 503 with a clear message, no row, and the server still answers', async () => {
  const app = await startTestApp({ S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` })
  try {
    const { body, status } = await uploadREST(app, 'product-images', { data: photo, name: 'x.jpg' })
    expect(status).toBe(503)
    expect(body.errors[0].message).toBe(STORAGE_FAILED)
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|node_modules|127\.0\.0\.1/)
    expect(await app.sql('select id from product_images')).toEqual([])
    expect((await fetch(`${app.baseURL}/api/product-images`)).status).toBe(200)
  } finally {
    await app.stop()
  }
})
