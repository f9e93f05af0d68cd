/**
 * AVIF at equal SSIM, and the cost of the full request-path set. Run by run.ts in its own process
 * with the production runtime settings (`npm run bench -- --only avif`, `--only full-set`); not
 * part of the full run. BENCH_AVIF_FILES=n runs the AVIF search on n of the corpus's images.
 *
 * - avif: per preset and corpus image, the image fitted to the preset's box exactly as the plugin
 *   decodes it (autoOrient, fit inside without enlarging, shrink-on-load except for WebP, sRGB),
 *   the main WebP at the preset's quality and effort 6 (checked byte for byte against the plugin's
 *   own `encodeWebP`), its SSIM against quality.ts's reference, then the lowest AVIF quality
 *   (binary search over 1 to 100) whose SSIM is at least the WebP's, at effort 4 (and 2 and 6 on
 *   one preset); bytes and encode time there. Then both factors, the current 0.75 and the measured
 *   one, applied as the plugin applies them (`round(factor x WebP quality)`).
 * - full-set: the plugin's `encodeImageSet` with the preset's variants and the 16 px placeholder
 *   against the main image alone, one call at a time, repetitions interleaved.
 *
 * Writes test/bench/results/avif.{json,md}; a part not run keeps its figures from the last report.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import { BUILT_IN_COLLECTIONS } from 'payload-image-assets'
import {
  type BuiltInSlug,
  DEFAULT_WEBP_VARIANT_EFFORT,
  encodeImageSet,
  encodeWebP,
  type ImagePreset,
  sniffFormat,
} from 'payload-image-assets/internal'
import sharp from 'sharp'

import { jemallocPath } from '../../scripts/runtime-env.mjs'
import { ensureCorpus, GENERATED_24MP } from './corpus'
import { quantile } from './report'
import { referenceFor, type Reference, ssimAgainstReference } from './quality'

export const AVIF_PARTS = ['avif', 'full-set'] as const
export type AvifPart = (typeof AVIF_PARTS)[number]

const RESULTS_DIR = path.resolve('test/bench/results')
const PRESETS = Object.keys(BUILT_IN_COLLECTIONS) as BuiltInSlug[]
const WEBP_EFFORT = 6
const AVIF_EFFORT = 4
/** The preset on which efforts 2 and 6 are searched too, to show the trade-off (the cheapest one). */
const TRADE_OFF_PRESET: BuiltInSlug = 'avatars'
const TRADE_OFF_EFFORTS = [2, 6]
const CURRENT_FACTOR = 0.75
const PLACEHOLDER_WIDTH = 16
/** Timed encodes per measured point (median taken). */
const TIMING_RUNS = 3
const FULL_SET_REPS = Number(process.env.BENCH_FULL_SET_REPS || 5)
/**
 * BENCH_AVIF_FILES=n: the AVIF search on n corpus images spread evenly over the sorted list (with
 * 5 of 10: the 2nd, 4th, ... 10th), for a shorter run. The full-set part always takes the corpus.
 */
const FILE_LIMIT = Number(process.env.BENCH_AVIF_FILES || 0)
const spread = (files: string[], n: number) =>
  n > 0 && n < files.length
    ? Array.from({ length: n }, (_, i) => files[Math.floor(((i + 0.5) * files.length) / n)])
    : files

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits
const median = (values: number[]) => quantile(values, 0.5)
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

type Pixels = { channels: 1 | 2 | 3 | 4; data: Buffer; height: number; width: number }

/** The plugin's decode (image/transform.ts `decode`), step for step. */
const decodeFitted = async (input: Buffer, preset: ImagePreset): Promise<Pixels> => {
  const { data, info } = await sharp(input, {
    limitInputPixels: false,
    pages: 1,
    sequentialRead: true,
  })
    .autoOrient()
    .resize({
      fastShrinkOnLoad: sniffFormat(input) !== 'webp',
      fit: 'inside',
      height: preset.height,
      width: preset.width,
      withoutEnlargement: true,
    })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true })
  return { channels: info.channels, data, height: info.height, width: info.width }
}

