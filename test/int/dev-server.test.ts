/**
 * `npm run dev` with nothing configured, exactly as the README says: it must start embedded
 * PostgreSQL and s3rver, seed an admin and demo content, answer /admin and /api/avatars within
 * three minutes, and stop everything on Ctrl-C (SIGINT to its process group).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import path from 'node:path'

import sharp from 'sharp'
import { afterAll, beforeAll, expect, it } from 'vitest'

import { freePort } from '../../src/dev/services'
import { launchChromium, logIn, screenshot } from '../helpers/browser'
import { gradientJPEG, smallGIF } from '../helpers/images'

const DEADLINE_MS = 180_000

let dev: ChildProcess
let output = ''
let dataDir: string
const ports = { app: 0, postgres: 0, s3: 0 }

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })

const waitFor = async (url: string, deadline: number) => {
  while (Date.now() < deadline) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) return status
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  throw new Error(`${url} did not answer 200 in time. Output so far:\n${output.slice(-4000)}`)
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(path.resolve('test/.tmp'), 'dev-'))
  ports.app = await freePort()
  ports.postgres = await freePort()
  ports.s3 = await freePort()
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EMBEDDED_POSTGRES_PORT: String(ports.postgres),
    IMAGE_ASSETS_DATA_DIR: dataDir,
    PORT: String(ports.app),
    S3RVER_PORT: String(ports.s3),
  }
  for (const name of [
    'DATABASE_URI',
    'S3_ENDPOINT',
    'S3_BUCKET',
    'S3_ACCESS_KEY_ID',
    'S3_SECRET_ACCESS_KEY',
    'MEDIA_BASE_URL',
    'PAYLOAD_SECRET',
    'NODE_ENV',
    'VITEST',
    'VITEST_POOL_ID',
    'VITEST_WORKER_ID',
  ]) {
    delete env[name]
  }
  dev = spawn('npm', ['run', 'dev'], { detached: true, env, stdio: ['ignore', 'pipe', 'pipe'] })
  dev.stdout?.on('data', (chunk) => (output += chunk))
  dev.stderr?.on('data', (chunk) => (output += chunk))
})

afterAll(async () => {
  try {
    if (dev?.pid) process.kill(-dev.pid, 'SIGKILL')
  } catch {
    // already gone
  }
  await rm(dataDir, { force: true, recursive: true })
})

it(
  'answers /admin and /api/avatars within three minutes, with seeded demo content on S3',
  async () => {
    const deadline = Date.now() + DEADLINE_MS
    const base = `http://127.0.0.1:${ports.app}`
    await waitFor(`${base}/api/avatars`, deadline)
    await waitFor(`${base}/admin`, deadline)

    expect(output).toContain(`started embedded PostgreSQL on 127.0.0.1:${ports.postgres}`)
    expect(output).toContain(`started s3rver on http://127.0.0.1:${ports.s3}`)
    expect(output).toContain(
      'Admin login (created on an empty database): admin@example.com / admin-password',
    )

    const login = await fetch(`${base}/api/users/login`, {
      body: JSON.stringify({ email: 'admin@example.com', password: 'admin-password' }),
      headers: { 'Content-Type': 'application/json' },
      method: 'POST',
    })
    expect(login.status).toBe(200)

    const products = (await (await fetch(`${base}/api/products?depth=1&limit=100`)).json()) as {
      docs: any[]
    }
    expect(products.docs.length).toBeGreaterThan(0)
    const image = products.docs[0].image
    expect(image.url.startsWith(`http://127.0.0.1:${ports.s3}/media/product-images/`)).toBe(true)
    const bytes = Buffer.from(await (await fetch(image.url)).arrayBuffer())
    const meta = await sharp(bytes).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', image.width, image.height])
  },
  DEADLINE_MS + 20_000,
)

it('in the admin UI, an editor uploads a JPEG as WebP, and a .gif is refused with the message on the file field', async () => {
  const base = `http://127.0.0.1:${ports.app}`
  const browser = await launchChromium()
  try {
    const page = await browser.newPage({ viewport: { height: 900, width: 1280 } })
    page.setDefaultTimeout(120_000)
    await logIn(page, base, 'admin@example.com', 'admin-password')

    await page.goto(`${base}/admin/collections/avatars/create`)
    await page.setInputFiles('input[type="file"]', {
      buffer: await smallGIF(),
      mimeType: 'image/gif',
      name: 'party.gif',
    })
    await page.click('#action-save')
    const message =
      'File extension ".gif" is not allowed for Avatars. Allowed extensions are .jpg, .jpeg, .png and .webp.'
    const fieldError = page
      .locator('.file-field .field-error, .upload .field-error')
      .filter({ hasText: message })
    await fieldError.first().waitFor({ state: 'attached' })
    await screenshot(page, 'admin-avatar-gif-refused')
    expect(page.url()).toContain('/admin/collections/avatars/create')

    await page.goto(`${base}/admin/collections/avatars/create`)
    await page.setInputFiles('input[type="file"]', {
      buffer: await gradientJPEG(1200, 900, [200, 30, 30], [30, 30, 200]),
      mimeType: 'image/jpeg',
      name: 'portrait.jpg',
    })
    await page.click('#action-save')
    await page.waitForURL(/\/admin\/collections\/avatars\/\d+/)
    await screenshot(page, 'admin-avatar-uploaded')
    const id = page.url().match(/avatars\/(\d+)/)![1]
    const doc = (await (await fetch(`${base}/api/avatars/${id}`)).json()) as {
      filename: string
      height: number
      mimeType: string
      width: number
    }
    expect(doc).toMatchObject({ height: 180, mimeType: 'image/webp', width: 240 })
    expect(doc.filename.endsWith('.webp')).toBe(true)
    await page.getByText(doc.filename).first().waitFor()
  } finally {
    await browser.close()
  }
}, 180_000)

it('stops the app, PostgreSQL and s3rver on Ctrl-C', async () => {
  process.kill(-dev.pid!, 'SIGINT')
  // npm itself dies of the SIGINT like in a terminal; the launcher finishes stopping its children.
  const deadline = Date.now() + 60_000
  while (!output.includes('[dev] Stopped.') && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 200))
  expect(output).toContain('[dev] Stopped.')
  expect(await listening(ports.app)).toBe(false)
  expect(await listening(ports.postgres)).toBe(false)
  expect(await listening(ports.s3)).toBe(false)
})
