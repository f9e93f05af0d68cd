/**
 * The plugin dropped into a Payload + Next.js app that is not this repository's: the test packs
 * the plugin (`npm pack`, its own prepack build), generates a minimal app of its own from
 * test/fixtures/dropin-app (users, and a `media` upload collection with the app's own `alt`,
 * `credit` and hooks, which the plugin adopts), installs the tarball into the app's node_modules,
 * and follows the README as a user would: `payload generate:importmap`, `generate:types` (and code
 * against them under `tsc`), `next build` with the README's next.config.ts (which must refuse a
 * config without a bucket), `payload migrate:create`, then `next build` and `next start` in
 * production against an empty database with the migration wired as `prodMigrations`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, realpath, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'

import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import pg from 'pg'
import sharp from 'sharp'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest'

import { dropDatabase, ensureDatabase, freePort, S3RVER_CREDENTIALS } from '../../src/dev/services'
import {
  baseEnv,
  BIN,
  generateApp,
  killGroup,
  packPlugin,
  ROOT,
  runNode,
  tailOf,
} from '../helpers/dropin'

const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
const WORK = path.join(ROOT, 'test/.tmp', `dropin-${id}`)
const APP = path.join(WORK, 'app')
const INSTALLED = path.join(APP, 'node_modules/payload-image-assets')
const database = `pia_test_dropin_${id}`
const bucket = `test-dropin-${id}`
const AUDIT_LOG = path.join(WORK, 'media-audit.log')
const ADMIN = { email: 'owner@example.com', password: 'owner-password' }

let failed = false
let packedFiles: string[] = []
let databaseURI: string
let s3: S3Client
let server: ChildProcess | undefined
let serverOutput = ''
/** The production server's origin and the first admin's token (set by the production test). */
let origin = ''
let token = ''

/** The settings of a deployment: database, secret and every S3_* variable. */
const fullEnv = (extra: Record<string, string> = {}) =>
  baseEnv({
    DATABASE_URI: databaseURI,
    PAYLOAD_SECRET: `dropin-${id}`,
    S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    S3_BUCKET: bucket,
    S3_ENDPOINT: inject('s3Endpoint'),
    S3_FORCE_PATH_STYLE: 'true',
    S3_REGION: 'us-east-1',
    S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    ...extra,
  })

/** What CI has: the database and the secret, no S3 settings at all. */
const noS3Env = () => baseEnv({ DATABASE_URI: databaseURI, PAYLOAD_SECRET: `dropin-${id}` })

const payloadCommand = (args: string[], env: NodeJS.ProcessEnv) =>
  runNode(BIN.payload, args, { cwd: APP, env, timeoutMs: 180_000 })

const nextBuild = (env: NodeJS.ProcessEnv) =>
  runNode(BIN.next, ['build'], { cwd: APP, env, timeoutMs: 540_000 })

const listKeys = async (prefix: string): Promise<string[]> => {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))
  return (page.Contents ?? []).map((o) => o.Key ?? '')
}

const sql = async <T extends Record<string, unknown>>(text: string): Promise<T[]> => {
  const client = new pg.Client({ connectionString: databaseURI })
  await client.connect()
  try {
    return (await client.query<T>(text)).rows
  } finally {
    await client.end()
  }
}

beforeAll(async () => {
  try {
    await mkdir(WORK, { recursive: true })
    const adminURI = inject('pgAdminURI')
    await ensureDatabase(adminURI, database)
    const uri = new URL(adminURI)
    uri.pathname = `/${database}`
    databaseURI = uri.toString()
    s3 = new S3Client({
      credentials: S3RVER_CREDENTIALS,
      endpoint: inject('s3Endpoint'),
      forcePathStyle: true,
      region: 'us-east-1',
    })
    await s3.send(new CreateBucketCommand({ Bucket: bucket }))

    const { files, tarball } = await packPlugin(WORK)
    packedFiles = files
    await generateApp(APP, tarball)
  } catch (error) {
    failed = true
    throw error
  }
}, 600_000)

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    failed = true
  })
})

afterAll(async () => {
  if (server) {
    const exited = new Promise((resolve) => server!.once('exit', resolve))
    killGroup(server, 'SIGTERM')
    const timer = setTimeout(() => killGroup(server!, 'SIGKILL'), 10_000)
    if (server.exitCode === null && server.signalCode === null) await exited
    clearTimeout(timer)
  }
  s3?.destroy()
  await dropDatabase(inject('pgAdminURI'), database).catch(() => undefined)
  if (failed) console.log(`dropin.test: the generated app is kept for debugging in ${APP}`)
  else await rm(WORK, { force: true, recursive: true })
}, 60_000)

