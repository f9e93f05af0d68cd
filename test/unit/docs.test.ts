/**
 * The README and CONTRIBUTING name source files (the Architecture section's map of the data path,
 * the internals table, the test suites): every file they name is in the repository.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean)

describe.each(['README.md', 'CONTRIBUTING.md', 'plugins/image-assets/README.md'])('%s', (doc) => {
  it('names only source files that exist', () => {
    const text = readFileSync(`${root}/${doc}`, 'utf8')
    // `upload/endpoints.ts`, `alt.ts`, `test/int/uploads.test.ts`, `scripts/start.mjs`: a path
    // of word characters ending in a source extension, in backticks.
    const named = new Set(
      [...text.matchAll(/`([\w./-]+\.(?:tsx?|mjs|cjs|js))`/g)]
        .map((match) => match[1])
        .filter((name) => !name.includes('*') && !name.startsWith('dist/')),
    )
    const missing = [...named].filter(
      (name) => !tracked.some((file) => file === name || file.endsWith(`/${name}`)),
    )
    expect(named.size).toBeGreaterThan(0)
    expect(missing).toEqual([])
  })
})
