/**
 * The production build (`next build`, then `next start`) against a real database and bucket:
 * the app's static files are served like WhiteNoise does (hashed assets immutable for a year,
 * other files revalidated with a 304, text compressed), and in `public` delivery no request for an
 * image's bytes reaches the app: a real browser fetches them from the bucket, choosing the variant
 * that fits its viewport.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { freePort } from '../../src/dev/services'
import { startTestApp, TEST_USER, type TestApp } from '../helpers/app'
import { launchChromium, logIn, screenshot } from '../helpers/browser'
import { gradientJPEG, redShare, subjectPhoto } from '../helpers/images'

let app: TestApp
let server: ChildProcess
let origin: string
let output = ''

const run = (command: string, args: string[], env: NodeJS.ProcessEnv) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.on('data', (chunk) => (output += chunk))
    child.stderr?.on('data', (chunk) => (output += chunk))
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.slice(-4000)}`),
          ),
    )
  })

const committedMigrations = async () =>
  (await readdir(new URL('../../src/migrations', import.meta.url)))
    .filter((f) => /^\d{8}_\d{6}_.*\.ts$/.test(f))
    .map((f) => f.replace(/\.ts$/, ''))

beforeAll(async () => {
  // The test's own Payload pushes the schema into a fresh database (production does not push).
  app = await startTestApp()
  const category = await app.payload.create({
    collection: 'category-images',
    data: { alt: 'Chairs' },
    file: await file('chairs.jpg', 1600, 1200),
  })
  const chairs = await app.payload.create({
    collection: 'categories',
    data: { image: category.id, name: 'Chairs' },
  })
  for (const [i, name] of ['Oak chair', 'Lamp', 'Rug', 'Shelf'].entries()) {
    const image = await app.payload.create({
      collection: 'product-images',
      data: { alt: name },
      file: await file(`${i}.jpg`, 2400, 1800, i),
    })
    await app.payload.create({
      collection: 'products',
      data: { category: chairs.id, image: image.id, name, price: 10 + i },
    })
  }
  // The test pushed its schema (dev mode); production runs the committed migrations at start and
  // would stop to ask about a pushed database. The schema is the migrations' (migrations.test.ts
  // checks they match), so record them as run, the way `payload migrate` would have.
  await app.sql('delete from payload_migrations where batch = -1')
  for (const name of await committedMigrations())
    await app.sql('insert into payload_migrations (name, batch) values ($1, 1)', [name])
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: '1',
    NODE_ENV: 'production',
  }
  for (const name of ['VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID']) delete env[name]
  await run('npx', ['next', 'build'], env)
  const port = await freePort()
  origin = `http://127.0.0.1:${port}`
  server = spawn('node', ['scripts/start.mjs', '-p', String(port), '-H', '127.0.0.1'], {
    detached: true,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout?.on('data', (chunk) => (output += chunk))
  server.stderr?.on('data', (chunk) => (output += chunk))
  // Serving once it answers a static file.
  await vi.waitFor(
    async () => {
      const status = await fetch(`${origin}/robots.txt`).then(
        (r) => r.status,
        () => 0,
      )
      expect(status, `next start did not serve:\n${output.slice(-4000)}`).toBe(200)
    },
    { interval: 500, timeout: 60_000 },
  )
}, 600_000)

afterAll(async () => {
  if (server?.pid) process.kill(-server.pid, 'SIGTERM')
  await app?.stop()
})

async function file(name: string, width: number, height: number, seed = 0) {
  const data = await gradientJPEG(
    width,
    height,
    [20 + seed * 40, 60, 140],
    [240, 200 - seed * 30, 120],
  )
  return { data, mimetype: 'image/jpeg', name, size: data.length }
}

const bytesOf = async (url: string): Promise<Buffer> => {
  const response = await fetch(url)
  expect(response.status, url).toBe(200)
  return Buffer.from(await response.arrayBuffer())
}

describe('static files of the app', () => {
  it('hashed assets are cached for a year as immutable, and text assets are compressed', async () => {
    const page = await fetch(`${origin}/`)
    expect(page.status, output.slice(-2000)).toBe(200)
    const html = await page.text()
    const assets = [
      ...new Set([...html.matchAll(/\/_next\/static\/[^"'\s)]+\.(?:js|css)/g)].map((m) => m[0])),
    ]
    expect(assets.length).toBeGreaterThan(0)
    for (const asset of assets.slice(0, 5)) {
      const response = await fetch(`${origin}${asset}`, {
        headers: { 'Accept-Encoding': 'gzip, br' },
      })
      expect(response.status, asset).toBe(200)
      expect(response.headers.get('cache-control'), asset).toBe(
        'public, max-age=31536000, immutable',
      )
      expect(response.headers.get('content-encoding'), asset).toMatch(/^(gzip|br)$/)
    }
  })

  it('other files are revalidated: ETag or Last-Modified, and a 304 to a conditional request', async () => {
    const first = await fetch(`${origin}/robots.txt`)
    expect(first.status).toBe(200)
    expect(await first.text()).toContain('Disallow: /admin')
    expect(first.headers.get('cache-control')).toMatch(/max-age=0|no-cache/)
    const etag = first.headers.get('etag')
    const lastModified = first.headers.get('last-modified')
    expect(etag ?? lastModified).toBeTruthy()
    // A browser's revalidation (node's fetch would add `Cache-Control: no-cache`, which forbids a 304).
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(
          `${origin}/robots.txt`,
          { headers: etag ? { 'If-None-Match': etag } : { 'If-Modified-Since': lastModified! } },
          (response) => {
            response.resume()
            resolve(response.statusCode ?? 0)
          },
        )
        .on('error', reject)
    })
    expect(status).toBe(304)
  })
})

describe('the storefront before the AVIF versions exist', () => {
  it('serves a product whose AVIF job has not run as WebP only (the test app and the server leave the jobs)', async () => {
    const image = await app.payload.create({
      collection: 'product-images',
      data: { alt: 'Stool' },
      file: await file('stool.jpg', 2400, 1800, 7),
    })
    const chairs = await app.payload.find({ collection: 'categories', limit: 1 })
    await app.payload.create({
      collection: 'products',
      data: { category: chairs.docs[0].id, image: image.id, name: 'Stool', price: 9 },
    })
    expect(image.avif).toBeNull()
    const page = await fetch(`${origin}/`)
    expect(page.status).toBe(200)
    const html = await page.text()
    // Its <picture> (a card: the square shape): the WebP srcset, no AVIF source.
    const square = (image.shapes as { square: { url: string } }).square
    const at = html.indexOf(square.url.replaceAll('&', '&amp;'))
    expect(at).toBeGreaterThan(0)
    const picture = html.slice(html.lastIndexOf('<picture', at), html.indexOf('</picture>', at))
    expect(picture).toMatch(/srcset=/i)
    expect(picture).not.toContain('image/avif')
  })
})

describe('refused uploads on a keep-alive connection (next start)', () => {
  it('a refusal with the body partly unread closes the connection, one before the body is read keeps it (but reads no more than an upload may send); the next request succeeds either way', async () => {
    const login = await fetch(`${origin}/api/users/login`, {
      body: JSON.stringify(TEST_USER),
      headers: { 'Content-Type': 'application/json' },
      method: 'POST',
    })
    const { token } = (await login.json()) as { token: string }
    // One socket at a time, reused between requests when the server keeps it open.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const send = (
      method: string,
      path: string,
      body?: { bytes: Buffer; name: string },
      auth = true,
    ) =>
      new Promise<{ body?: string; connection?: string; status: number }>((resolve, reject) => {
        const boundary = 'k33palive'
        const payload = body
          ? Buffer.concat([
              Buffer.from(
                `--${boundary}\r\nContent-Disposition: form-data; name="_payload"\r\n\r\n{"alt":"x"}\r\n` +
                  `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${body.name}"\r\nContent-Type: image/jpeg\r\n\r\n`,
                'latin1',
              ),
              body.bytes,
              Buffer.from(`\r\n--${boundary}--\r\n`),
            ])
          : undefined
        const request = http.request(
          `${origin}${path}`,
          {
            agent,
            headers: {
              ...(auth ? { Authorization: `JWT ${token}` } : {}),
              ...(payload
                ? {
                    'Content-Length': payload.length,
                    'Content-Type': `multipart/form-data; boundary=${boundary}`,
                  }
                : {}),
            },
            method,
          },
          (response) => {
            let text = ''
            response.setEncoding('utf8')
            response.on('data', (chunk: string) => (text += chunk))
            response.on('end', () =>
              resolve({
                body: text,
                connection: response.headers.connection,
                status: response.statusCode!,
              }),
            )
          },
        )
        // The server may close while the rest of a refused body is still being sent; the answer
        // has come by then (if not, the status says so).
        request.on('error', (error: NodeJS.ErrnoException) =>
          error.code === 'EPIPE' || error.code === 'ECONNRESET'
            ? resolve({ connection: error.code, status: -1 })
            : reject(error),
        )
        request.end(payload)
      })
    const jpg = await gradientJPEG(300, 200, [0, 0, 0], [255, 255, 255])
    // [what, body, logged in, status, the connection closed, the message]: a body the parser gave
    // up on must close it; one refused before it is read (401) is read to its end by Node, which
    // keeps it. Each message reaches the client, and each refusal is logged as one info line, not
    // an error with a stack: a production build minifies Payload's error class names, by which
    // its logging levels and its error formatting go.
    const refusals: Array<
      [string, { bytes: Buffer; name: string }, boolean, number, boolean, string]
    > = [
      [
        'a control character in the file name',
        { bytes: jpg, name: 'bell\x07.jpg' },
        true,
        400,
        true,
        'its multipart body is malformed or incomplete',
      ],
      [
        'a body over the largest upload',
        { bytes: Buffer.alloc(26 * 1024 * 1024), name: 'big.jpg' },
        true,
        413,
        true,
        'The file is larger than 25 MB, the most Media accepts.',
      ],
      [
        'an anonymous upload',
        { bytes: Buffer.alloc(4 * 1024 * 1024), name: 'a.jpg' },
        false,
        401,
        false,
        'Unauthorized, you must be logged in to make this request.',
      ],
    ]
    try {
      for (const [what, body, auth, status, closed, message] of refusals) {
        const logFrom = output.length
        const refused = await send('POST', '/api/media', body, auth)
        expect(refused.status, what).toBe(status)
        expect(refused.connection, what).toBe(closed ? 'close' : 'keep-alive')
        expect(refused.body, what).toContain(message)
        await vi.waitFor(() => expect(output.slice(logFrom), what).toContain(message))
        expect(output.slice(logFrom), what).toMatch(/INFO/)
        expect(output.slice(logFrom), what).not.toMatch(/ERROR|stack/)
        const next = await send('GET', '/api/media?limit=1&depth=0')
        expect(next.status, `the request after ${what}`).toBe(200)
      }
      // An anonymous body declared far over any upload: answered at once and the connection
      // closed, not read to its end (one under what an upload may send is read and dropped, as
      // above, keeping the connection).
      const declared = 400 * 1024 * 1024
      const flood = await new Promise<{ answer: string; ended: string; written: number }>(
        (resolve) => {
          const socket = net.connect(Number(new URL(origin).port), '127.0.0.1')
          let answer = ''
          let written = 0
          let ended = ''
          const finish = (why: string) => {
            if (ended) return
            ended = why
            clearTimeout(bound)
            socket.destroy()
            resolve({ answer, ended, written })
          }
          // The test stops by itself whatever the server does.
          const bound = setTimeout(() => finish('still open after 60 s'), 60_000)
          socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')))
          socket.on('error', () => finish('closed by the server'))
          socket.on('close', () => finish('closed by the server'))
          socket.on('connect', async () => {
            socket.write(
              `POST /api/media HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: ${declared}\r\n\r\n`,
            )
            const chunk = Buffer.alloc(1024 * 1024, 0x61)
            while (!ended && written < declared) {
              written += chunk.length
              if (!socket.write(chunk))
                await new Promise<void>((resolve) => {
                  socket.once('drain', resolve)
                  socket.once('close', resolve)
                })
            }
            // Everything was taken (the server kept reading).
            if (!ended) setTimeout(() => finish('all sent'), 2000)
          })
        },
      )
      expect(flood.answer).toMatch(/^HTTP\/1\.1 401/)
      expect(flood.ended).toBe('closed by the server')
      expect(flood.written).toBeLessThan(declared / 2)

      // The app's own collection, refused by Payload itself: its Forbidden keeps its name too
      // (the reference app's next.config.ts turns server minification off).
      const logFrom = output.length
      const forbidden = await fetch(`${origin}/api/products`, {
        body: JSON.stringify({ name: 'x', price: 1 }),
        headers: { 'Content-Type': 'application/json' },
        method: 'POST',
      })
      expect(forbidden.status).toBe(403)
      await vi.waitFor(() =>
        expect(output.slice(logFrom)).toContain('You are not allowed to perform this action.'),
      )
      expect(output.slice(logFrom)).not.toMatch(/ERROR|stack/)
      // Payload's own abort over the largest upload, on the app's own collection: its message
      // reaches the client.
      const tooLarge = await send(
        'POST',
        '/api/products',
        { bytes: Buffer.alloc(26 * 1024 * 1024), name: 'big.jpg' },
        false,
      )
      expect(tooLarge.status).toBe(413)
      expect(tooLarge.body).toContain('The file is larger than 25 MB')
    } finally {
      agent.destroy()
    }
  })
})

describe('the storefront in Chromium', () => {
  beforeAll(async () => {
    // What a worker (`payload jobs:run --queue image-assets`) does: the AVIF versions get made.
    await app.payload.jobs.run({ limit: 50, queue: 'image-assets' })
    const products = await app.payload.find({ collection: 'products', depth: 1 })
    for (const product of products.docs) {
      const image = product.image as {
        avif: unknown[] | null
        shapes: { square: { avif?: unknown[] } }
      }
      expect(image.avif?.length).toBeGreaterThan(0)
      expect(image.shapes.square.avif?.length).toBe(2)
    }
  })

  for (const [width, expected] of [
    [375, 'small'],
    [1440, 'large'],
  ] as const) {
    it(`at ${width} px it loads the ${expected} images from the bucket, none from the app`, async () => {
      const browser = await launchChromium()
      try {
        const page = await browser.newPage({
          deviceScaleFactor: 1,
          viewport: { height: 900, width },
        })
        const fetched: Array<{ type: string; url: string }> = []
        page.on('request', (request) =>
          fetched.push({ type: request.resourceType(), url: request.url() }),
        )
        await page.goto(`${origin}/`, { waitUntil: 'networkidle' })
        // Images load lazily as they come near the viewport: bring each one that has not loaded
        // into view until every image on the page has.
        await page.waitForFunction(
          () => {
            const pending = Array.from(document.images).filter(
              (img) => !img.complete || img.naturalWidth === 0,
            )
            pending[0]?.scrollIntoView()
            return pending.length === 0
          },
          undefined,
          { polling: 100, timeout: 30_000 },
        )
        await page.waitForLoadState('networkidle')
        await screenshot(page, `storefront-${width}`)

        const images = fetched.filter((r) => r.type === 'image' && !r.url.startsWith('data:'))
        expect(images.length).toBeGreaterThan(0)
        // No image bytes come from the app's origin: every image is fetched from the bucket.
        expect(images.filter((r) => r.url.startsWith(origin))).toEqual([])
        expect(
          fetched.filter((r) => r.url.startsWith(origin) && /\.webp|\/file\//.test(r.url)),
        ).toEqual([])

        const products = await app.payload.find({
          collection: 'products',
          depth: 1,
          sort: 'createdAt',
        })
        const urls = new Set(images.map((r) => r.url))
        for (const [index, product] of products.docs.entries()) {
          // Product images carry AVIF versions (the reference app switches them on), which Chromium prefers.
          type Version = { url: string; width: number }
          const image = product.image as {
            avif: Version[]
            shapes: { square: Version & { avif: Version[] } }
            url: string
            variants: Version[]
          }
          const avifAt = (w: number) => image.avif.find((v) => v.width === w)!.url
          const largest = Math.max(...image.avif.map((v) => v.width))
          // The other cards are square tiles (the shape cut around the focal point), 300 px wide at most.
          const square = image.shapes.square
          const squareAvifAt = (w: number) => square.avif.find((v) => v.width === w)!.url
          if (index === 0) {
            if (width === 375) {
              expect(urls.has(avifAt(320)), `${product.name} small`).toBe(true)
              expect(urls.has(avifAt(largest)), `${product.name} large`).toBe(false)
            } else expect(urls.has(avifAt(largest)), 'featured large').toBe(true)
          } else {
            expect(urls.has(squareAvifAt(300)), `${product.name} square tile`).toBe(true)
            expect(urls.has(squareAvifAt(600)), `${product.name} large square`).toBe(false)
            expect(urls.has(avifAt(largest)), `${product.name} main image`).toBe(false)
          }
          // The WebP versions are never fetched by a browser that takes AVIF.
          expect(urls.has(image.url)).toBe(false)
          expect(urls.has(square.url)).toBe(false)
        }
      } finally {
        await browser.close()
      }
    })
  }
})

describe('the admin UI in Chromium', () => {
  it('an editor uploads a JPEG for a product and sees the WebP and its saving; the dashboard shows the totals', async () => {
    const browser = await launchChromium()
    try {
      const page = await browser.newPage({ viewport: { height: 900, width: 1280 } })
      page.setDefaultTimeout(60_000)
      await logIn(page, origin, TEST_USER.email, TEST_USER.password)

      const photo = await gradientJPEG(3000, 2000, [180, 40, 40], [40, 40, 180])
      await page.goto(`${origin}/admin/collections/product-images/create`)
      await page.setInputFiles('input[type="file"]', {
        buffer: photo,
        mimeType: 'image/jpeg',
        name: 'sofa.jpg',
      })
      await page.click('#action-save')
      await page.waitForURL(/\/admin\/collections\/product-images\/\d+/)
      const id = page.url().match(/product-images\/(\d+)/)![1]
      const doc = await app.payload.findByID({ collection: 'product-images', id })
      expect([doc.mimeType, doc.width, doc.height, doc.originalFilesize]).toEqual([
        'image/webp',
        1024,
        683,
        photo.length,
      ])
      const saving = doc.saving as string
      expect(saving).toMatch(/^saved \d+% \(.+ → .+\)$/)
      await page
        .locator('#field-saving')
        .filter({ has: page.locator(`[value="${saving}"]`) })
        .or(page.locator(`input[value="${saving}"]`))
        .first()
        .waitFor({ state: 'attached' })
      await page.getByText(doc.filename!).first().waitFor()
      await screenshot(page, 'admin-product-image-uploaded')
      // The admin's thumbnail is the same URL the API gives: the object in the bucket, not the app.
      const thumbnails = await page
        .locator('img')
        .evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).src))
      expect(thumbnails, JSON.stringify(thumbnails)).toContain(doc.url)

      // The list view shows each image's saving, and lists it by its original name.
      await page.goto(`${origin}/admin/collections/product-images`)
      await page.getByText(saving).first().waitFor()
      await page.locator('.file__filename', { hasText: 'sofa.jpg' }).waitFor()
      expect(await page.getByText(doc.filename!).count()).toBe(0)
      await screenshot(page, 'admin-product-images-list')

      // The dashboard shows the totals per collection.
      await page.goto(`${origin}/admin`)
      const row = page.locator('.image-savings tr[data-collection="product-images"]')
      await row.waitFor()
      const cells = await row.locator('td').allTextContents()
      const products = await app.payload.find({ collection: 'product-images', limit: 100 })
      expect(cells[0]).toBe('Product Images')
      expect(Number(cells[1])).toBe(products.totalDocs)
      expect(cells[4]).toMatch(/^saved \d+%/)
      await screenshot(page, 'admin-dashboard-savings')
    } finally {
      await browser.close()
    }
  })

  it('a product’s image field shows the image by the name it was uploaded with, not its stored key', async () => {
    const {
      docs: [product],
    } = await app.payload.find({
      collection: 'products',
      depth: 1,
      where: { name: { equals: 'Rug' } },
    })
    const image = product.image as { filename: string; originalFilename: string }
    expect(image.originalFilename).toBe('2.jpg')
    expect(image.filename).toMatch(/^[0-9a-f]+-[0-9a-z]+\.webp$/)
    const browser = await launchChromium()
    try {
      const page = await browser.newPage({ viewport: { height: 900, width: 1280 } })
      page.setDefaultTimeout(60_000)
      await logIn(page, origin, TEST_USER.email, TEST_USER.password)
      await page.goto(`${origin}/admin/collections/products/${product.id}`)
      // Payload's own upload card, with the original name in place of the key (kept as its title).
      const shown = page.locator('.upload-relationship-details__filename a')
      await shown.filter({ hasText: '2.jpg' }).waitFor()
      expect(await shown.getAttribute('title')).toBe(image.filename)
      expect(await page.getByText(image.filename).count()).toBe(0)
      // The rest of Payload's field is there: the card links to the image and can be edited.
      expect(await shown.getAttribute('href')).toContain(image.filename)
      await page.locator('.upload-relationship-details__edit').first().waitFor()
      await screenshot(page, 'admin-product-image-field')

      // Another image chosen from the existing ones (the drawer lists them by their original
      // names, with their thumbnails) is shown by its original name too.
      const shelf = (
        await app.payload.find({
          collection: 'product-images',
          where: { originalFilename: { equals: '3.jpg' } },
        })
      ).docs[0]
      await page.locator('.upload-relationship-details__remove').click()
      await page.getByRole('button', { name: 'Choose from existing' }).click()
      const drawer = page.locator('.list-drawer')
      await drawer.locator('.file__filename', { hasText: '3.jpg' }).click()
      await shown
        .filter({ hasText: '3.jpg' })
        .waitFor()
        .catch(async (error) => {
          await screenshot(page, 'admin-product-image-field-chosen')
          throw error
        })
      expect(await shown.getAttribute('title')).toBe(shelf.filename)
      expect(await page.getByText(shelf.filename!).count()).toBe(0)
    } finally {
      await browser.close()
    }
  })

  it('an editor moves the focal point in the admin and sees the new square preview, then crops the image', async () => {
    // A red ball at 15 % of the width, the focal point at 85 %: the square misses the ball.
    const photo = await subjectPhoto(15)
    const doc = await app.payload.create({
      collection: 'product-images',
      data: { alt: 'A red ball', focalX: 85, focalY: 50 },
      file: { data: photo, mimetype: 'image/jpeg', name: 'ball.jpg', size: photo.length },
    })
    const browser = await launchChromium()
    try {
      const page = await browser.newPage({ viewport: { height: 900, width: 1280 } })
      page.setDefaultTimeout(60_000)
      try {
        await logIn(page, origin, TEST_USER.email, TEST_USER.password)
        await page.goto(`${origin}/admin/collections/product-images/${doc.id}`)
        const square = page.locator('img[data-shape="square"]')
        await square.waitFor()
        const before = (await square.getAttribute('src'))!
        expect(await redShare(await bytesOf(before))).toBeLessThan(0.005)

        // Payload's image editor: the focal point's X and Y (percent) in the drawer's sidebar.
        await page.getByRole('button', { exact: true, name: 'Edit Image' }).click()
        const editor = page.locator('.edit-upload')
        await editor.waitFor()
        await editor.locator('.edit-upload__input input[name="X %"]').fill('15')
        await editor.locator('.edit-upload__input input[name="Y %"]').fill('50')
        await editor.locator('button.edit-upload__save').click()
        await editor.waitFor({ state: 'hidden' })
        await page.click('#action-save')
        // Saved, and the form's new state shows the square cut around the new focal point.
        await page.waitForFunction(
          (old) => document.querySelector('img[data-shape="square"]')?.getAttribute('src') !== old,
          before,
          { polling: 100 },
        )
        const after = (await square.getAttribute('src'))!
        expect(after).not.toBe(before)
        await page.waitForFunction(() => {
          const img = document.querySelector('img[data-shape="square"]') as HTMLImageElement | null
          return Boolean(img?.complete && img.naturalWidth > 0)
        })
        expect(await redShare(await bytesOf(after))).toBeGreaterThan(0.08)
        const saved = await app.payload.findByID({ collection: 'product-images', id: doc.id })
        expect(saved.focalX).toBeCloseTo(15, 0)
        expect(saved.focalY).toBeCloseTo(50, 0)
        expect((saved.shapes as { square: { url: string } }).square.url).toBe(after)
        await screenshot(page, 'focal-point-square')

        // Then a crop in the same editor: the left half of the picture shown (the 1024 px main
        // image), typed as a width in pixels. It applies to the original, kept by the collection.
        await page.getByRole('button', { exact: true, name: 'Edit Image' }).click()
        await editor.waitFor()
        await editor.locator('.edit-upload__input input[name="Width (px)"]').fill('512')
        await editor.locator('button.edit-upload__save').click()
        await editor.waitFor({ state: 'hidden' })
        await page.click('#action-save')
        await page.waitForFunction(
          (old) => document.querySelector('img[data-shape="square"]')?.getAttribute('src') !== old,
          after,
          { polling: 100 },
        )
        const cropped = await app.payload.findByID({ collection: 'product-images', id: doc.id })
        expect(cropped.crop).toEqual({ height: 100, width: 50, x: 0, y: 0 })
        // The left half of the 1600 x 900 original, fitted inside 1024 x 840; the focal point (15 %
        // of the picture shown) is at 30 % of the cropped one.
        expect([cropped.width, cropped.height]).toEqual([747, 840])
        expect(cropped.focalX).toBeCloseTo(30, 0)
        const croppedSquare = (cropped.shapes as { square: { url: string } }).square.url
        expect(await redShare(await bytesOf(croppedSquare))).toBeGreaterThan(0.1)
        await screenshot(page, 'crop-square')
      } catch (error) {
        await screenshot(page, 'focal-point-square').catch(() => undefined)
        throw error
      }
    } finally {
      await browser.close()
    }
  })
})
