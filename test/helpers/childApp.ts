/**
 * The reference app in a child process (test/helpers/appProcess.ts), on the environment given:
 * resolves once it serves, keeps the last lines of its output, and is tracked in `alive` until
 * it exits so that a test can kill whatever is left.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const READY = 'APP_READY '

export type ChildApp = {
  baseURL: string
  child: ChildProcess
  exited: Promise<void>
  log: string[]
  name: string
}

/** The last lines of a child's output, for failure messages. */
export const tail = (log: string[]) => log.slice(-60).join('\n')

export const startChildApp = async (
  name: string,
  env: Record<string, string | undefined>,
  alive: Set<ChildProcess>,
): Promise<ChildApp> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/appProcess.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  alive.add(child)
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      alive.delete(child)
      resolve()
    })
  })
  const log: string[] = []
  const keep = (line: string) => {
    log.push(line)
    if (log.length > 400) log.splice(0, log.length - 400)
  }
  const baseURL = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`app process ${name} did not serve within 150 s:\n${tail(log)}`)),
      150_000,
    )
    let pending = ''
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (chunk: string) => {
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith(READY)) {
          clearTimeout(timer)
          resolve((JSON.parse(line.slice(READY.length)) as { baseURL: string }).baseURL)
        } else keep(line)
      }
    })
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => chunk.split('\n').forEach(keep))
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(
        new Error(`app process ${name} exited (${code ?? signal}) before serving:\n${tail(log)}`),
      )
    })
  })
  return { baseURL, child, exited, log, name }
}

/** SIGKILLs every child still alive and waits until each has exited. */
export const killAll = async (alive: Set<ChildProcess>): Promise<void> => {
  const children = [...alive]
  for (const child of children) child.kill('SIGKILL')
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode !== null || child.signalCode !== null
            ? resolve(undefined)
            : child.once('exit', resolve),
        ),
    ),
  )
}