const fromPixels = (p: Pixels) =>
  sharp(p.data, { raw: { channels: p.channels, height: p.height, width: p.width } })

const timed = async (make: () => Promise<Buffer>) => {
  const start = performance.now()
  const data = await make()
  return { data, ms: performance.now() - start }
}

const webpOf = (p: Pixels, quality: number) => () =>
  fromPixels(p).webp({ effort: WEBP_EFFORT, quality }).toBuffer()
const avifOf = (p: Pixels, quality: number, effort: number) => () =>
  fromPixels(p).avif({ effort, quality }).toBuffer()

/** Median time of `runs` encodes (the first one's bytes kept). */
const medianTime = async (make: () => Promise<Buffer>, first?: { data: Buffer; ms: number }) => {
  const runs = first ? [first] : []
  while (runs.length < TIMING_RUNS) runs.push(await timed(make))
  return { data: runs[0].data, ms: median(runs.map((r) => r.ms)) }
}

type Probe = { data: Buffer; ms: number; ssim: number }

/**
 * The lowest AVIF quality whose SSIM is at least `target` (binary search over 1 to 100, SSIM
 * taken as rising with quality); 100 with `reached: false` when even 100 stays below.
 */
const searchAvif = async (p: Pixels, reference: Reference, target: number, effort: number) => {
  const probes = new Map<number, Probe>()
  const probe = async (q: number): Promise<Probe> => {
    const known = probes.get(q)
    if (known) return known
    const { data, ms } = await timed(avifOf(p, q, effort))
    const result = { data, ms, ssim: await ssimAgainstReference(reference, data) }
    probes.set(q, result)
    return result
  }
  let lo = 1
  let hi = 100
  const reached = (await probe(hi)).ssim >= target
  if (reached)
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((await probe(mid)).ssim >= target) hi = mid
      else lo = mid + 1
    }
  const found = await probe(hi)
  const time = await medianTime(avifOf(p, hi, effort), found)
  return {
    bytes: found.data.length,
    ms: time.ms,
    probes: probes.size,
    quality: hi,
    reached,
    ssim: found.ssim,
  }
}

type AvifRow = {
  avif: {
    bytes: number
    ms: number
    probes: number
    quality: number
    reached: boolean
    ssim: number
  }
  /** AVIF at `round(factor x WebP quality)`, per factor tried. */
  atFactor: Record<string, { bytes: number; quality: number; ssim: number }>
  effort: number
  file: string
  height: number
  webp: { bytes: number; ms: number; sameAsPlugin: boolean; ssim: number }
  width: number
}

type AvifSummary = {
  avifBytes: number
  effort: number
  /** Median AVIF quality at equal SSIM / the preset's WebP quality. */
  factor: number
  images: number
  medianAvifMs: number
  medianAvifQuality: number
  medianTimeRatio: number
  medianWebpMs: number
  notReached: number
  preset: BuiltInSlug
  /** Total AVIF bytes / total WebP bytes at equal SSIM. */
  bytesRatio: number
  webpBytes: number
  webpQuality: number
}

const summarize = (preset: BuiltInSlug, effort: number, rows: AvifRow[]): AvifSummary => {
  const q = BUILT_IN_COLLECTIONS[preset].preset.quality
  const medianAvifQuality = median(rows.map((r) => r.avif.quality))
  const webpBytes = sum(rows.map((r) => r.webp.bytes))
  const avifBytes = sum(rows.map((r) => r.avif.bytes))
  return {
    avifBytes,
    bytesRatio: round(avifBytes / webpBytes, 3),
    effort,
    factor: round(medianAvifQuality / q, 3),
    images: rows.length,
    medianAvifMs: round(median(rows.map((r) => r.avif.ms)), 1),
    medianAvifQuality,
    medianTimeRatio: round(median(rows.map((r) => r.avif.ms / r.webp.ms))),
    medianWebpMs: round(median(rows.map((r) => r.webp.ms)), 1),
    notReached: rows.filter((r) => !r.avif.reached).length,
    preset,
    webpBytes,
    webpQuality: q,
  }
}

