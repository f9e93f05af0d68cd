/**
 * The benchmark's figures for responsive variants and operations, in the same run as the main
 * matrix (or alone with `--only extras`):
 * - what main + variants + placeholder cost against the main image alone (payload.create, CPU);
 * - the same files made by Payload's own `imageSizes`, configured by hand (CPU);
 * - the bytes a 375 px phone downloads for the product grid against the single 1024 px images;
 * - re-optimization throughput on 1,000 small images;
 * - read latency while uploads are in flight (readLatency.ts; alone with `--only read-latency`,
 *   which keeps the other figures of the last report).
 * Writes test/bench/results/operations.{json,md}.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

import { BUILT_IN_COLLECTIONS } from 'payload-image-assets'
import { DEFAULT_WEBP_VARIANT_EFFORT, encodeImageSet } from 'payload-image-assets/internal'

import type { ReoptimizeReport } from './protocol'
import {
  type ReadLatencyFigures,
  readLatencyMarkdown,
  runReadLatency,
  type RestWorker,
} from './readLatency'

type Cell = { cpuMs: number; outputBytes: number[]; wallMs: number }
type Worker = RestWorker

export type ExtrasDeps = {
  benchFiles: string[]
  corpus: string[]
  benchIdx: number[]
  handEnv: Record<string, string | undefined>
  inputs: Buffer[]
  log: (line: string) => void
  pluginEnv: (
    name: string,
    extra: Record<string, string>,
  ) => Promise<Record<string, string | undefined>>
  runCell: (worker: Worker, preset: string, indexes: number[], concurrency: number) => Promise<Cell>
  startWorker: (
    name: string,
    mode: 'payload-hand' | 'plugin-local' | 'plugin-rest',
    env: Record<string, string | undefined>,
  ) => Promise<Worker>
}

const PRESETS = ['product-images', 'media', 'category-images', 'avatars'] as const
const REOPTIMIZE_COUNT = 1000
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100

const RESULTS_DIR = path.resolve('test/bench/results')

/** Everything: the variants and operations figures, then read latency under uploads. */
export const runExtras = async (deps: ExtrasDeps) => {
  const figures = await variantsAndOperations(deps)
  const readLatency = await runReadLatency(deps)
  await writeOperationsReport({ ...figures, readLatency })
}

/** Read latency under uploads alone; the other figures of the last report are kept as they were. */
export const runReadLatencyOnly = async (deps: ExtrasDeps) => {
  const file = path.join(RESULTS_DIR, 'operations.json')
  const previous = existsSync(file)
    ? (JSON.parse(await readFile(file, 'utf8')) as Record<string, any>)
    : {}
  if (previous.cpuMs && !previous.writtenAt) {
    // Reports written before the date was kept in the JSON: take it from the Markdown.
    const md = await readFile(path.join(RESULTS_DIR, 'operations.md'), 'utf8').catch(() => '')
    previous.writtenAt = md.match(/Written by `npm run bench` on (\S+Z)\./)?.[1]
  }
  await writeOperationsReport({ ...previous, readLatency: await runReadLatency(deps) })
}

