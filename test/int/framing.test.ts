/**
 * Editors in control: the focal point steers the shapes, a crop shapes everything, both can be
 * changed later without a new upload (REST data, the admin's `uploadEdits`, GraphQL, Local API),
 * and `requireAlt` refuses images without alt text on every entry point.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3'
import {
  prepareImage,
  reoptimizeDocument,
  type Runtime,
  runtimeOf,
  sessionContext,
} from 'payload-image-assets'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { drain, settledBucket, until } from '../helpers/imageJobs'
import { redShare, sidewaysJPEGWithGPS, subjectPhoto } from '../helpers/images'

let app: TestApp

beforeAll(async () => {
  app = await startTestApp({ IMAGE_REQUIRE_ALT: 'true' })
})

afterAll(async () => {
  await app?.stop()
})

type Version = { filename: string; height: number; url: string; width: number }
type Shape = Version & { avif?: Version[]; srcSet: null | string; variants: Version[] }
type Doc = Version & {
  alt: null | string
  crop: null | { height: number; width: number; x: number; y: number }
  focalX: number
  focalY: number
  id: number
  objectKeys: string[]
  shapes: Record<string, Shape>
  variants: Version[]
}

const fetchBytes = async (url: string): Promise<Buffer> => {
  const response = await fetch(url)
  expect(response.status, url).toBe(200)
  return Buffer.from(await response.arrayBuffer())
}

const objectExists = async (key: string) =>
  app.s3
    .send(new GetObjectCommand({ Bucket: app.bucket, Key: key }))
    .then(() => true)
    .catch(() => false)

const patch = async (
  slug: string,
  id: number,
  data: Record<string, unknown>,
  query = '',
): Promise<{ body: any; status: number }> => {
  const response = await fetch(`${app.baseURL}/api/${slug}/${id}${query}`, {
    body: JSON.stringify(data),
    headers: { Authorization: `JWT ${app.token}`, 'Content-Type': 'application/json' },
    method: 'PATCH',
  })
  return { body: await response.json(), status: response.status }
}

const graphql = async (query: string) => {
  const response = await fetch(`${app.baseURL}/api/graphql`, {
    body: JSON.stringify({ query }),
    headers: { Authorization: `JWT ${app.token}`, 'Content-Type': 'application/json' },
    method: 'POST',
  })
  return (await response.json()) as { data?: any; errors?: Array<{ message: string }> }
}

/** The keys of a document's square shape and main image: what must go once they are replaced. */
const keysOf = (slug: string, doc: Doc, shape: string) => [
  `${slug}/${doc.filename}`,
  `${slug}/${doc.shapes[shape].filename}`,
]

const upload = async (slug: string, image: Buffer, data: Record<string, unknown>) => {
  const { body, status } = await uploadREST(
    app,
    slug,
    { data: image, name: 'ball.jpg', type: 'image/jpeg' },
    data,
  )
  expect(status, JSON.stringify(body)).toBe(201)
  return body.doc as Doc
}

