/**
 * `npm run dev`: starts what is not configured (embedded PostgreSQL when DATABASE_URI is unset,
 * s3rver when S3_ENDPOINT is unset), then the Next dev server. Ctrl-C stops all of it.
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'

import { devAdmin } from './seed'
import { type RunningService, S3RVER_CREDENTIALS, startEmbeddedPostgres, startS3rver } from './services'

const env: Record<string, string | undefined> = { ...process.env }
const dataDir = path.resolve(env.IMAGE_ASSETS_DATA_DIR || '.data')
const port = env.PORT || '3000'
const host = env.HOSTNAME || '127.0.0.1'
const stops: Array<() => Promise<void>> = []
const say = (line: string) => console.log(`[dev] ${line}`)

const main = async () => {
  if (!env.DATABASE_URI) {
    const pgPort = Number(env.EMBEDDED_POSTGRES_PORT || 54329)
    say(`DATABASE_URI is unset: starting embedded PostgreSQL on 127.0.0.1:${pgPort} (data in ${path.join(dataDir, 'postgres')})`)
    const pg: RunningService<{ uri: string }> = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'postgres'),
      database: 'payload',
      log: (line) => console.error(`[postgres] ${line}`),
      port: pgPort,
    })
    stops.push(pg.stop)
    env.DATABASE_URI = pg.uri
  }
  if (!env.S3_ENDPOINT) {
    const s3Port = Number(env.S3RVER_PORT || 4569)
    env.S3_BUCKET ||= 'media'
    say(`S3_ENDPOINT is unset: starting s3rver on 127.0.0.1:${s3Port} (bucket "${env.S3_BUCKET}", data in ${path.join(dataDir, 's3')})`)
    const s3 = await startS3rver({ buckets: [env.S3_BUCKET], directory: path.join(dataDir, 's3'), port: s3Port })
    stops.push(s3.stop)
    env.S3_ENDPOINT = s3.endpoint
    env.S3_ACCESS_KEY_ID ||= S3RVER_CREDENTIALS.accessKeyId
    env.S3_SECRET_ACCESS_KEY ||= S3RVER_CREDENTIALS.secretAccessKey
    env.S3_REGION ||= 'us-east-1'
    env.S3_FORCE_PATH_STYLE ||= 'true'
  }
  env.IMAGE_ASSETS_DEV_SEED = '1'
  const admin = devAdmin(env)
  say(`Admin login (created on an empty database): ${admin.email} / ${admin.password}`)
  say(`Starting Next.js on http://${host}:${port} (admin: /admin, REST: /api, GraphQL: /api/graphql)`)

  const nextBin = createRequire(import.meta.url).resolve('next/dist/bin/next')
  const next = spawn(process.execPath, [nextBin, 'dev', '--port', port, '--hostname', host], { env, stdio: 'inherit' })
  let stopping = false
  const stop = async (code: number) => {
    if (stopping) return
    stopping = true
    say('Stopping…')
    if (next.exitCode === null) {
      next.kill('SIGTERM')
      await new Promise((resolve) => next.once('exit', resolve))
    }
    for (const fn of stops.reverse()) await fn().catch((error) => console.error(error))
    process.exit(code)
  }
  next.on('exit', (code) => void stop(code ?? 0))
  process.on('SIGINT', () => void stop(0))
  process.on('SIGTERM', () => void stop(0))
}

main().catch(async (error) => {
  console.error(error)
  for (const fn of stops.reverse()) await fn().catch(() => undefined)
  process.exit(1)
})
