/**
 * Child process of `npm run dev` (src/dev/start.ts): starts the services that are not configured
 * and reports the resulting environment over IPC. It runs in its own process group so that Ctrl-C
 * in the terminal reaches the launcher only, which stops the Next server first and this last.
 */
import path from 'node:path'

import {
  type RunningService,
  S3RVER_CREDENTIALS,
  startDevS3rver,
  startEmbeddedPostgres,
} from './services'

export type ServicesReport = { env: Record<string, string>; lines: string[] }

const env = process.env
const dataDir = path.resolve(env.IMAGE_ASSETS_DATA_DIR || '.data')
const stops: Array<() => Promise<void>> = []
const report: ServicesReport = { env: {}, lines: [] }

const stopAll = async (code: number) => {
  for (const stop of stops.reverse()) await stop().catch((error) => console.error(error))
  process.exit(code)
}

const main = async () => {
  if (!env.DATABASE_URI) {
    const port = Number(env.EMBEDDED_POSTGRES_PORT || 54329)
    const dir = path.join(dataDir, 'postgres')
    const pg: RunningService<{ uri: string }> = await startEmbeddedPostgres({
      dataDir: dir,
      database: 'payload',
      log: (line) => console.error(`[postgres] ${line}`),
      port,
    })
    stops.push(pg.stop)
    report.env.DATABASE_URI = pg.uri
    report.lines.push(
      `DATABASE_URI is unset: started embedded PostgreSQL on 127.0.0.1:${port} (data in ${dir})`,
    )
  }
  if (!env.S3_ENDPOINT) {
    const port = Number(env.S3RVER_PORT || 4569)
    const dir = path.join(dataDir, 's3')
    const bucket = env.S3_BUCKET || 'media'
    const s3 = await startDevS3rver({ bucket, directory: dir, port })
    stops.push(s3.stop)
    Object.assign(report.env, {
      S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID || S3RVER_CREDENTIALS.accessKeyId,
      S3_BUCKET: bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: env.S3_FORCE_PATH_STYLE || 'true',
      S3_REGION: env.S3_REGION || 'us-east-1',
      S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY || S3RVER_CREDENTIALS.secretAccessKey,
    })
    report.lines.push(
      `S3_ENDPOINT is unset: started s3rver on ${s3.endpoint} (bucket "${bucket}", data in ${dir})`,
    )
    report.lines.push(
      `The bucket answers like production's public-delivery policy: anonymous GET of ${s3.publicReadPrefixes.join(', ')} only; listing, writes, deletes and originals/ need the S3_* credentials`,
    )
  }
  process.send?.(report)
}

process.on('SIGTERM', () => void stopAll(0))
process.on('SIGINT', () => void stopAll(0))
// The launcher went away (even by SIGKILL): do not leave the databases running.
process.on('disconnect', () => void stopAll(0))

main().catch(async (error) => {
  console.error(error)
  await stopAll(1)
})