describe('focal point and shapes', () => {
  it('the square is cut around the focal point; moving it re-renders the square and cleans up the old objects', async () => {
    const doc = await upload('product-images', await subjectPhoto(15), {
      alt: 'A red ball',
      focalX: 15,
      focalY: 50,
    })
    expect([doc.focalX, doc.focalY]).toEqual([15, 50])
    const square = doc.shapes.square
    expect([square.width, square.height]).toEqual([576, 576]) // the main image is 1024 x 576
    expect(doc.variants.length).toBeGreaterThan(0)
    expect(square.variants.map((v) => [v.width, v.height])).toEqual([[300, 300]])
    expect(square.srcSet).toContain(' 300w')
    const before = await redShare(await fetchBytes(square.url))
    expect(before).toBeGreaterThan(0.08)

    const moved = await patch('product-images', doc.id, { focalX: 85 })
    expect(moved.status, JSON.stringify(moved.body)).toBe(200)
    const after = moved.body.doc as Doc
    expect([after.focalX, after.focalY]).toEqual([85, 50])
    expect(after.shapes.square.filename).not.toBe(square.filename)
    expect(after.filename).not.toBe(doc.filename)
    expect(await redShare(await fetchBytes(after.shapes.square.url))).toBeLessThan(0.005)
    // The main image does not depend on the focal point: same pixels, new key.
    expect([after.width, after.height]).toEqual([doc.width, doc.height])

    // The replaced objects go to the clean-up after the commit; the new ones stay.
    await until('the old square and main image to be deleted', async () => {
      const left = await Promise.all(keysOf('product-images', doc, 'square').map(objectExists))
      return left.some(Boolean) ? undefined : true
    })
    for (const key of after.objectKeys) expect(await objectExists(key), key).toBe(true)
  })

  it("the admin's crop and focal-point drawer (uploadEdits) re-renders, and the echoed old values are ignored", async () => {
    const doc = await upload('product-images', await subjectPhoto(80), {
      alt: 'A red ball',
      focalX: 20,
    })
    expect(await redShare(await fetchBytes(doc.shapes.square.url))).toBeLessThan(0.005)
    // What Payload's admin sends: the form's fields (the old focal point and crop among them) and
    // the drawer's edits in the query, relative to the picture shown (the main image).
    const query =
      '?uploadEdits[crop][x]=0&uploadEdits[crop][y]=0&uploadEdits[crop][width]=100&uploadEdits[crop][height]=100&uploadEdits[crop][unit]=%25' +
      '&uploadEdits[focalPoint][x]=80&uploadEdits[focalPoint][y]=50&uploadEdits[heightInPixels]=576&uploadEdits[widthInPixels]=1024'
    const edited = await patch(
      'product-images',
      doc.id,
      { alt: 'A red ball', crop: doc.crop, focalX: doc.focalX, focalY: doc.focalY },
      query,
    )
    expect(edited.status, JSON.stringify(edited.body)).toBe(200)
    const after = edited.body.doc as Doc
    expect([after.focalX, after.focalY]).toEqual([80, 50])
    expect(after.crop).toBeNull()
    expect(await redShare(await fetchBytes(after.shapes.square.url))).toBeGreaterThan(0.08)

    // Saving again with the same values (an alt text change) makes no new files.
    const same = await patch('product-images', doc.id, {
      alt: 'A red ball on grey',
      crop: after.crop,
      focalX: after.focalX,
      focalY: after.focalY,
    })
    expect(same.status).toBe(200)
    expect(same.body.doc.filename).toBe(after.filename)
    expect(same.body.doc.alt).toBe('A red ball on grey')
  })

  it('GraphQL and the Local API move the focal point through the same path', async () => {
    const doc = await upload('product-images', await subjectPhoto(15), { alt: 'Ball', focalX: 85 })
    const moved = await graphql(
      `mutation { updateProductImage(id: ${doc.id}, data: { focalX: 15, focalY: 50 }) { focalX shapes } }`,
    )
    expect(moved.errors).toBeUndefined()
    expect(moved.data.updateProductImage.focalX).toBe(15)
    const viaGraphQL = moved.data.updateProductImage.shapes.square as Shape
    expect(await redShare(await fetchBytes(viaGraphQL.url))).toBeGreaterThan(0.08)

    const local = (await app.payload.update({
      collection: 'product-images',
      data: { focalX: 85 },
      id: doc.id,
    })) as unknown as Doc
    expect(local.shapes.square.filename).not.toBe(viaGraphQL.filename)
    expect(await redShare(await fetchBytes(local.shapes.square.url))).toBeLessThan(0.005)
  })

  it('an anonymous GraphQL focal-point change is refused before any image work', async () => {
    const doc = await upload('product-images', await subjectPhoto(15), { alt: 'Ball', focalX: 15 })
    // Earlier tests' replaced objects are deleted by the app's clean-up in its own time: wait for
    // it, so that only this request could change the bucket.
    await settledBucket(app)
    const keysBefore = (await app.listKeys('product-images/')).sort()
    const response = await fetch(`${app.baseURL}/api/graphql`, {
      body: JSON.stringify({
        query: `mutation { updateProductImage(id: ${doc.id}, data: { focalX: 85 }) { id } }`,
      }),
      headers: { 'Content-Type': 'application/json' },
      method: 'POST',
    })
    const body = (await response.json()) as {
      errors?: Array<{ extensions?: { statusCode?: number } }>
    }
    expect(body.errors?.[0]?.extensions?.statusCode).toBeGreaterThanOrEqual(401)
    expect(body.errors?.[0]?.extensions?.statusCode).toBeLessThanOrEqual(403)
    expect((await app.listKeys('product-images/')).sort()).toEqual(keysBefore)
    const stored = (await app.payload.findByID({
      collection: 'product-images',
      id: doc.id,
    })) as unknown as Doc
    expect([stored.filename, stored.focalX]).toEqual([doc.filename, 15])
  })

  it('a focal point outside the image or a crop outside it is refused with a clear 400, and nothing changes', async () => {
    const doc = await upload('product-images', await subjectPhoto(50), { alt: 'Ball' })
    const badFocal = await patch('product-images', doc.id, { focalX: 140 })
    expect(badFocal.status).toBe(400)
    expect(badFocal.body.errors[0].message).toMatch(/focalX and focalY .* from 0 to 100/)
    const badCrop = await patch('product-images', doc.id, {
      crop: { height: 50, width: 80, x: 40, y: 0 },
    })
    expect(badCrop.status).toBe(400)
    expect(badCrop.body.errors[0].message).toMatch(/crop is not a rectangle inside the image/)
    const stored = (await app.payload.findByID({
      collection: 'product-images',
      id: doc.id,
    })) as unknown as Doc
    expect(stored.filename).toBe(doc.filename)
  })
})