const measureAvif = async (files: string[], log: (line: string) => void) => {
  const rows: Record<string, AvifRow[]> = {}
  for (const preset of PRESETS) {
    const p = BUILT_IN_COLLECTIONS[preset].preset
    const efforts =
      preset === TRADE_OFF_PRESET ? [AVIF_EFFORT, ...TRADE_OFF_EFFORTS] : [AVIF_EFFORT]
    for (const file of files) {
      const input = await readFile(file)
      const pixels = await decodeFitted(input, p)
      const reference = await referenceFor(file, pixels.width, pixels.height)
      const webp = await medianTime(webpOf(pixels, p.quality))
      const plugin = await encodeWebP(input, p, WEBP_EFFORT)
      const webpSsim = await ssimAgainstReference(reference, webp.data)
      for (const effort of efforts) {
        const avif = await searchAvif(pixels, reference, webpSsim, effort)
        ;(rows[`${preset}@${effort}`] ??= []).push({
          atFactor: {},
          avif,
          effort,
          file: path.basename(file),
          height: pixels.height,
          webp: {
            bytes: webp.data.length,
            ms: webp.ms,
            sameAsPlugin: plugin.data.equals(webp.data),
            ssim: webpSsim,
          },
          width: pixels.width,
        })
      }
      log(`avif: ${preset} ${path.basename(file)} done`)
    }
  }

  // One factor for every preset, as the plugin applies it: the current 0.75 and the measured one
  // (the median over every image and preset at effort 4 of AVIF quality at equal SSIM / WebP quality).
  const effort4 = PRESETS.flatMap((preset) => rows[`${preset}@${AVIF_EFFORT}`])
  const perImage = PRESETS.flatMap((preset) =>
    rows[`${preset}@${AVIF_EFFORT}`].map(
      (r) => r.avif.quality / BUILT_IN_COLLECTIONS[preset].preset.quality,
    ),
  )
  const measuredFactor = round(median(perImage))
  const factors = [...new Set([CURRENT_FACTOR, measuredFactor])]
  for (const preset of PRESETS) {
    const p = BUILT_IN_COLLECTIONS[preset].preset
    for (const row of rows[`${preset}@${AVIF_EFFORT}`]) {
      const file = files.find((f) => path.basename(f) === row.file)!
      const pixels = await decodeFitted(await readFile(file), p)
      const reference = await referenceFor(file, pixels.width, pixels.height)
      for (const factor of factors) {
        const quality = Math.max(1, Math.round(p.quality * factor))
        const data = await avifOf(pixels, quality, AVIF_EFFORT)()
        row.atFactor[String(factor)] = {
          bytes: data.length,
          quality,
          ssim: await ssimAgainstReference(reference, data),
        }
      }
    }
    log(`avif: ${preset} at the factors done`)
  }
  const atFactors = factors.map((factor) => {
    const byPreset = PRESETS.map((preset) => {
      const r = rows[`${preset}@${AVIF_EFFORT}`]
      const at = r.map((x) => x.atFactor[String(factor)])
      return {
        avifQuality: at[0].quality,
        bytesRatio: round(sum(at.map((a) => a.bytes)) / sum(r.map((x) => x.webp.bytes)), 3),
        medianSsimDelta: round(median(r.map((x, i) => at[i].ssim - x.webp.ssim)), 4),
        preset,
        ssimAtLeastWebp: at.filter((a, i) => a.ssim >= r[i].webp.ssim).length,
      }
    })
    const all = effort4.map((x, i) => ({ at: x.atFactor[String(factor)], i, x }))
    return {
      byPreset,
      bytesRatio: round(sum(all.map((a) => a.at.bytes)) / sum(effort4.map((x) => x.webp.bytes)), 3),
      factor,
      images: all.length,
      ssimAtLeastWebp: all.filter((a) => a.at.ssim >= a.x.webp.ssim).length,
    }
  })

  const summaries = Object.entries(rows).map(([key, r]) =>
    summarize(key.split('@')[0] as BuiltInSlug, Number(key.split('@')[1]), r),
  )
  const equalSsimBytesRatio = round(
    sum(effort4.map((r) => r.avif.bytes)) / sum(effort4.map((r) => r.webp.bytes)),
    3,
  )
  return {
    atFactors,
    currentFactor: CURRENT_FACTOR,
    equalSsimBytesRatio,
    measuredFactor,
    perImageFactorRange: [round(Math.min(...perImage)), round(Math.max(...perImage))],
    pluginMatch: effort4.filter((r) => r.webp.sameAsPlugin).length,
    rows,
    summaries,
  }
}

