/**
 * One benchmark contestant in its own process, so that its CPU time and peak RSS are its own.
 * Modes: `floor` (raw sharp, the plugin's encoder and nothing else), `plugin-local` (the reference
 * app's Payload with the plugin, through `payload.create`), `payload-hand` (Payload's own upload
 * path configured by hand, through `payload.create`) and `plugin-rest` (the reference app served
 * over HTTP; the parent process is the client).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

import { BUILT_IN_COLLECTIONS, encodeWebP } from 'payload-image-assets'
import { getPayload, type Payload } from 'payload'

import { serveAPI } from '../helpers/serve'
import { type Measure, mimeTypeOf, type Mode, pool, type RunRequest, type RunResult } from './protocol'
import { peakRss, resetPeakRss } from './proc'

const mode = process.argv[2] as Mode
const files = JSON.parse(process.argv[3]) as string[]
const send = (message: unknown) => process.send?.(message)

const cpuMs = () => {
  const { system, user } = process.cpuUsage()
  return (system + user) / 1000
}

const main = async () => {
  const sharp = (await import('sharp')).default
  if (process.env.BENCH_SHARP_CONCURRENCY) sharp.concurrency(Number(process.env.BENCH_SHARP_CONCURRENCY))
  if (process.env.BENCH_SHARP_CACHE === '0') sharp.cache(false)
  const inputs = await Promise.all(files.map((f) => readFile(f)))
  let payload: Payload | undefined
  if (mode === 'plugin-local' || mode === 'plugin-rest') {
    payload = await getPayload({ config: (await import('../../payload.config')).default })
  } else if (mode === 'payload-hand') {
    payload = await getPayload({ config: (await import('./baseline.config')).default })
  }
  if (mode === 'plugin-rest' && payload) {
    const { baseURL } = await serveAPI(payload.config)
    const user = { email: 'bench@example.com', password: 'bench-password' }
    await payload.create({ collection: 'users', data: user })
    const login = await fetch(`${baseURL}/api/users/login`, {
      body: JSON.stringify(user),
      headers: { 'Content-Type': 'application/json' },
      method: 'POST',
    })
    send({ baseURL, token: ((await login.json()) as { token: string }).token, type: 'ready' })
  } else {
    send({ type: 'ready' })
  }

  let mark = { cpu: 0 }
  process.on('message', async (message: RunRequest | { id: number; type: 'mark' | 'measure' }) => {
    if (message.type === 'mark') {
      resetPeakRss()
      mark = { cpu: cpuMs() }
      send({ id: message.id, type: 'marked' })
      return
    }
    if (message.type === 'measure') {
      send({ cpuMs: cpuMs() - mark.cpu, id: message.id, peakRss: peakRss(), type: 'measured' } satisfies Measure)
      return
    }
    const { collection, concurrency, id, indexes, saveTo } = message as RunRequest
    const preset = BUILT_IN_COLLECTIONS[collection as keyof typeof BUILT_IN_COLLECTIONS].preset
    const outputs: Buffer[] = []
    const urls: string[] = []
    resetPeakRss()
    const cpuStart = cpuMs()
    const wallStart = performance.now()
    const latencies = await pool(indexes.length, concurrency, async (i) => {
      const input = inputs[indexes[i]]
      if (mode === 'floor') {
        outputs[i] = (await encodeWebP(input, preset, 6)).data
        return
      }
      const file = files[indexes[i]]
      const doc = await payload!.create({
        collection: collection as 'media',
        data: {},
        // A distinct name per upload: Payload's own path picks unique filenames with a racy lookup.
        file: { data: input, mimetype: mimeTypeOf(file), name: `${i}-${path.basename(file)}`, size: input.length },
      })
      urls[i] = doc.url as string
    })
    const wallMs = performance.now() - wallStart
    const result: RunResult = {
      cpuMs: cpuMs() - cpuStart,
      id,
      latencies,
      outputs: [],
      peakRss: peakRss(),
      type: 'result',
      wallMs,
    }
    // Untimed: the output bytes, for size and quality figures.
    if (mode !== 'floor') {
      for (const [i, url] of urls.entries()) outputs[i] = Buffer.from(await (await fetch(url)).arrayBuffer())
    }
    result.outputs = outputs.map((o) => o.length)
    if (saveTo) {
      await mkdir(saveTo, { recursive: true })
      await Promise.all(outputs.map((o, i) => writeFile(path.join(saveTo, `${path.basename(files[indexes[i]])}.webp`), o)))
    }
    send(result)
  })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