describe('crop', () => {
  it('a crop changes the main image, its variants and its shapes alike, from the kept original', async () => {
    const doc = await upload('product-images', await subjectPhoto(15), { alt: 'Ball' })
    // The left half: 800 x 900 of the original, fitted inside 1024 x 840.
    const cropped = await patch('product-images', doc.id, {
      crop: { height: 100, width: 50, x: 0, y: 0 },
      focalX: 30,
    })
    expect(cropped.status, JSON.stringify(cropped.body)).toBe(200)
    const after = cropped.body.doc as Doc
    expect(after.crop).toEqual({ height: 100, width: 50, x: 0, y: 0 })
    expect([after.width, after.height]).toEqual([747, 840])
    for (const variant of after.variants) {
      expect(Math.abs(variant.width / variant.height - 747 / 840)).toBeLessThan(0.01)
      expect(variant.width).toBeLessThan(747)
    }
    // The ball (at 15% of the original) is at 30% of the cropped picture, and fills more of it.
    const main = await fetchBytes(after.url)
    expect(await redShare(main)).toBeGreaterThan(0.1)
    const { info } = await sharp(main).raw().toBuffer({ resolveWithObject: true })
    expect([info.width, info.height]).toEqual([747, 840])
    const square = after.shapes.square
    expect([square.width, square.height]).toEqual([600, 600])
    expect(await redShare(await fetchBytes(square.url))).toBeGreaterThan(0.1)

    // Undoing the crop (null) goes back to the whole original: possible because it is kept.
    const whole = await patch('product-images', doc.id, { crop: null })
    expect(whole.status).toBe(200)
    expect([whole.body.doc.width, whole.body.doc.height]).toEqual([1024, 576])
  })

  it('re-optimizing keeps the crop and the focal point', async () => {
    const doc = await upload('product-images', await subjectPhoto(15), {
      alt: 'Ball',
      crop: { height: 100, width: 50, x: 0, y: 0 },
      focalX: 30,
    })
    // The collection's settings change (a smaller box): the document is stale.
    const live = runtimeOf(app.payload)
    const smaller: Runtime = {
      ...live,
      collections: live.collections.map((c) =>
        c.slug === 'product-images'
          ? { ...c, preset: { ...c.preset, height: 600, width: 600 } }
          : c,
      ),
    }
    const result = await reoptimizeDocument(app.payload, smaller, 'product-images', doc.id)
    expect(result.status).toBe('reoptimized')
    const after = (await app.payload.findByID({
      collection: 'product-images',
      id: doc.id,
    })) as unknown as Doc
    expect(after.filename).not.toBe(doc.filename)
    expect(after.crop).toEqual(doc.crop)
    expect([after.focalX, after.focalY]).toEqual([30, 50])
    // The left half of the original (800 x 900) fitted inside 600 x 600, with the ball in its square.
    expect([after.width, after.height]).toEqual([533, 600])
    expect(await redShare(await fetchBytes(after.shapes.square.url))).toBeGreaterThan(0.1)
  })

  it('an EXIF-rotated photo is cropped upright', async () => {
    // Stored 400 x 200 sideways (left red, right blue); shown upright it is 200 x 400, red on top.
    const doc = await upload('product-images', await sidewaysJPEGWithGPS(), {
      alt: 'Red over blue',
      crop: { height: 50, width: 100, x: 0, y: 0 },
    })
    expect([doc.width, doc.height]).toEqual([200, 200])
    const main = await fetchBytes(doc.url)
    expect(await redShare(main)).toBeGreaterThan(0.95)
  })

  it('without a kept original, a focal point or crop is applied to the stored WebP; widening it is refused', async () => {
    const doc = await upload('media', await subjectPhoto(15), { alt: 'Ball', focalX: 15 })
    expect([doc.shapes.social.width, doc.shapes.social.height]).toEqual([1200, 630])
    // One size, no variants: no srcSet of its own.
    expect(doc.shapes.social.srcSet).toBeNull()
    expect(await redShare(await fetchBytes(doc.shapes.social.url))).toBeGreaterThan(0.05)
    const moved = await patch('media', doc.id, { focalX: 90 })
    expect(moved.status, JSON.stringify(moved.body)).toBe(200)
    expect(moved.body.doc.shapes.social.filename).not.toBe(doc.shapes.social.filename)

    const narrowed = await patch('media', doc.id, { crop: { height: 100, width: 50, x: 50, y: 0 } })
    expect(narrowed.status, JSON.stringify(narrowed.body)).toBe(200)
    expect(narrowed.body.doc.width).toBe(800) // the right half of the stored 1600 x 900 WebP
    expect(await redShare(await fetchBytes(narrowed.body.doc.url))).toBeLessThan(0.005)

    const widened = await patch('media', doc.id, { crop: null })
    expect(widened.status).toBe(400)
    expect(widened.body.errors[0].message).toMatch(/keeps no original/)
  })
})

