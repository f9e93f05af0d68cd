/** The benchmark corpus: ../shared/bench/corpus.sh's ten real images plus a generated 24 MP JPEG, cached outside git. */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import sharp from 'sharp'

import { sharedBenchFile } from './prerequisites'

export const CORPUS_DIR =
  process.env.BENCH_CORPUS_DIR ||
  path.join(
    process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'),
    'payload-image-assets',
    'corpus',
  )
export const GENERATED_24MP = 'generated-24mp-6000x4000.jpg'

export const ensureCorpus = async (): Promise<string[]> => {
  await mkdir(CORPUS_DIR, { recursive: true })
  const have = readdirSync(CORPUS_DIR)
  if (have.filter((f) => f !== GENERATED_24MP).length < 10) {
    const script = sharedBenchFile('corpus.sh', 'BENCH_CORPUS_SCRIPT')
    console.log(`Building the corpus in ${CORPUS_DIR} with ${script}`)
    execFileSync('bash', [script, CORPUS_DIR], { stdio: ['ignore', 'ignore', 'inherit'] })
  }
  const generated = path.join(CORPUS_DIR, GENERATED_24MP)
  if (!existsSync(generated)) {
    // A real photo (from the corpus) brought to 6000 x 4000 with film-like grain, so that the JPEG
    // carries real detail at 24 MP rather than a smooth upscale.
    const base = await sharp(path.join(CORPUS_DIR, 'volna-5120x2880.jpg'))
      .resize(6000, 4000, { fit: 'cover' })
      .raw()
      .toBuffer({ resolveWithObject: true })
    let seed = 42
    for (let i = 0; i < base.data.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      base.data[i] = Math.max(0, Math.min(255, base.data[i] + ((seed >> 16) % 13) - 6))
    }
    await sharp(base.data, { raw: base.info }).jpeg({ quality: 90 }).toFile(generated)
  }
  return readdirSync(CORPUS_DIR)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => path.join(CORPUS_DIR, f))
}
