import http from 'node:http'
import type { AddressInfo } from 'node:net'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startTestApp, type TestApp, uploadREST } from '../helpers/app'
import { gradientJPEG } from '../helpers/images'

let app: TestApp

beforeAll(async () => {
  app = await startTestApp()
})

afterAll(async () => {
  await app?.stop()
})

const api = async (path: string, init: { body?: unknown; method?: string } = {}) => {
  const response = await fetch(`${app.baseURL}${path}`, {
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    headers: { Authorization: `JWT ${app.token}`, 'Content-Type': 'application/json' },
    method: init.method ?? 'GET',
  })
  return { body: (await response.json()) as any, status: response.status }
}

const graphql = (query: string, variables: Record<string, unknown> = {}) =>
  api('/api/graphql', { body: { query, variables }, method: 'POST' })

describe('the reference app through REST and GraphQL', () => {
  it('a product with an image and a category comes back with the image URL and dimensions', async () => {
    const categoryImage = await uploadREST(
      app,
      'category-images',
      { data: await gradientJPEG(1200, 1200, [10, 10, 10], [200, 250, 90]), name: 'c.jpg' },
      { alt: 'Tools' },
    )
    expect(categoryImage.status).toBe(201)
    const category = await api('/api/categories', {
      body: { image: categoryImage.body.doc.id, name: 'Tools' },
      method: 'POST',
    })
    expect(category.status).toBe(201)

    const productImage = await uploadREST(app, 'product-images', {
      data: await gradientJPEG(3000, 1500, [90, 20, 20], [250, 240, 200]),
      name: 'hammer.jpg',
    })
    expect(productImage.status).toBe(201)
    const created = await api('/api/products', {
      body: {
        category: category.body.doc.id,
        image: productImage.body.doc.id,
        name: 'Hammer',
        price: 12.5,
      },
      method: 'POST',
    })
    expect(created.status).toBe(201)

    const rest = await api(`/api/products/${created.body.doc.id}?depth=2`)
    expect(rest.status).toBe(200)
    const image = rest.body.image
    expect(image).toMatchObject({ height: 512, mimeType: 'image/webp', width: 1024 })
    expect(image.url).toBe(`${app.s3Endpoint}/${app.bucket}/product-images/${image.filename}`)
    expect(rest.body.category.name).toBe('Tools')
    expect(rest.body.category.image).toMatchObject({ height: 800, width: 800 })

    const fetched = await fetch(image.url)
    expect(fetched.status).toBe(200)
    expect(fetched.headers.get('content-type')).toBe('image/webp')

    const gql = await graphql(
      `
        query ($id: Int!) {
          Product(id: $id) {
            name
            image {
              url
              width
              height
              mimeType
              filename
            }
            category {
              name
              image {
                url
                width
                height
              }
            }
          }
        }
      `,
      { id: created.body.doc.id },
    )
    expect(gql.status).toBe(200)
    expect(gql.body.errors).toBeUndefined()
    const product = gql.body.data.Product
    expect(product.image).toEqual({
      filename: image.filename,
      height: 512,
      mimeType: 'image/webp',
      url: image.url,
      width: 1024,
    })
    expect(product.category.image).toEqual({
      height: 800,
      url: rest.body.category.image.url,
      width: 800,
    })
  })

  it('a user avatar is set through REST and read back with its URL', async () => {
    const avatar = await uploadREST(app, 'avatars', {
      data: await gradientJPEG(800, 800, [0, 0, 0], [255, 255, 255]),
      name: 'me.png',
    })
    expect(avatar.status).toBe(201)
    expect([avatar.body.doc.width, avatar.body.doc.height]).toEqual([200, 200])
    const me = await api('/api/users/me')
    const updated = await api(`/api/users/${me.body.user.id}`, {
      body: { avatar: avatar.body.doc.id },
      method: 'PATCH',
    })
    expect(updated.status).toBe(200)
    const read = await api(`/api/users/${me.body.user.id}?depth=1`)
    expect(read.body.avatar.url).toBe(
      `${app.s3Endpoint}/${app.bucket}/avatars/${avatar.body.doc.filename}`,
    )
  })

  it('GraphQL cannot create an image without a file; no entry point can rename one to a refused extension', async () => {
    const before = Number((await app.sql<{ n: string }>('select count(*) as n from avatars'))[0].n)
    const create = await graphql(`
      mutation {
        createAvatar(data: { alt: "x" }) {
          id
        }
      }
    `)
    expect(create.body.errors[0].message).toBe(
      'No file was uploaded. Avatars needs an image file. Allowed extensions are .jpg, .jpeg, .png and .webp.',
    )
    expect(create.body.errors[0].extensions.statusCode).toBe(400)
    expect(Number((await app.sql<{ n: string }>('select count(*) as n from avatars'))[0].n)).toBe(
      before,
    )

    const avatar = await uploadREST(app, 'avatars', {
      data: await gradientJPEG(300, 300, [0, 0, 0], [9, 9, 9]),
      name: 'a.jpg',
    })
    const rename = await graphql(
      `
        mutation ($id: Int!) {
          updateAvatar(id: $id, data: { filename: "evil.gif" }) {
            filename
          }
        }
      `,
      {
        id: avatar.body.doc.id,
      },
    )
    // Payload drops generated upload fields from API input, so the rename is ignored...
    expect(rename.body.errors).toBeUndefined()
    expect(rename.body.data.updateAvatar.filename).toBe(avatar.body.doc.filename)
    // ...and where trusted code could still set it (the Local API), the plugin's beforeChange hook refuses it.
    await expect(
      app.payload.update({
        collection: 'avatars',
        data: { filename: 'evil.gif' },
        id: avatar.body.doc.id,
      }),
    ).rejects.toMatchObject({
      message:
        'File extension ".gif" is not allowed for Avatars. Allowed extensions are .jpg, .jpeg, .png and .webp.',
      status: 400,
    })
    const [row] = await app.sql('select filename from avatars where id = $1', [avatar.body.doc.id])
    expect(row.filename).toBe(avatar.body.doc.filename)
  })
})

