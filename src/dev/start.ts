/**
 * `npm run dev`: starts what is not configured (embedded PostgreSQL when DATABASE_URI is unset,
 * s3rver when S3_ENDPOINT is unset), then the Next dev server. Ctrl-C stops all of it: the Next
 * server first, the services last, so nothing is cut off mid-request.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import type { ServicesReport } from './run-services'
import { devAdmin } from './seed'

const port = process.env.PORT || '3000'
const host = process.env.HOSTNAME || '127.0.0.1'
const say = (line: string) => console.log(`[dev] ${line}`)

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()))

const main = async () => {
  const services = fork(fileURLToPath(new URL('./run-services.ts', import.meta.url)), {
    detached: true,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const report = await new Promise<ServicesReport>((resolve, reject) => {
    services.once('message', (message) => resolve(message as ServicesReport))
    services.once('exit', (code) =>
      reject(new Error(`The dev services stopped before starting (exit code ${code}).`)),
    )
  })
  report.lines.forEach(say)

  const env = {
    ...process.env,
    ...report.env,
    IMAGE_ASSETS_DEV_SEED: '1',
    NEXT_TELEMETRY_DISABLED: '1',
  }
  const admin = devAdmin(env)
  say(`Admin login (created on an empty database): ${admin.email} / ${admin.password}`)
  say(
    `Starting Next.js on http://${host}:${port} (admin: /admin, REST: /api, GraphQL: /api/graphql)`,
  )
  const nextBin = createRequire(import.meta.url).resolve('next/dist/bin/next')
  const next = spawn(process.execPath, [nextBin, 'dev', '--port', port, '--hostname', host], {
    detached: true,
    env,
    stdio: 'inherit',
  })

  let stopping = false
  const stop = async (code: number) => {
    if (stopping) return
    stopping = true
    say('Stopping Next.js, then the services…')
    if (next.exitCode === null && next.pid) process.kill(-next.pid, 'SIGTERM')
    await exited(next)
    if (services.connected) services.kill('SIGTERM')
    await exited(services)
    say('Stopped.')
    process.exit(code)
  }
  next.on('exit', (code) => void stop(code ?? 0))
  services.on('exit', () => void stop(1))
  process.on('SIGINT', () => void stop(0))
  process.on('SIGTERM', () => void stop(0))
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
