/**
 * A fresh Payload + Next.js app of its own, generated from test/fixtures/dropin-app, with the
 * plugin installed the way a user installs it: from the package `npm pack` makes (not the
 * workspace link). The app lives under test/.tmp, so that its other packages (payload, next,
 * react, @payloadcms/*, sharp, the AWS SDK) resolve from the repository's node_modules, while
 * `payload-image-assets` resolves from the app's own node_modules.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const TEMPLATE = path.join(ROOT, 'test/fixtures/dropin-app')
const PLUGIN = path.join(ROOT, 'plugins/image-assets')

/** The JS entries of the commands the app runs (what `npx next` / `npx payload` would start). */
export const BIN = {
  next: path.join(ROOT, 'node_modules/next/dist/bin/next'),
  payload: path.join(ROOT, 'node_modules/payload/bin.js'),
  tsc: path.join(ROOT, 'node_modules/typescript/bin/tsc'),
}

export type Run = {
  code: number | null
  /** stdout and stderr together, in the order they came. */
  output: string
  signal: NodeJS.Signals | null
  stdout: string
}

/** The last part of a long output, for failure messages. */
export const tailOf = (text: string, chars = 6000) =>
  text.length > chars ? `…${text.slice(-chars)}` : text

/**
 * The environment a child starts from: this process's, without vitest's markers, npm's lifecycle
 * variables (`npm test` sets `npm_config_local_prefix` to the repository, which would make a
 * nested `npm pack` pack the repository) and every setting the app reads, so that each command
 * gets exactly the settings the test gives it.
 */
export const baseEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(env)) {
    if (
      /^(VITEST|npm_|S3_|MEDIA_|IMAGE_|PAYLOAD_|NEXT_|__NEXT)/.test(name) ||
      ['DATABASE_URI', 'NODE_ENV', 'PORT', 'HOSTNAME', 'TURBOPACK'].includes(name)
    )
      delete env[name]
  }
  return { ...env, NEXT_TELEMETRY_DISABLED: '1', ...extra }
}

/**
 * Runs a command to its end (stdin closed), collecting stdout and stderr together. It runs in its
 * own process group, which is killed when the timeout passes.
 */
export const run = (
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      detached: true,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    let stdout = ''
    child.stdout!.on('data', (chunk) => {
      output += chunk
      stdout += chunk
    })
    child.stderr!.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => {
      output += `\n[test] ${path.basename(command)} ${args.join(' ')}: killed after ${options.timeoutMs} ms\n`
      killGroup(child, 'SIGKILL')
    }, options.timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, output, signal, stdout })
    })
  })

/** Runs a Node script (a package's bin entry) with this Node. */
export const runNode = (
  script: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
) => run(process.execPath, [script, ...args], options)

/** Signals a child's whole process group (it was spawned `detached`), ignoring one already gone. */
export const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already exited
  }
}

/**
 * Packs the plugin as `npm pack` publishes it: the package's directory (without `dist` and
 * `node_modules`) is copied to `workDir/plugin`, where npm runs the package's own `prepack` (the
 * build) and packs. The workspace's `dist`, which the other tests import, is left alone. Returns
 * the tarball's path and the files it holds.
 */
export const packPlugin = async (
  workDir: string,
): Promise<{ files: string[]; tarball: string }> => {
  const staging = path.join(workDir, 'plugin')
  const skipped = new Set(['dist', 'node_modules'].map((name) => path.join(PLUGIN, name)))
  await cp(PLUGIN, staging, { filter: (source) => !skipped.has(source), recursive: true })
  const packed = await run(
    'npm',
    ['pack', '--json', '--no-update-notifier', '--pack-destination', workDir],
    { cwd: staging, env: baseEnv(), timeoutMs: 300_000 },
  )
  if (packed.code !== 0)
    throw new Error(`npm pack failed (${packed.code}):\n${tailOf(packed.output)}`)
  // The prepack script's output comes first on stdout, then the JSON report.
  const start = packed.stdout.search(/^\[\s*$/m)
  if (start < 0) throw new Error(`npm pack printed no report:\n${tailOf(packed.output)}`)
  const [report] = JSON.parse(packed.stdout.slice(start)) as Array<{
    filename: string
    files: Array<{ path: string }>
  }>
  return {
    files: report!.files.map((f) => f.path),
    tarball: path.join(workDir, report!.filename),
  }
}

/** Every file under `dir`, relative to it. */
const listFiles = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))

/**
 * Writes the app from the template into `appDir` (each `<name>.txt` becomes `<name>`, with the
 * placeholders filled in) and installs the packed plugin into `appDir/node_modules`, as npm would
 * from the tarball.
 */
export const generateApp = async (appDir: string, tarball: string): Promise<void> => {
  for (const file of await listFiles(TEMPLATE)) {
    if (!file.endsWith('.txt')) continue
    const text = (await readFile(path.join(TEMPLATE, file), 'utf8'))
      .replaceAll('__WORKSPACE_ROOT__', ROOT.replace(/\/$/, ''))
      .replaceAll('__TARBALL__', tarball)
    const target = path.join(appDir, file.slice(0, -'.txt'.length))
    await mkdir(path.dirname(target), { recursive: true })
    await writeFile(target, text)
  }
  const installed = path.join(appDir, 'node_modules/payload-image-assets')
  await mkdir(installed, { recursive: true })
  const untar = await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], {
    cwd: appDir,
    env: baseEnv(),
    timeoutMs: 60_000,
  })
  if (untar.code !== 0) throw new Error(`tar failed:\n${untar.output}`)
}
