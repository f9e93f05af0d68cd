/**
 * sharp.block is process-wide, so each mode is tried in a child process of its own: which
 * loaders still work from memory and from disk after the plugin's block.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let dir: string

const CHILD = `
import sharp from 'sharp'
import { readFile } from 'node:fs/promises'
import { blockDecoders } from 'payload-image-assets/internal'
const [mode, dir] = process.argv.slice(1)
blockDecoders(mode === 'false' ? false : mode)
const result = {}
for (const name of ['jpeg', 'png', 'webp', 'gif', 'tiff', 'svg', 'avif']) {
  const file = dir + '/x.' + name
  const attempt = async (input) => { try { return (await sharp(input).metadata()).format } catch { return 'blocked' } }
  result[name] = { disk: await attempt(file), memory: await attempt(await readFile(file)) }
}
result.create = await sharp({ create: { background: 'red', channels: 3, height: 4, width: 4 } }).png().toBuffer().then(() => 'ok', () => 'blocked')
console.log(JSON.stringify(result))
`

const run = async (mode: string) => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', CHILD, mode, dir],
    { cwd: process.cwd() },
  )
  return JSON.parse(stdout) as Record<string, { disk: string; memory: string }> & { create: string }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pia-decoders-'))
  const base = () => sharp({ create: { background: '#36c', channels: 3, height: 8, width: 8 } })
  await writeFile(path.join(dir, 'x.jpeg'), await base().jpeg().toBuffer())
  await writeFile(path.join(dir, 'x.png'), await base().png().toBuffer())
  await writeFile(path.join(dir, 'x.webp'), await base().webp().toBuffer())
  await writeFile(path.join(dir, 'x.gif'), await base().gif().toBuffer())
  await writeFile(path.join(dir, 'x.tiff'), await base().tiff().toBuffer())
  await writeFile(path.join(dir, 'x.avif'), await base().avif({ effort: 0 }).toBuffer())
  await writeFile(
    path.join(dir, 'x.svg'),
    '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>',
  )
})

afterAll(async () => {
  await rm(dir, { force: true, recursive: true })
})

describe('blockDecoders', () => {
  it("'memory' (opt-in): only JPEG, PNG and WebP load from memory; files on disk and create still work", async () => {
    const result = await run('memory')
    for (const ok of ['jpeg', 'png', 'webp'])
      expect(result[ok], ok).toEqual({ disk: ok, memory: ok })
    for (const other of ['gif', 'tiff', 'svg', 'avif']) {
      expect(result[other].memory, other).toBe('blocked')
      expect(result[other].disk, other).not.toBe('blocked')
    }
    expect(result.create).toBe('ok')
  })

  it("'all': only JPEG, PNG and WebP load at all", async () => {
    const result = await run('all')
    for (const ok of ['jpeg', 'png', 'webp'])
      expect(result[ok], ok).toEqual({ disk: ok, memory: ok })
    for (const other of ['gif', 'tiff', 'svg', 'avif'])
      expect(result[other], other).toEqual({ disk: 'blocked', memory: 'blocked' })
    expect(result.create).toBe('ok')
  })

  it('false: nothing is blocked', async () => {
    const result = await run('false')
    for (const name of ['gif', 'tiff', 'svg']) expect(result[name].memory, name).toBe(name)
    expect(result.avif.memory).toBe('heif')
  })
})
