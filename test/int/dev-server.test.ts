/**
 * `npm run dev` with nothing configured, exactly as the README says: it must start embedded
 * PostgreSQL and s3rver, seed an admin and demo content, answer /admin and /api/avatars within
 * three minutes, and stop everything on Ctrl-C (SIGINT to its process group).
 *
 * The tests share one dev server; the one that stops it marks it stopped, and a test that runs
 * after that starts a new one on a new, empty data directory, so that the tests run in any order.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import path from 'node:path'

import sharp from 'sharp'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'

import { freePort } from '../../src/dev/services'
import { launchChromium, logIn, screenshot } from '../helpers/browser'
import { gradientJPEG, smallGIF } from '../helpers/images'

const DEADLINE_MS = 180_000

type Dev = {
  base: string
  dataDir: string
  /** The output so far. */
  output: () => string
  ports: { app: number; postgres: number; s3: number }
  proc: ChildProcess
  startedAt: number
  stopped: boolean
}

/** Every dev server this file started, to kill and clean up after. */
const started: Dev[] = []
let current: Dev | undefined

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })

/** Polls `url` until it answers 200; throws with the server's output at `deadline`. */
const waitFor = async (dev: Dev, url: string, deadline: number) => {
  while (Date.now() < deadline) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) return status
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  throw new Error(`${url} did not answer 200 in time. Output so far:\n${dev.output().slice(-4000)}`)
}

