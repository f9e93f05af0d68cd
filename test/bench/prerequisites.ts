/** What the benchmark needs from Debian: Pillow for the seed baseline, jemalloc for the runtime. Installed when missing. */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'

import { jemallocPath } from '../../scripts/runtime-env.mjs'

const hasPillow = () =>
  spawnSync('/usr/bin/python3', ['-c', 'import PIL.WebPImagePlugin'], { stdio: 'ignore' })
    .status === 0

export const ensurePrerequisites = (): void => {
  const missing = [
    ...(hasPillow() ? [] : ['python3-pil']),
    ...(jemallocPath() ? [] : ['libjemalloc2']),
  ]
  if (missing.length === 0) return
  console.log(`Installing Debian packages for the benchmark: ${missing.join(', ')}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'inherit' })
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env,
    stdio: 'inherit',
  })
}

/**
 * A file of the shared benchmark kit (corpus.sh, seed_pipeline.py): `envVar` when set, else
 * `../shared/bench/<name>` next to the repository, else `/work/shared/bench/<name>`.
 */
export const sharedBenchFile = (name: string, envVar: string): string => {
  const candidates = [
    process.env[envVar],
    path.resolve('..', 'shared', 'bench', name),
    path.join('/work', 'shared', 'bench', name),
  ].filter((p): p is string => Boolean(p))
  const found = candidates.find((p) => existsSync(p))
  if (!found)
    throw new Error(
      `The benchmark needs ${name}; set ${envVar} to its path (looked in: ${candidates.join(', ')}).`,
    )
  return path.resolve(found)
}
