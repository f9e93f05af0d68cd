/**
 * Production's database schema comes from the committed migrations (src/migrations), never from
 * schema push: the migrations match the config, and the app started in production against an
 * empty database runs them and takes an upload.
 */
import { spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import pg from 'pg'
import sharp from 'sharp'
import { afterAll, beforeAll, expect, inject, it } from 'vitest'

import { dropDatabase, ensureDatabase } from '../../src/dev/services'
import { startTestApp, type TestApp } from '../helpers/app'
import { startChildApp, tail } from '../helpers/childApp'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const MIGRATIONS = path.join(ROOT, 'src/migrations')
const alive = new Set<ChildProcess>()
const databases: string[] = []
let app: TestApp

/** A new, empty database on the test server. */
const emptyDatabase = async (): Promise<string> => {
  const name = `pia_test_migrate_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
  await ensureDatabase(inject('pgAdminURI'), name)
  databases.push(name)
  const uri = new URL(inject('pgAdminURI'))
  uri.pathname = `/${name}`
  return uri.toString()
}

beforeAll(async () => {
  // The bucket and the S3 settings the child app inherits.
  app = await startTestApp()
})

afterAll(async () => {
  for (const child of alive) child.kill('SIGKILL')
  await app?.stop()
  for (const name of databases)
    await dropDatabase(inject('pgAdminURI'), name).catch(() => undefined)
})

it('the committed migrations match the config (migrate:create finds nothing to add)', async () => {
  const before = new Set(await readdir(MIGRATIONS))
  const index = await readFile(path.join(MIGRATIONS, 'index.ts'), 'utf8')
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URI: await emptyDatabase() }
  delete env.S3_BUCKET // migrate:create needs no bucket
  const result = spawnSync(
    process.execPath,
    ['node_modules/payload/bin.js', 'migrate:create', 'drift-check', '--skip-empty'],
    { cwd: ROOT, encoding: 'utf8', env, input: '', timeout: 120_000 },
  )
  const added = (await readdir(MIGRATIONS)).filter((f) => !before.has(f))
  // Leave the repository as it was, whatever happened.
  for (const file of added) await rm(path.join(MIGRATIONS, file), { force: true })
  await writeFile(path.join(MIGRATIONS, 'index.ts'), index)
  expect(
    added,
    `the config changed the schema: run \`npx payload migrate:create <name>\` and commit it\n${result.stdout}${result.stderr}`,
  ).toEqual([])
  expect(result.status, `${result.stdout}${result.stderr}`).toBe(0)
})

it('in production, an empty database gets its schema from the migrations and takes an upload', async () => {
  const databaseURI = await emptyDatabase()
  const child = await startChildApp(
    'production',
    { DATABASE_URI: databaseURI, NODE_ENV: 'production', PAYLOAD_SECRET: 'migrations-test' },
    alive,
  )
  try {
    const db = new pg.Client({ connectionString: databaseURI })
    await db.connect()
    try {
      const { rows } = await db.query<{ name: string }>('select name from payload_migrations')
      const committed = (await readdir(MIGRATIONS))
        .filter((f) => /^\d{8}_\d{6}_.*\.ts$/.test(f))
        .map((f) => f.replace(/\.ts$/, ''))
      expect(rows.map((r) => r.name).sort(), tail(child.log)).toEqual(committed.sort())
      // No schema push in production: Payload records a push as a migration named "dev".
      expect(rows.map((r) => r.name)).not.toContain('dev')
    } finally {
      await db.end()
    }

    const register = await fetch(`${child.baseURL}/api/users/first-register`, {
      body: JSON.stringify({ email: 'admin@example.com', password: 'admin-password' }),
      headers: { 'Content-Type': 'application/json' },
      method: 'POST',
    })
    const registered = (await register.json()) as { token?: string; user?: { role?: string } }
    expect(register.status, JSON.stringify(registered)).toBe(200)
    expect(registered.user?.role).toBe('admin')

    const form = new FormData()
    const jpeg = await sharp({
      create: { background: '#2a6', channels: 3, height: 1200, width: 1600 },
    })
      .jpeg()
      .toBuffer()
    form.append('file', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'first.jpg')
    form.append('_payload', JSON.stringify({ alt: 'First image' }))
    const upload = await fetch(`${child.baseURL}/api/product-images`, {
      body: form,
      headers: { Authorization: `JWT ${registered.token}` },
      method: 'POST',
    })
    const body = (await upload.json()) as { doc?: { filename: string; mimeType: string } }
    expect(upload.status, `${JSON.stringify(body)}\n${tail(child.log)}`).toBe(201)
    expect(body.doc?.mimeType).toBe('image/webp')
    expect(await app.listKeys(`product-images/${body.doc?.filename}`)).toHaveLength(1)
  } finally {
    child.child.kill('SIGKILL')
    await child.exited
  }
})