describe('what a client may not do', () => {
  it('an anonymous GraphQL create is refused for access, not for the missing file', async () => {
    const response = await fetch(`${app.baseURL}/api/graphql`, {
      body: JSON.stringify({ query: 'mutation { createAvatar(data: { alt: "x" }) { id } }' }),
      headers: { 'Content-Type': 'application/json' },
      method: 'POST',
    })
    const body = await response.json()
    expect(body.errors[0].message).toBe('You are not allowed to perform this action.')
    expect(body.errors[0].extensions.statusCode).toBe(403)
  })

  it('fields the plugin computes cannot be set by a client: REST, GraphQL or the Local API keep the image as stored', async () => {
    const { body } = await uploadREST(app, 'media', {
      data: await gradientJPEG(900, 600, [0, 40, 80], [240, 200, 10]),
      name: 'w.jpg',
    })
    const stored = body.doc
    const patched = await api(`/api/media/${stored.id}`, {
      body: {
        alt: 'changed',
        filesize: 1,
        height: 1,
        mimeType: 'text/html',
        placeholder: 'x',
        variants: [],
        width: 1,
      },
      method: 'PATCH',
    })
    expect(patched.status).toBe(200)
    expect(patched.body.doc).toMatchObject({
      alt: 'changed',
      filesize: stored.filesize,
      height: stored.height,
      mimeType: 'image/webp',
      placeholder: stored.placeholder,
      width: stored.width,
    })
    expect(patched.body.doc.srcSet).toBe(stored.srcSet)
    expect(patched.body.doc.variants.map((v: { filename: string }) => v.filename)).toEqual(
      stored.variants.map((v: { filename: string }) => v.filename),
    )
    const viaLocal = await app.payload.update({
      collection: 'media',
      data: { objectKeys: [], width: 5 },
      id: stored.id,
    })
    expect([viaLocal.width, [...(viaLocal.objectKeys ?? [])].sort()]).toEqual([
      stored.width,
      [...stored.objectKeys].sort(),
    ])
    const [row] = await app.sql(
      'select width::int as width, height::int as height, filesize::int as filesize, mime_type from media where id = $1',
      [stored.id],
    )
    expect(row).toEqual({
      filesize: stored.filesize,
      height: stored.height,
      mime_type: 'image/webp',
      width: stored.width,
    })
  })

  it('a file with `url` and `filename` beside it: the file is used and nothing is fetched', async () => {
    let requests = 0
    const host = http.createServer((_req, res) => {
      requests++
      res.end('x')
    })
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(host.address() as AddressInfo).port}/elsewhere.png`
      const { body, status } = await uploadREST(
        app,
        'media',
        { data: await gradientJPEG(640, 480, [1, 2, 3], [200, 100, 50]), name: 'real.jpg' },
        { filename: 'elsewhere.png', url },
      )
      expect(status).toBe(201)
      expect([body.doc.originalFilename, body.doc.width]).toEqual(['real.jpg', 640])
      expect(requests).toBe(0)
    } finally {
      await new Promise((resolve) => host.close(resolve))
    }
  })

  it('the file route answers 404 for an object that is not there, anonymously and logged in, and redirects to the bucket for one that is', async () => {
    // A name the plugin could have generated, one it could not, and a path (Payload itself refuses that one, 403).
    for (const [name, status] of [
      ['0123456789abcdef-00000000.webp', 404],
      ['nothing.webp', 404],
      ['..%2Foriginals%2Fx.jpg', 403],
    ] as const) {
      const anonymous = await fetch(`${app.baseURL}/api/media/file/${name}`, { redirect: 'manual' })
      expect(anonymous.status, name).toBe(status)
      const editor = await fetch(`${app.baseURL}/api/media/file/${name}`, {
        headers: { Authorization: `JWT ${app.token}` },
        redirect: 'manual',
      })
      expect(editor.status, name).toBe(status)
    }
    const { body } = await uploadREST(app, 'media', {
      data: await gradientJPEG(400, 300, [9, 9, 9], [99, 99, 99]),
      name: 'route.jpg',
    })
    const found = await fetch(`${app.baseURL}/api/media/file/${body.doc.filename}`, {
      redirect: 'manual',
    })
    expect(found.status).toBe(302)
    expect(found.headers.get('location')).toBe(body.doc.url)
  })
})
