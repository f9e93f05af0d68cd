/**
 * What `npm publish` would ship for the plugin: `npm pack --dry-run` lists the tarball's files
 * (from the built `dist`, which `npm test`'s pretest builds), and the test checks that everything a
 * user needs is in it, nothing of the repository's own is, the source maps are usable without
 * `src/`, every `exports` target exists, and the registry metadata is set.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const pluginDir = path.join(root, 'plugins/image-assets')

type PackResult = { files: Array<{ path: string }>; name: string; version: string }
type Manifest = {
  bugs?: string | { url?: string }
  engines?: Record<string, string>
  exports: Record<string, unknown>
  files?: string[]
  homepage?: string
  license?: string
  main?: string
  name: string
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  repository?: { directory?: string; type?: string; url?: string }
  types?: string
}

const manifest = JSON.parse(readFileSync(path.join(pluginDir, 'package.json'), 'utf8')) as Manifest

let files: string[] = []

beforeAll(() => {
  // The tarball ships the built plugin; build it only when it is not there (pretest builds it).
  if (!existsSync(path.join(pluginDir, 'dist/index.js'))) {
    execFileSync('npm', ['run', 'build:plugin'], { cwd: root, stdio: 'ignore' })
  }
  // --ignore-scripts: `prepack` would rebuild dist under the other tests' feet.
  const out = execFileSync(
    'npm',
    ['pack', '--dry-run', '--json', '--ignore-scripts', '--workspace', manifest.name],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const [result] = JSON.parse(out) as PackResult[]
  expect(result.name).toBe(manifest.name)
  files = result.files.map((f) => f.path).sort()
}, 120_000)

/** Every string target in `exports`, through conditions and subpaths, without its leading `./`. */
const exportTargets = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value.replace(/^\.\//, '')]
    : value && typeof value === 'object'
      ? Object.values(value).flatMap(exportTargets)
      : []

describe('the packed payload-image-assets', () => {
  it('ships the built plugin, its commands, the README, the licence and the docs', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'docs/react.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/react/index.js',
        'dist/admin/index.js',
        'dist/internal.js',
        'dist/cli/reoptimize.js',
        'dist/cli/reconcile.js',
        'dist/cli/check.js',
      ]),
    )
  })

  it('ships nothing of the repository: no sources, tests or build configuration', () => {
    const unwanted = files.filter(
      (f) =>
        f.startsWith('src/') ||
        /(^|\/)(test|tests|__tests__)\//.test(f) ||
        /\.(test|spec)\.[cm]?[jt]sx?$/.test(f) ||
        /(^|\/)tsconfig[^/]*\.json$/.test(f) ||
        f.endsWith('.tsbuildinfo') ||
        (/\.[cm]?tsx?$/.test(f) && !/\.d\.[cm]?ts$/.test(f)),
    )
    expect(unwanted).toEqual([])
  })

  it('ships source maps that carry their sources (src/ is not shipped), or none', () => {
    const maps = files.filter((f) => f.endsWith('.map'))
    const withoutSources = maps.filter((f) => {
      const map = JSON.parse(readFileSync(path.join(pluginDir, f), 'utf8')) as {
        sources?: string[]
        sourcesContent?: Array<null | string>
      }
      const sources = map.sources ?? []
      return (
        sources.length === 0 ||
        map.sourcesContent?.length !== sources.length ||
        map.sourcesContent.some((content) => typeof content !== 'string')
      )
    })
    expect(withoutSources).toEqual([])
    // A `sourceMappingURL` comment names a map that is in the tarball.
    const dangling = files
      .filter((f) => f.endsWith('.js'))
      .flatMap((f) => {
        const match = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(
          readFileSync(path.join(pluginDir, f), 'utf8'),
        )
        if (!match || match[1].startsWith('data:')) return []
        const target = path.posix.join(path.posix.dirname(f), match[1])
        return files.includes(target) ? [] : [`${f} -> ${target}`]
      })
    expect(dangling).toEqual([])
  })

  it('ships every file that package.json points at', () => {
    const targets = [
      ...exportTargets(manifest.exports),
      ...exportTargets(manifest.main),
      ...exportTargets(manifest.types),
    ]
    expect(targets).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/admin/index.js',
        'dist/react/index.js',
        'dist/internal.js',
        'package.json',
      ]),
    )
    expect(targets.filter((t) => !files.includes(t))).toEqual([])
  })

  it('has the registry metadata and says which Payload, sharp, React and Node it needs', () => {
    expect(manifest.license).toBe('MIT')
    expect(manifest.repository).toEqual({
      type: 'git',
      url: expect.stringMatching(/^git\+https:\/\/github\.com\/[^/]+\/[^/]+\.git$/),
      directory: 'plugins/image-assets',
    })
    const repoURL = manifest.repository?.url?.replace(/^git\+/, '').replace(/\.git$/, '')
    expect(manifest.homepage).toBe(`${repoURL}#readme`)
    const bugs = typeof manifest.bugs === 'string' ? manifest.bugs : manifest.bugs?.url
    expect(bugs).toBe(`${repoURL}/issues`)

    const peers = manifest.peerDependencies ?? {}
    expect(peers.payload).toMatch(/^\^3\.\d+\.\d+$/)
    // Payload and its @payloadcms/* packages must be the same version: the same range for both.
    expect(peers['@payloadcms/plugin-cloud-storage']).toBe(peers.payload)
    expect(peers.sharp).toBe('>=0.35.0')
    expect(peers.react).toBeDefined()
    expect(manifest.peerDependenciesMeta?.react?.optional).toBe(true)
    // The Node LTS lines in use (22, 24), and 20.9+ while it costs nothing.
    expect(manifest.engines?.node).toBe('^20.9.0 || ^22.12.0 || >=24.0.0')
  })
})