/** `npm run dev` on an empty data directory and free ports, with nothing configured. */
const startDev = async (): Promise<Dev> => {
  const dataDir = await mkdtemp(path.join(path.resolve('test/.tmp'), 'dev-'))
  const ports = { app: await freePort(), postgres: await freePort(), s3: await freePort() }
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
    // The other test files switch required alt text off; `npm run dev` runs with it on.
    'IMAGE_REQUIRE_ALT',
    'NODE_ENV',
    'VITEST',
    'VITEST_POOL_ID',
    'VITEST_WORKER_ID',
  ]) {
    delete env[name]
  }
  let output = ''
  const proc = spawn('npm', ['run', 'dev'], {
    detached: true,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout?.on('data', (chunk) => (output += chunk))
  proc.stderr?.on('data', (chunk) => (output += chunk))
  const dev: Dev = {
    base: `http://127.0.0.1:${ports.app}`,
    dataDir,
    output: () => output,
    ports,
    proc,
    startedAt: Date.now(),
    stopped: false,
  }
  started.push(dev)
  return dev
}

/**
 * The dev server the tests share, started once; a new one (on a new, empty data directory) if a
 * test stopped it, so that every test finds one running whatever the order.
 */
const devServer = async (): Promise<Dev> => {
  if (!current || current.stopped) current = await startDev()
  return current
}

beforeAll(async () => {
  await devServer()
})

/** Sends `name` to the process group of `npm run dev`; false if it is gone. */
const signal = (dev: Dev, name: NodeJS.Signals) => {
  try {
    process.kill(-dev.proc.pid!, name)
    return true
  } catch {
    return false
  }
}

afterAll(async () => {
  for (const dev of started) {
    // One still running is stopped the way Ctrl-C stops it: the launcher runs Next and the
    // services in process groups of their own, which a SIGKILL to npm's group would leave behind.
    if (!dev.stopped && signal(dev, 'SIGINT'))
      await vi
        .waitFor(() => expect(dev.output()).toContain('[dev] Stopped.'), {
          interval: 200,
          timeout: 60_000,
        })
        .catch(() => undefined)
    signal(dev, 'SIGKILL')
    // PostgreSQL's processes may still be writing their last files as they die.
    await rm(dev.dataDir, { force: true, maxRetries: 10, recursive: true, retryDelay: 200 })
  }
}, 150_000)

it(
  'answers /admin and /api/avatars within three minutes, with seeded demo content on S3',
  async () => {
    const dev = await devServer()
    const { base, ports } = dev
    // Within three minutes of `npm run dev`.
    const deadline = dev.startedAt + DEADLINE_MS
    await waitFor(dev, `${base}/api/avatars`, deadline)
    await waitFor(dev, `${base}/admin`, deadline)

    const output = dev.output()
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

it(
  'in the admin UI, an editor uploads a JPEG as WebP, and a .gif is refused with its message',
  async () => {
    const dev = await devServer()
    const { base } = dev
    await waitFor(dev, `${base}/admin`, dev.startedAt + DEADLINE_MS)
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
      // Direct-to-bucket uploads (on in the reference app): the presign request is refused with
      // the message, which the admin shows in its error toast; nothing is staged.
      const fieldError = page
        .locator('.file-field .field-error, .upload .field-error, [data-sonner-toast]')
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
  },
  DEADLINE_MS + 180_000,
)

it(
  'an editor who leaves the alt text empty is told on the field, and saves once it is filled in',
  async () => {
    const dev = await devServer()
    const { base } = dev
    await waitFor(dev, `${base}/admin`, dev.startedAt + DEADLINE_MS)
    const mediaCount = async () =>
      ((await (await fetch(`${base}/api/media?limit=0`)).json()) as { totalDocs: number }).totalDocs
    const before = await mediaCount()
    const browser = await launchChromium()
    try {
      const page = await browser.newPage({ viewport: { height: 900, width: 1280 } })
      page.setDefaultTimeout(120_000)
      await logIn(page, base, 'admin@example.com', 'admin-password')

      await page.goto(`${base}/admin/collections/media/create`)
      // The edit view sends its form state to the server (unvalidated until a save) a moment
      // after each change. A Save clicked before that answer arrives gets its refusal's field
      // error wiped by it (Payload merges the late answer as "valid"), so the test waits for it,
      // as an editor's pace would.
      const formStateAnswered = page.waitForResponse(
        (response) =>
          response.request().method() === 'POST' &&
          new URL(response.url()).pathname === '/admin/collections/media/create' &&
          (response.request().postData() ?? '').includes('"name":"form-state"'),
      )
      await page.setInputFiles('input[type="file"]', {
        buffer: await gradientJPEG(1200, 800, [30, 160, 60], [240, 200, 40]),
        mimeType: 'image/jpeg',
        name: 'gradient.jpg',
      })
      await formStateAnswered
      await page.click('#action-save')
      // Refused with the message on the alt text field (Payload's `.field-error` tooltip there).
      const message = 'Alt text is required for Media'
      await page
        .locator('.field-type:has(#field-alt) .field-error')
        .filter({ hasText: message })
        .waitFor({ state: 'visible' })
      await screenshot(page, 'alt-required')
      expect(page.url()).toContain('/admin/collections/media/create')
      expect(await mediaCount()).toBe(before)

      // The same file, now with alt text: staged again and saved.
      await page.fill('#field-alt', 'A gradient')
      await page.click('#action-save')
      await page.waitForURL(/\/admin\/collections\/media\/\d+/)
      const id = page.url().match(/media\/(\d+)/)![1]
      const doc = (await (await fetch(`${base}/api/media/${id}`)).json()) as {
        alt: string
        filename: string
        mimeType: string
      }
      expect(doc).toMatchObject({ alt: 'A gradient', mimeType: 'image/webp' })
      expect(doc.filename.endsWith('.webp')).toBe(true)
      expect(await mediaCount()).toBe(before + 1)
    } finally {
      await browser.close()
    }
  },
  DEADLINE_MS + 180_000,
)

it(
  'stops the app, PostgreSQL and s3rver on Ctrl-C',
  async () => {
    const dev = await devServer()
    const { ports } = dev
    // Serving, with all three listening.
    await waitFor(dev, `${dev.base}/api/avatars`, dev.startedAt + DEADLINE_MS)
    for (const port of Object.values(ports)) expect(await listening(port), String(port)).toBe(true)
    dev.stopped = true
    expect(signal(dev, 'SIGINT')).toBe(true)
    // npm itself dies of the SIGINT like in a terminal; the launcher finishes stopping its children.
    await vi.waitFor(() => expect(dev.output()).toContain('[dev] Stopped.'), {
      interval: 200,
      timeout: 60_000,
    })
    expect(await listening(ports.app)).toBe(false)
    expect(await listening(ports.postgres)).toBe(false)
    expect(await listening(ports.s3)).toBe(false)
  },
  DEADLINE_MS + 90_000,
)