describe('requireAlt', () => {
  const ALT_MESSAGE = /Alt text is required for Product Images/

  it('REST: a create without alt text is refused on the alt field, before any image work, leaving nothing', async () => {
    const keysBefore = (await app.listKeys('product-images/')).sort()
    const cleanupRows = () => app.sql(`select count(*)::int as n from image_asset_cleanup`)
    const rowsBefore = (await cleanupRows())[0].n
    const { body, status } = await uploadREST(
      app,
      'product-images',
      { data: await subjectPhoto(50), name: 'ball.jpg', type: 'image/jpeg' },
      { alt: '   ' },
    )
    expect(status).toBe(400)
    expect(body.errors[0].data.errors[0]).toMatchObject({ path: 'alt' })
    expect(body.errors[0].data.errors[0].message).toMatch(ALT_MESSAGE)
    expect((await app.listKeys('product-images/')).sort()).toEqual(keysBefore)
    // No upload was recorded for clean-up: the image was never processed or stored.
    expect((await cleanupRows())[0].n).toBe(rowsBefore)
  })

  it('alt text of only invisible characters (zero-width space, joiners, fillers) counts as missing', async () => {
    const photo = await subjectPhoto(50)
    const post = (alt: string) =>
      uploadREST(
        app,
        'product-images',
        { data: photo, name: 'ball.jpg', type: 'image/jpeg' },
        { alt },
      )
    const rows = (await app.payload.count({ collection: 'product-images' })).totalDocs
    for (const alt of ['\u200b', '\u200d\u2060', '\u00a0\u3164', '\u202e ']) {
      const { body, status } = await post(alt)
      expect(status, JSON.stringify(alt)).toBe(400)
      expect(body.errors[0].data.errors[0]).toMatchObject({
        message: expect.stringMatching(ALT_MESSAGE),
        path: 'alt',
      })
    }
    expect((await app.payload.count({ collection: 'product-images' })).totalDocs).toBe(rows)
    // Visible text with a zero-width character in it is alt text.
    expect((await post('Oak\u200bchair')).status).toBe(201)
  })

  it('REST, GraphQL and the Local API refuse an update that leaves alt empty', async () => {
    const doc = await upload('product-images', await subjectPhoto(50), { alt: 'Ball' })
    const rest = await patch('product-images', doc.id, { alt: '' })
    expect(rest.status).toBe(400)
    expect(JSON.stringify(rest.body)).toMatch(ALT_MESSAGE)

    const gql = await graphql(
      `mutation { updateProductImage(id: ${doc.id}, data: { alt: "" }) { id } }`,
    )
    expect(gql.errors?.[0]?.message ?? '').toMatch(/alt|invalid/i)
    expect(JSON.stringify(gql.errors)).toMatch(ALT_MESSAGE)

    await expect(
      app.payload.update({
        collection: 'product-images',
        data: { alt: null },
        id: doc.id,
        overrideAccess: false,
        user: (await app.payload.find({ collection: 'users', limit: 1 })).docs[0],
      }),
    ).rejects.toThrow(/alt/i)
    // Even with overrideAccess: validation is not access.
    await expect(
      app.payload.update({ collection: 'product-images', data: { alt: '' }, id: doc.id }),
    ).rejects.toThrow()
    const stored = await app.payload.findByID({ collection: 'product-images', id: doc.id })
    expect(stored.alt).toBe('Ball')
  })

  it('the Local API refuses a prepared image without alt text, and the prepared objects go to the clean-up', async () => {
    const session = await prepareImage(app.payload, 'media', {
      data: await subjectPhoto(50),
      name: 'ball.jpg',
    })
    await expect(
      app.payload.create({ collection: 'media', context: sessionContext(session), data: {} }),
    ).rejects.toMatchObject({
      data: {
        errors: [{ message: expect.stringMatching(/Alt text is required for Media/), path: 'alt' }],
      },
    })
    const rows = await app.sql<{ n: number }>(
      `select count(*)::int as n from media where filename = $1`,
      [session.data.filename],
    )
    expect(rows[0].n).toBe(0)
  })

  it('documents saved before it was switched on stay readable, are counted, and still get their AVIF versions', async () => {
    const doc = await upload('product-images', await subjectPhoto(50), { alt: 'Ball' })
    await app.sql(`update product_images set alt = null where id = $1`, [doc.id])
    const read = await fetch(`${app.baseURL}/api/product-images/${doc.id}`)
    expect(read.status).toBe(200)
    const missing = await app.payload.count({
      collection: 'product-images',
      where: { or: [{ alt: { exists: false } }, { alt: { equals: '' } }] },
    })
    expect(missing.totalDocs).toBeGreaterThanOrEqual(1)
    // The plugin's own background write (AVIF versions) is not an editor's: it is not refused.
    await drain(app)
    const after = (await app.payload.findByID({
      collection: 'product-images',
      id: doc.id,
    })) as unknown as Doc & { avif: Version[] | null }
    expect(after.avif?.length).toBeGreaterThan(0)
    expect(after.shapes.square.avif?.length).toBe(2)
  })
})