describe('the packed plugin in an app of its own', () => {
  it('installs from the tarball: the app resolves its own copy, not the workspace', async () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['package.json', 'dist/index.js']))
    expect(packedFiles.filter((f) => f.startsWith('src/'))).toEqual([])

    const fromApp = createRequire(path.join(APP, 'package.json'))
    const entry = fromApp.resolve('payload-image-assets')
    expect(entry).toBe(path.join(INSTALLED, 'dist/index.js'))
    expect(await realpath(entry)).toBe(entry) // a copy, not a link to plugins/image-assets
    expect(path.dirname(fromApp.resolve('payload-image-assets/react'))).toBe(
      path.join(INSTALLED, 'dist/react'),
    )
    // Its peers are the app's (here the repository's node_modules above the app), the same ones.
    const fromPlugin = createRequire(entry)
    expect(fromPlugin.resolve('payload')).toBe(fromApp.resolve('payload'))
    expect(fromPlugin.resolve('sharp')).toBe(fromApp.resolve('sharp'))
  })

  it('1. the config builds: `payload image-assets:check` loads it and lists the adopted media', async () => {
    const check = await payloadCommand(['image-assets:check'], fullEnv())
    expect(check.code, tailOf(check.output)).toBe(0)
    expect(check.output).toContain(`payload-image-assets: configuration OK (bucket "${bucket}")`)
    // One line per collection: the app's media, adopted; the built-in ones switched off.
    const lines = check.output.split('\n')
    expect(lines.filter((line) => /^ {2}media: .*adopted from the app$/.test(line))).toHaveLength(1)
    expect(
      lines.filter((line) => /^ {2}(avatars|category-images|product-images): /.test(line)),
    ).toEqual([])

    // The admin's dashboard panel: the import map refers to the package's admin entry.
    const importMap = await payloadCommand(['generate:importmap'], noS3Env())
    expect(importMap.code, tailOf(importMap.output)).toBe(0)
    expect(
      await readFile(path.join(APP, 'src/app/(payload)/admin/importMap.js'), 'utf8'),
    ).toContain("from 'payload-image-assets/admin'")
  })

  it('3. generate:types (no S3 settings) types the variants: the app’s code compiles under tsc', async () => {
    const types = await payloadCommand(['generate:types'], noS3Env())
    expect(types.code, tailOf(types.output)).toBe(0)
    const generated = await readFile(path.join(APP, 'src/payload-types.ts'), 'utf8')
    expect(generated).toContain('export interface Media {')

    // src/typed-usage.tsx reads doc.variants?.[0]?.url, doc.credit, doc.avif and renders
    // <Picture image={doc} />; its `@ts-expect-error` (a variant's width assigned to a string)
    // turns into an error if `variants` were `any`, and the rest fails if it were JSON.
    const tsc = await runNode(BIN.tsc, ['--noEmit', '-p', 'tsconfig.json', '--listFiles'], {
      cwd: APP,
      env: baseEnv(),
      timeoutMs: 300_000,
    })
    const errors = tsc.output
      .split('\n')
      .filter((line) => !line.startsWith('/'))
      .join('\n')
    expect(tsc.code, errors).toBe(0)
    const compiled = tsc.output.split('\n')
    expect(compiled).toContain(path.join(APP, 'src/typed-usage.tsx'))
    expect(compiled).toContain(path.join(APP, 'src/payload-types.ts'))
    expect(compiled).toContain(path.join(INSTALLED, 'dist/react/index.d.ts'))
  }, 600_000)

  it('4. `next build` without a bucket stops with the plugin’s message and a non-zero exit', async () => {
    const env = fullEnv({ NODE_ENV: 'production' })
    delete env.S3_BUCKET
    const build = await nextBuild(env)
    expect(build.code, tailOf(build.output)).not.toBe(0)
    expect(build.code).not.toBeNull() // it exited by itself, not killed at the timeout
    expect(build.output).toContain(
      'payload-image-assets: Expected a bucket name for storage.bucket (or the S3_BUCKET environment variable) but received undefined',
    )
    expect(build.output).toContain(
      'The Payload config did not load (the message is above); the build stops.',
    )
    expect(existsSync(path.join(APP, '.next/BUILD_ID'))).toBe(false)
  }, 600_000)

  let migrationName = ''

  it('5. `payload migrate:create` (no S3 settings) writes the migration that prodMigrations runs', async () => {
    const created = await payloadCommand(['migrate:create', 'initial'], noS3Env())
    expect(created.code, tailOf(created.output)).toBe(0)
    const migrations = (await readdir(path.join(APP, 'src/migrations')))
      .filter((f) => /^\d{8}_\d{6}_initial\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
    expect(migrations, created.output).toHaveLength(1)
    migrationName = migrations[0]!
    const index = await readFile(path.join(APP, 'src/migrations/index.ts'), 'utf8')
    expect(index).toContain(`name: '${migrationName}'`)
    const migration = await readFile(
      path.join(APP, 'src/migrations', `${migrationName}.ts`),
      'utf8',
    )
    // The app's own table, with the plugin's fields on it.
    expect(migration).toContain('CREATE TABLE "media"')
    expect(migration).toContain('variants')
    // Making it touched nothing: the database is still empty.
    expect(
      await sql(`select table_name from information_schema.tables where table_schema = 'public'`),
    ).toEqual([])
  })

  it('5. in production, `next build` and `next start` on the empty database: it migrates and serves', async () => {
    expect(migrationName, 'needs the migration of the previous test').not.toBe('')
    const env = fullEnv({ MEDIA_AUDIT_LOG: AUDIT_LOG, NODE_ENV: 'production' })
    const build = await nextBuild(env)
    expect(build.code, tailOf(build.output)).toBe(0)
    expect(build.output).toContain(`payload-image-assets: configuration OK (bucket "${bucket}")`)

    // The plugin is bundled (only sharp stays external, as the README's next.config.ts says): the
    // server's code holds the app's installed copy of it, and nothing of the workspace's
    // (plugins/image-assets), neither bundled nor in the API route's trace.
    const serverDir = path.join(APP, '.next/server')
    const serverFiles = (await readdir(serverDir, { recursive: true })).filter((f) =>
      f.endsWith('.js'),
    )
    let fromInstalled = 0
    let fromWorkspace = 0
    for (const file of serverFiles) {
      const text = await readFile(path.join(serverDir, file), 'utf8')
      if (text.includes('node_modules/payload-image-assets/dist/')) fromInstalled++
      if (text.includes('plugins/image-assets/')) fromWorkspace++
    }
    expect(fromInstalled).toBeGreaterThan(0)
    expect(fromWorkspace).toBe(0)
    const routeDir = path.join(serverDir, 'app/(payload)/api/[...slug]')
    const trace = JSON.parse(await readFile(path.join(routeDir, 'route.js.nft.json'), 'utf8')) as {
      files: string[]
    }
    const traced = await Promise.all(
      trace.files
        .map((f) => path.resolve(routeDir, f))
        .filter((f) => f.includes('image-assets'))
        .map((f) => realpath(f).catch(() => f)),
    )
    const inApp = (f: string) => f === INSTALLED || f.startsWith(`${INSTALLED}/`)
    expect(traced.filter((f) => !inApp(f))).toEqual([])

    const port = await freePort()
    origin = `http://127.0.0.1:${port}`
    server = spawn(process.execPath, [BIN.next, 'start', '-p', String(port), '-H', '127.0.0.1'], {
      cwd: APP,
      detached: true,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const keep = (chunk: Buffer) => {
      serverOutput = (serverOutput + chunk.toString()).slice(-20_000)
    }
    server.stdout!.on('data', keep)
    server.stderr!.on('data', keep)
    // The first request to the API starts Payload, which runs the pending migrations first.
    await vi.waitFor(
      async () => {
        expect(server!.exitCode, tailOf(serverOutput)).toBeNull()
        const status = await fetch(`${origin}/api/media`).then(
          (r) => r.status,
          () => 0,
        )
        expect(status, `next start did not serve:\n${tailOf(serverOutput)}`).toBe(200)
      },
      { interval: 500, timeout: 180_000 },
    )
    const ran = await sql<{ name: string }>('select name from payload_migrations order by name')
    // Only the migration: production never pushes the schema (a push is recorded as "dev").
    expect(ran.map((r) => r.name)).toEqual([migrationName])

    const register = await fetch(`${origin}/api/users/first-register`, {
      body: JSON.stringify(ADMIN),
      headers: { 'Content-Type': 'application/json' },
      method: 'POST',
    })
    const registered = (await register.json()) as { token?: string }
    expect(register.status, JSON.stringify(registered)).toBe(200)
    expect(registered.token).toBeTruthy()
    token = registered.token!
  }, 600_000)

  /** A multipart POST to the app's `media` as the admin, as the admin UI or an API client sends it. */
  const uploadMedia = async (data: Record<string, unknown>) => {
    const jpeg = await sharp({
      create: { background: '#2a6', channels: 3, height: 1200, width: 1600 },
    })
      .composite([
        {
          input: Buffer.from(
            '<svg width="1600" height="1200"><circle cx="800" cy="600" r="400" fill="#c33"/></svg>',
          ),
        },
      ])
      .jpeg({ quality: 90 })
      .toBuffer()
    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'team.jpg')
    form.append('_payload', JSON.stringify(data))
    const response = await fetch(`${origin}/api/media`, {
      body: form,
      headers: { Authorization: `JWT ${token}` },
      method: 'POST',
    })
    return { body: (await response.json()) as Record<string, any>, status: response.status }
  }

  it('2. an upload to the app’s own media becomes a WebP with variants in the bucket; the app’s field and hooks still work', async () => {
    expect(token, 'needs the production server of the previous test').not.toBe('')
    const { body, status } = await uploadMedia({ alt: 'The team', credit: 'ada lovelace' })
    expect(status, `${JSON.stringify(body)}\n${tailOf(serverOutput)}`).toBe(201)
    const doc = body.doc!
    expect(doc.mimeType).toBe('image/webp')
    expect(doc.filename).toMatch(/\.webp$/)
    expect([doc.width, doc.height]).toEqual([1440, 1080]) // media's box: 1920 x 1080
    expect(doc.variants.length).toBeGreaterThan(0)
    for (const variant of doc.variants) expect(variant.url).toMatch(/\/media\/[^/]+\.webp$/)
    // The app's own field and its beforeChange hook (credits in capitals).
    expect(doc.alt).toBe('The team')
    expect(doc.credit).toBe('ADA LOVELACE')
    const [row] = await sql<{ credit: string; mime_type: string }>(
      `select credit, mime_type from media where id = ${Number(doc.id)}`,
    )
    expect(row).toEqual({ credit: 'ADA LOVELACE', mime_type: 'image/webp' })
    // Its afterChange hook ran after the plugin's, on the final document.
    const audit = (await readFile(AUDIT_LOG, 'utf8')).trim().split('\n')
    expect(audit.map((line) => JSON.parse(line))).toEqual([
      {
        credit: 'ADA LOVELACE',
        id: doc.id,
        mimeType: 'image/webp',
        operation: 'create',
        variants: doc.variants.length,
      },
    ])
    // The objects are in the bucket under media/: the main WebP and each variant.
    expect((await listKeys('media/')).sort()).toEqual(
      [doc.filename, ...doc.variants.map((v: { filename: string }) => v.filename)]
        .map((name) => `media/${name}`)
        .sort(),
    )
    expect([...doc.objectKeys].sort()).toEqual((await listKeys('media/')).sort())
    const main = await fetch(doc.url)
    expect(main.status).toBe(200)
    expect(main.headers.get('content-type')).toBe('image/webp')
  })

  it('the app’s `alt` stays required, and the admin renders the plugin’s dashboard panel', async () => {
    expect(token, 'needs the production server of the earlier test').not.toBe('')
    // The app's `alt` replaced the plugin's and keeps its `required`.
    const refused = await uploadMedia({ credit: 'nobody' })
    expect(refused.status, JSON.stringify(refused.body)).toBe(400)
    expect(refused.body.errors?.[0]?.data?.errors, JSON.stringify(refused.body)).toEqual([
      expect.objectContaining({ path: 'alt' }),
    ])

    // The dashboard, logged in: the panel comes from the generated import map.
    const dashboard = await fetch(`${origin}/admin`, {
      headers: { Cookie: `payload-token=${token}` },
    })
    expect(dashboard.status, tailOf(serverOutput)).toBe(200)
    const html = await dashboard.text()
    expect(html).toContain('Image savings')
    expect(html).toMatch(/<tr[^>]* data-collection="media"/) // the panel's row for the app's media
  }, 600_000)
})