const variantsAndOperations = async (deps: ExtrasDeps) => {
  const { benchIdx, log } = deps
  const main = await deps.startWorker(
    'plugin: payload.create, main only',
    'plugin-local',
    await deps.pluginEnv('extras_main', {}),
  )
  const variants = await deps.startWorker(
    'plugin: payload.create, main + variants + placeholder',
    'plugin-local',
    await deps.pluginEnv('extras_variants', { BENCH_PLUGIN_OUTPUTS: 'variants' }),
  )
  const sizes = await deps.startWorker(
    'Payload by hand: resizeOptions + imageSizes',
    'payload-hand',
    { ...deps.handEnv, BENCH_HAND_SIZES: '1' },
  )
  const workers = [main, variants, sizes]
  const cpu: Record<string, Record<string, number>> = {}
  try {
    for (const w of workers) await deps.runCell(w, 'avatars', benchIdx, 2)
    let round = 0
    for (const preset of PRESETS) {
      for (let k = 0; k < workers.length; k++) {
        const w = workers[(k + round) % workers.length]
        ;(cpu[w.name] ??= {})[preset] = Math.round(
          (await deps.runCell(w, preset, benchIdx, 1)).cpuMs,
        )
      }
      round++
      log(`extras: ${preset} done`)
    }

    // Bytes for the product grid on a 375 px phone: each card is calc(50vw - 22px) = 165.5 CSS px,
    // so the browser takes the smallest width of srcSet at or above 165.5 x DPR (the storefront's `sizes`).
    const product = BUILT_IN_COLLECTIONS['product-images']
    let single = 0
    const phone: Record<string, number> = { 'DPR 1': 0, 'DPR 2': 0, 'DPR 3': 0 }
    for (const file of deps.benchFiles) {
      const set = await encodeImageSet(await readFile(file), product.preset, {
        effort: 6,
        variantEffort: DEFAULT_WEBP_VARIANT_EFFORT,
        variantWidths: product.variantWidths,
      })
      single += set.main.data.length
      const entries = [
        ...set.variants.map((v) => ({ bytes: v.data.length, width: v.width })),
        { bytes: set.main.data.length, width: set.main.width },
      ]
      for (const [label, dpr] of [
        ['DPR 1', 1],
        ['DPR 2', 2],
        ['DPR 3', 3],
      ] as const) {
        const pick = entries.find((e) => e.width >= 165.5 * dpr) ?? entries[entries.length - 1]
        phone[label] += pick.bytes
      }
    }
    log('extras: phone bytes done')

    const reoptimizer = await deps.startWorker(
      'plugin: reoptimize',
      'plugin-local',
      await deps.pluginEnv('extras_reoptimize', { BENCH_PLUGIN_OUTPUTS: 'variants' }),
    )
    workers.push(reoptimizer)
    const reoptimize = await reoptimizer.call<ReoptimizeReport>({
      count: REOPTIMIZE_COUNT,
      type: 'reoptimize',
    })
    log(`extras: reoptimize of ${reoptimize.images} images done`)

    const figures = {
      costOfVariants: Object.fromEntries(
        PRESETS.map((p) => [p, ratio(cpu[variants.name][p], cpu[main.name][p])]),
      ),
      cpuMs: cpu,
      phoneBytes: {
        images: deps.benchFiles.length,
        single1024: single,
        ...phone,
        ratios: Object.fromEntries(Object.entries(phone).map(([k, v]) => [k, ratio(v, single)])),
      },
      reoptimize: {
        ...reoptimize,
        imagesPerSecond: Math.round((reoptimize.images / (reoptimize.wallMs / 1000)) * 10) / 10,
      },
      variantsVsImageSizes: Object.fromEntries(
        PRESETS.map((p) => [p, ratio(cpu[variants.name][p], cpu[sizes.name][p])]),
      ),
      writtenAt: new Date().toISOString(),
    }
    return figures
  } finally {
    for (const w of workers) w.child.kill()
  }
}

const writeOperationsReport = async (
  figures: Record<string, any> & { readLatency?: ReadLatencyFigures },
) => {
  const met = (ok: boolean) => (ok ? 'met' : '**missed**')
  const names = figures.cpuMs ? Object.keys(figures.cpuMs) : []
  const md: string[] = ['# Variants, placeholders and operations', '']
  if (figures.cpuMs) {
    const variantsMd: string[] = [
      `Written by \`npm run bench\` on ${figures.writtenAt}. CPU time of one \`payload.create\` pass over the corpus at concurrency 1, per preset, each contestant in its own process, order rotated per preset.`,
      '',
      `| preset | ${names.join(' | ')} | variants / main (target ≤ 1.3) | variants / Payload imageSizes (target ≤ 0.5) |`,
      `|---|${names.map(() => '---').join('|')}|---|---|`,
      ...PRESETS.map(
        (p) =>
          `| ${p} | ${names.map((n) => `${figures.cpuMs[n][p]} ms`).join(' | ')} | ${figures.costOfVariants[p]} (${met(figures.costOfVariants[p] <= 1.3)}) | ${figures.variantsVsImageSizes[p]} (${met(figures.variantsVsImageSizes[p] <= 0.5)}) |`,
      ),
      '',
      `Bytes a 375 px phone downloads for the product grid (${figures.phoneBytes.images} product images; two cards per row, 165.5 CSS px each), against the single 1024 px images (${figures.phoneBytes.single1024} bytes); target at least 50% less:`,
      '',
      '| screen | bytes | share of the single images | target |',
      '|---|---|---|---|',
      ...(['DPR 1', 'DPR 2', 'DPR 3'] as const).map(
        (k) =>
          `| 375 px, ${k} | ${figures.phoneBytes[k]} | ${figures.phoneBytes.ratios[k]} | ${met(figures.phoneBytes.ratios[k] <= 0.5)} |`,
      ),
      '',
      `Re-optimization: ${figures.reoptimize.images} small images (320 x 240 JPEG, stored with variants and placeholder in \`media\`), preset changed to 200 x 200, \`reoptimizeAll\` (what \`payload reoptimize-images\` runs): ${Math.round(figures.reoptimize.wallMs)} ms, **${figures.reoptimize.imagesPerSecond} images/s**, ${Math.round(figures.reoptimize.cpuMs)} ms CPU (each image: read its WebP from S3, decode, encode, write, update the document, delete the old object, ledger row). Storing them took ${Math.round(figures.reoptimize.setupMs)} ms.`,
      '',
    ]
    md.push(...variantsMd)
  }
  if (figures.readLatency) md.push(...readLatencyMarkdown(figures.readLatency))
  await writeFile(
    path.join(RESULTS_DIR, 'operations.json'),
    `${JSON.stringify(figures, null, 2)}\n`,
  )
  await writeFile(path.join(RESULTS_DIR, 'operations.md'), md.join('\n'))
}