const measureFullSet = async (files: string[], log: (line: string) => void) => {
  const inputs = await Promise.all(files.map((f) => readFile(f)))
  // Warm-up (untimed): codecs and first-call costs.
  await encodeImageSet(inputs[0], BUILT_IN_COLLECTIONS.avatars.preset, {
    effort: WEBP_EFFORT,
    placeholderWidth: PLACEHOLDER_WIDTH,
    variantWidths: BUILT_IN_COLLECTIONS.avatars.variantWidths,
  })
  const times: Record<string, { main: number[][]; set: number[][] }> = {}
  for (let rep = 0; rep < FULL_SET_REPS; rep++) {
    for (const preset of PRESETS) {
      const { preset: p, variantWidths } = BUILT_IN_COLLECTIONS[preset]
      const t = (times[preset] ??= {
        main: files.map(() => []),
        set: files.map(() => []),
      })
      for (let i = 0; i < files.length; i++) {
        const runs = {
          main: () => encodeImageSet(inputs[i], p, { effort: WEBP_EFFORT }),
          set: () =>
            encodeImageSet(inputs[i], p, {
              effort: WEBP_EFFORT,
              placeholderWidth: PLACEHOLDER_WIDTH,
              variantEffort: DEFAULT_WEBP_VARIANT_EFFORT,
              variantWidths,
            }),
        }
        // Alternate which goes first, per image and per repetition.
        const order = (rep + i) % 2 === 0 ? (['main', 'set'] as const) : (['set', 'main'] as const)
        for (const which of order) {
          const start = performance.now()
          await runs[which]()
          t[which][i].push(performance.now() - start)
        }
      }
    }
    log(`full-set: repetition ${rep + 1} of ${FULL_SET_REPS} done`)
  }
  return {
    repetitions: FULL_SET_REPS,
    byPreset: PRESETS.map((preset) => {
      const t = times[preset]
      const passes = (which: 'main' | 'set') =>
        Array.from({ length: FULL_SET_REPS }, (_, rep) => sum(t[which].map((f) => f[rep])))
      const main = median(passes('main'))
      const set = median(passes('set'))
      return {
        mainMs: round(main, 1),
        medianPerImageRatio: round(
          median(files.map((_, i) => median(t.set[i]) / median(t.main[i]))),
        ),
        preset,
        ratio: round(set / main),
        setMs: round(set, 1),
        variantWidths: BUILT_IN_COLLECTIONS[preset].variantWidths,
      }
    }),
  }
}

type AvifFigures = Awaited<ReturnType<typeof measureAvif>>
type FullSetFigures = Awaited<ReturnType<typeof measureFullSet>>
type Report = {
  avif?: AvifFigures & { files: string[]; writtenAt: string }
  fullSet?: FullSetFigures & { files: string[]; writtenAt: string }
  machine: Record<string, unknown>
  versions: Record<string, string>
}

