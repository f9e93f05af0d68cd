/**
 * Creating an image from a URL, switched on with an allowlist (IMAGE_REMOTE_URL_HOSTS). The image
 * host here is a local server, so private addresses are allowed for the in-process app; a second
 * app, in a process of its own on the same database and bucket, has them refused (the default),
 * and every address form is proven in test/unit/remote.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

import sharp from 'sharp'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

import { startTestApp, type TestApp } from '../helpers/app'
import { gradientJPEG, smallGIF } from '../helpers/images'

let app: TestApp
let host: http.Server
let origin: string
const seen: http.IncomingHttpHeaders[] = []
let photo: Buffer

beforeAll(async () => {
  photo = await gradientJPEG(1200, 900, [0, 120, 200], [255, 200, 0])
  const gif = await smallGIF()
  host = http.createServer((req, res) => {
    seen.push(req.headers)
    if (req.url === '/photo.jpg')
      return res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(photo)
    if (req.url === '/party.jpg')
      return res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(gif)
    if (req.url === '/huge.jpg')
      return res
        .writeHead(200, { 'Content-Type': 'image/jpeg' })
        .end(Buffer.alloc(16 * 1024 * 1024, 0xff))
    if (req.url === '/elsewhere')
      return res
        .writeHead(302, {
          Location: `http://127.0.0.1:${(host.address() as AddressInfo).port}/photo.jpg`,
        })
        .end()
    if (req.url === '/hop') return res.writeHead(302, { Location: '/photo.jpg' }).end()
    res.writeHead(404).end('not here')
  })
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
  origin = `http://localhost:${(host.address() as AddressInfo).port}`
  app = await startTestApp({
    IMAGE_REMOTE_URL_ALLOW_PRIVATE: 'true',
    IMAGE_REMOTE_URL_HOSTS: 'localhost',
  })
})

afterAll(async () => {
  await app?.stop()
  await new Promise((resolve) => host?.close(resolve))
})

// Each test counts the image server's requests from its own start.
beforeEach(() => {
  seen.length = 0
})

const createFrom = async (collection: string, url: string) => {
  const response = await fetch(`${app.baseURL}/api/${collection}`, {
    body: JSON.stringify({ alt: 'from a URL', url }),
    headers: {
      Authorization: `JWT ${app.token}`,
      'Content-Type': 'application/json',
      Cookie: 'payload-token=secret-session',
    },
    method: 'POST',
  })
  return { body: await response.json(), status: response.status }
}

it('an allowed URL becomes a WebP like an upload; no cookie, token or client header is forwarded', async () => {
  const { body, status } = await createFrom('product-images', `${origin}/photo.jpg`)
  expect(status, JSON.stringify(body)).toBe(201)
  expect([body.doc.width, body.doc.height, body.doc.mimeType, body.doc.originalFilename]).toEqual([
    1024,
    768,
    'image/webp',
    'photo.jpg',
  ])
  const stored = await sharp(
    Buffer.from(await (await fetch(body.doc.url)).arrayBuffer()),
  ).metadata()
  expect([stored.format, stored.width]).toEqual(['webp', 1024])
  expect(seen).toHaveLength(1)
  expect(seen[0].cookie).toBeUndefined()
  expect(seen[0].authorization).toBeUndefined()
  expect(JSON.stringify(seen[0])).not.toMatch(/secret-session|JWT/)
})

it('with url and filename both given, the URL is fetched once, by the plugin, and the name kept for display', async () => {
  const response = await fetch(`${app.baseURL}/api/media`, {
    body: JSON.stringify({ filename: 'chosen name.jpg', url: `${origin}/photo.jpg` }),
    headers: { Authorization: `JWT ${app.token}`, 'Content-Type': 'application/json' },
    method: 'POST',
  })
  const body = await response.json()
  expect(response.status, JSON.stringify(body)).toBe(201)
  expect(body.doc.originalFilename).toBe('chosen name.jpg')
  expect(body.doc.filename).toMatch(/^[0-9a-f]{16}-[0-9a-f]{8}\.webp$/)
  expect(seen).toHaveLength(1)
})

it('a redirect on the same host is followed', async () => {
  const { body, status } = await createFrom('category-images', `${origin}/hop`)
  expect(status, JSON.stringify(body)).toBe(201)
})

const refusals: Array<[string, () => string, number, string, string]> = [
  [
    'a host not on the allowlist',
    () => `http://127.0.0.1:${(host.address() as AddressInfo).port}/photo.jpg`,
    400,
    'media',
    'The URL cannot be used because the host "127.0.0.1" is not on the allowlist (localhost). Nothing was saved to Media; upload the file itself or use an allowed URL.',
  ],
  [
    'a redirect to a host not on the allowlist',
    () => `${origin}/elsewhere`,
    400,
    'media',
    'The URL cannot be used because the host "127.0.0.1" is not on the allowlist (localhost). Nothing was saved to Media; upload the file itself or use an allowed URL.',
  ],
  [
    'a file: URL',
    () => 'file:///etc/passwd',
    400,
    'media',
    'The URL cannot be used because only http and https URLs are fetched, not file. Nothing was saved to Media; upload the file itself or use an allowed URL.',
  ],
  [
    'a URL with credentials',
    () => `http://user:pass@localhost:${(host.address() as AddressInfo).port}/photo.jpg`,
    400,
    'media',
    'The URL cannot be used because URLs with credentials are not fetched. Nothing was saved to Media; upload the file itself or use an allowed URL.',
  ],
  [
    'a URL that answers 404',
    () => `${origin}/missing.jpg`,
    422,
    'media',
    'The image could not be fetched from the URL because the server answered HTTP 404. Nothing was saved to Media.',
  ],
  [
    'a GIF behind a .jpg URL',
    () => `${origin}/party.jpg`,
    400,
    'avatars',
    "The file's content is not a JPEG, PNG or WebP image, whatever its name says, so it is not allowed for Avatars. Allowed extensions are .jpg, .jpeg, .png and .webp.",
  ],
  [
    'a file over the byte limit',
    () => `${origin}/huge.jpg`,
    413,
    'avatars',
    'The file at the URL is larger than 15 MB, the most Avatars accepts. Use a smaller image.',
  ],
]

for (const [what, url, status, collection, message] of refusals) {
  it(`${what} → ${status}, nothing saved`, async () => {
    const rowsBefore = (await app.sql(`select id from ${collection.replace('-', '_')}`)).length
    const keysBefore = await app.listKeys()
    const result = await createFrom(collection, url())
    expect(result.status).toBe(status)
    expect(result.body.errors[0].message).toBe(message)
    expect((await app.sql(`select id from ${collection.replace('-', '_')}`)).length).toBe(
      rowsBefore,
    )
    expect(await app.listKeys()).toEqual(keysBefore)
  })
}

/**
 * The reference app in a child process (test/helpers/appProcess.ts) on this file's database and
 * bucket, with `env` over the test's; resolves with its base URL once it serves, or rejects with
 * its output if it exits first.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const READY = 'APP_READY '
type AppProcess = { baseURL: string; child: ChildProcess; exited: Promise<number | null> }
const startAppProcess = (env: Record<string, string>) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/appProcess.ts'], {
    cwd: ROOT,
    env: { ...process.env, IMAGE_CLEANUP_INTERVAL_SECONDS: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  const output: string[] = []
  const started = new Promise<AppProcess>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the app process did not serve within 150 s:\n${output.join('')}`)),
      150_000,
    )
    child.stdout!.setEncoding('utf8')
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => output.push(chunk))
    child.stdout!.on('data', (chunk: string) => {
      output.push(chunk)
      const ready = output
        .join('')
        .split('\n')
        .find((line) => line.startsWith(READY))
      if (ready) {
        clearTimeout(timer)
        resolve({
          baseURL: (JSON.parse(ready.slice(READY.length)) as { baseURL: string }).baseURL,
          child,
          exited,
        })
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`the app process exited (${code}) before serving:\n${output.join('')}`))
    })
  })
  return { child, exited, output, started }
}

describe('an app with private addresses not allowed (the default)', () => {
  let strict: AppProcess | undefined

  beforeAll(async () => {
    strict = await startAppProcess({
      IMAGE_REMOTE_URL_ALLOW_PRIVATE: '',
      IMAGE_REMOTE_URL_HOSTS: 'localhost',
    }).started
  }, 180_000)

  afterAll(async () => {
    strict?.child.kill('SIGKILL')
    await strict?.exited
  })

  const port = () => (host.address() as AddressInfo).port
  const notAllowed = (reason: string) =>
    `The URL cannot be used because ${reason}. Nothing was saved to Media; upload the file itself or use an allowed URL.`
  // Every one of these reaches the local image server at 127.0.0.1 (or its IPv6 forms) if fetched.
  const refused: Array<[string, () => string, string]> = [
    [
      'an allowlisted host name that resolves to loopback',
      () => `http://localhost:${port()}/photo.jpg`,
      'the host "localhost" resolves to a non-public address',
    ],
    [
      '127.0.0.1 spelled 0x7f.1',
      () => `http://0x7f.1:${port()}/photo.jpg`,
      'the host "127.0.0.1" is not on the allowlist (localhost)',
    ],
    [
      '127.0.0.1 spelled 2130706433',
      () => `http://2130706433:${port()}/photo.jpg`,
      'the host "127.0.0.1" is not on the allowlist (localhost)',
    ],
    [
      '127.0.0.1 spelled 0177.0.0.1',
      () => `http://0177.0.0.1:${port()}/photo.jpg`,
      'the host "127.0.0.1" is not on the allowlist (localhost)',
    ],
    [
      '127.0.0.1 as a bracketed NAT64 address',
      () => `http://[64:ff9b::127.0.0.1]:${port()}/photo.jpg`,
      'the host "64:ff9b::7f00:1" is not on the allowlist (localhost)',
    ],
    [
      '127.0.0.1 as a bracketed IPv4-compatible address',
      () => `http://[::7f00:1]:${port()}/photo.jpg`,
      'the host "::7f00:1" is not on the allowlist (localhost)',
    ],
  ]
  for (const [what, url, reason] of refused) {
    it(`${what} → 400; the image server gets no request, nothing saved`, async () => {
      const rowsBefore = (await app.sql('select id from media')).length
      const keysBefore = await app.listKeys()
      const response = await fetch(`${strict!.baseURL}/api/media`, {
        body: JSON.stringify({ alt: 'from a URL', url: url() }),
        headers: { Authorization: `JWT ${app.token}`, 'Content-Type': 'application/json' },
        method: 'POST',
      })
      const body = await response.json()
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(body.errors[0].message).toBe(notAllowed(reason))
      expect(seen).toHaveLength(0)
      expect((await app.sql('select id from media')).length).toBe(rowsBefore)
      expect(await app.listKeys()).toEqual(keysBefore)
    })
  }

  it('a non-public IP address on the allowlist stops the app at start, naming the option and the address', async () => {
    const failing = startAppProcess({
      IMAGE_REMOTE_URL_ALLOW_PRIVATE: '',
      IMAGE_REMOTE_URL_HOSTS: 'localhost,[64:ff9b::127.0.0.1]',
    })
    failing.started.catch(() => undefined)
    expect(await failing.exited).not.toBe(0)
    expect(failing.output.join('')).toContain(
      'payload-image-assets: Expected a host name or a public IP address (64:ff9b::7f00:1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[1] but received "[64:ff9b::127.0.0.1]"',
    )
    expect(seen).toHaveLength(0)
  }, 120_000)
})
