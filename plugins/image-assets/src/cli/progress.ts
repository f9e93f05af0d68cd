import type { Payload } from 'payload'

/** A progress line on stderr: a bar on a terminal, a line every tenth of the way elsewhere (CI, logs). */
export const progressReporter = (stream: NodeJS.WriteStream = process.stderr) => {
  const started = Date.now()
  let lastTenth = -1
  return (label: string, done: number, total: number) => {
    const seconds = (Date.now() - started) / 1000
    const rate = seconds > 0 ? done / seconds : 0
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0
    const width = 24
    const filled = total > 0 ? Math.round((done / total) * width) : width
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${rate.toFixed(1)}/s ETA ${eta}s`
    if (stream.isTTY) {
      stream.write(`\r${line}${done >= total ? '\n' : ''}`)
      return
    }
    const tenth = total > 0 ? Math.floor((done / total) * 10) : 10
    if (tenth !== lastTenth || done >= total) {
      lastTenth = tenth
      stream.write(`${line}\n`)
    }
  }
}

/** The values of a repeatable `--name value` option, and whether a `--flag` is present. */
export const option = (argv: readonly string[], name: string): string[] =>
  argv.flatMap((arg, i) =>
    arg === `--${name}` && argv[i + 1]
      ? [argv[i + 1]]
      : arg.startsWith(`--${name}=`)
        ? [arg.slice(name.length + 3)]
        : [],
  )

export const flag = (argv: readonly string[], name: string): boolean => argv.includes(`--${name}`)

/**
 * Ends a command: stops the plugin's in-process runners (a clean-up pass in progress finishes
 * first, so that no row stays leased by a process that is gone), then exits with `code`. Waits
 * at most 10 seconds for them.
 */
export const finish = async (payload: Payload, code: number): Promise<never> => {
  await Promise.race([
    payload.destroy().catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
  ])
  process.exit(code)
}