const machine = () => ({
  cpuModel: os.cpus()[0]?.model,
  cpus: os.cpus().length,
  jemalloc: (process.env.LD_PRELOAD ?? '').includes('jemalloc') ? jemallocPath() : 'not preloaded',
  memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
  platform: `${os.platform()} ${os.release()}`,
})

const markdown = (report: Report): string => {
  const met = (ok: boolean) => (ok ? 'met' : '**missed**')
  const m = report.machine
  const md = [
    '# AVIF at equal SSIM, and the full request-path set',
    '',
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}; jemalloc: ${m.jemalloc}. Versions: ${Object.entries(
      report.versions,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. Absolute times depend on the machine; compare the ratios.`,
    '',
  ]
  const a = report.avif
  if (a) {
    md.push(
      '## AVIF quality at equal SSIM',
      '',
      `Written on ${a.writtenAt}, on ${a.files.length} images: ${a.files.join(', ')}. Per preset and image: the image fitted to the preset as the plugin decodes it, the main WebP at the preset's quality and effort ${WEBP_EFFORT} (identical to the plugin's \`encodeWebP\` on ${a.pluginMatch} of ${a.rows[`avatars@${AVIF_EFFORT}`].length * PRESETS.length}), its SSIM against the Lanczos reference (quality.ts), then the lowest AVIF quality whose SSIM is at least the WebP's (binary search, 1 to 100). Bytes and encode time (median of ${TIMING_RUNS}, from the decoded pixels, one at a time) at that quality.`,
      '',
      '| preset | effort | WebP quality | median AVIF quality at equal SSIM | factor (AVIF q / WebP q) | AVIF bytes / WebP bytes | AVIF time / WebP time (median per image) | median encode ms AVIF / WebP | SSIM not reached at q100 |',
      '|---|---|---|---|---|---|---|---|---|',
      ...a.summaries.map(
        (s) =>
          `| ${s.preset} | ${s.effort} | ${s.webpQuality} | ${s.medianAvifQuality} | ${s.factor} | ${s.bytesRatio} | ${s.medianTimeRatio} | ${s.medianAvifMs} / ${s.medianWebpMs} | ${s.notReached} of ${s.images} |`,
      ),
      '',
      `Effort ${AVIF_EFFORT}, every preset: AVIF bytes / WebP bytes at equal SSIM **${a.equalSsimBytesRatio}** (target at most 0.8: ${met(a.equalSsimBytesRatio <= 0.8)}). Per-image factor (AVIF quality at equal SSIM / WebP quality): median **${a.measuredFactor}**, range ${a.perImageFactorRange[0]} to ${a.perImageFactorRange[1]}.`,
      '',
      `One factor for every preset, applied as the plugin applies it (AVIF quality = round(factor × WebP quality), effort ${AVIF_EFFORT}):`,
      '',
      '| factor | preset | AVIF quality | AVIF bytes / WebP bytes | images with SSIM ≥ the WebP | median SSIM AVIF − WebP |',
      '|---|---|---|---|---|---|',
      ...a.atFactors.flatMap((f) => [
        ...f.byPreset.map(
          (p) =>
            `| ${f.factor} | ${p.preset} | ${p.avifQuality} | ${p.bytesRatio} | ${p.ssimAtLeastWebp} of ${a.rows[`${p.preset}@${AVIF_EFFORT}`].length} | ${p.medianSsimDelta} |`,
        ),
        `| ${f.factor} | **all** | | **${f.bytesRatio}** | ${f.ssimAtLeastWebp} of ${f.images} | |`,
      ]),
      '',
      '<details><summary>Per image</summary>',
      '',
      '| preset | effort | image | size | WebP bytes | WebP SSIM | AVIF quality | AVIF bytes | AVIF SSIM | AVIF ms / WebP ms |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...Object.entries(a.rows).flatMap(([key, rows]) =>
        rows.map(
          (r) =>
            `| ${key.split('@')[0]} | ${r.effort} | ${r.file} | ${r.width}x${r.height} | ${r.webp.bytes} | ${round(r.webp.ssim, 4)} | ${r.avif.quality}${r.avif.reached ? '' : ' (not reached)'} | ${r.avif.bytes} | ${round(r.avif.ssim, 4)} | ${Math.round(r.avif.ms)} / ${Math.round(r.webp.ms)} |`,
        ),
      ),
      '',
      '</details>',
      '',
    )
  }
  const f = report.fullSet
  if (f) {
    md.push(
      '## Full request-path set vs the main image alone',
      '',
      `Written on ${f.writtenAt}, on ${f.files.length} images: ${f.files.join(', ')}. The plugin's \`encodeImageSet\` (one decode; main WebP, variants and the ${PLACEHOLDER_WIDTH} px placeholder encoded concurrently; the variants at the plugin's default variant effort ${DEFAULT_WEBP_VARIANT_EFFORT}) against \`encodeImageSet\` with no variants and no placeholder, effort ${WEBP_EFFORT}, one call at a time (concurrency 1), ${f.repetitions} repetitions interleaved (which goes first alternates per image and repetition). Time of one pass over the corpus, median over the repetitions.`,
      '',
      '| preset | variant widths | main alone, ms | main + variants + placeholder, ms | ratio (target ≤ 1.15) | median per-image ratio |',
      '|---|---|---|---|---|---|',
      ...f.byPreset.map(
        (p) =>
          `| ${p.preset} | ${p.variantWidths.join(', ')} | ${p.mainMs} | ${p.setMs} | ${p.ratio} (${met(p.ratio <= 1.15)}) | ${p.medianPerImageRatio} |`,
      ),
      '',
    )
  }
  return md.join('\n')
}

export const runAvifParts = async (parts: readonly AvifPart[]) => {
  const started = Date.now()
  const log = (line: string) =>
    console.log(`[bench avif ${Math.round((Date.now() - started) / 1000)} s] ${line}`)
  // Fresh pipelines for every call: libvips' operation cache must not serve a repeated decode.
  sharp.cache(false)
  const corpus = (await ensureCorpus()).filter((f) => !f.endsWith(GENERATED_24MP))
  const names = (files: string[]) => files.map((f) => path.basename(f))
  const file = path.join(RESULTS_DIR, 'avif.json')
  const previous: Partial<Report> = existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : {}
  const report: Report = {
    ...previous,
    machine: machine(),
    versions: {
      aom: sharp.versions.aom ?? 'unknown',
      heif: sharp.versions.heif ?? 'unknown',
      libvips: sharp.versions.vips,
      libwebp: sharp.versions.webp ?? 'unknown',
      node: process.version,
      sharp: sharp.versions.sharp ?? 'unknown',
    },
  }
  if (parts.includes('full-set'))
    report.fullSet = {
      ...(await measureFullSet(corpus, log)),
      files: names(corpus),
      writtenAt: new Date().toISOString(),
    }
  if (parts.includes('avif')) {
    const files = spread(corpus, FILE_LIMIT)
    report.avif = {
      ...(await measureAvif(files, log)),
      files: names(files),
      writtenAt: new Date().toISOString(),
    }
  }
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`)
  await writeFile(path.join(RESULTS_DIR, 'avif.md'), markdown(report))
  log('written to test/bench/results/avif.{json,md}')
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve('test/bench/avif.ts')) {
  const parts = process.argv.slice(2) as AvifPart[]
  if (parts.length === 0 || parts.some((p) => !AVIF_PARTS.includes(p)))
    throw new Error(`usage: avif.ts ${AVIF_PARTS.join(' ')} (one or both)`)
  runAvifParts(parts).catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
