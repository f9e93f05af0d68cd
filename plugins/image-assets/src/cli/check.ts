import type { SanitizedConfig } from 'payload'

import { RUNTIME_KEY, type Runtime } from '../ops/runtime.js'

/**
 * `payload image-assets:check`: loads the config (which validates the plugin's options and
 * settings, and throws with the message when one is wrong), then prints what the plugin set up. It
 * connects to nothing. A build step runs it so that a configuration error fails the build instead
 * of the deployed app (see the README: "Configuration errors fail the build").
 */
export const script = async (config: SanitizedConfig): Promise<void> => {
  const runtime = config.custom?.[RUNTIME_KEY] as Runtime | undefined
  if (!runtime) {
    process.stderr.write('payload-image-assets: the plugin is not in this config\n')
    process.exit(1)
  }
  const out = (line: string) => process.stdout.write(`${line}\n`)
  out(`payload-image-assets: configuration OK (bucket "${runtime.store.storage.bucket}")`)
  for (const c of runtime.collections) {
    out(
      `  ${c.slug}: ${c.preset.width} x ${c.preset.height} WebP q${c.preset.quality}, ${c.delivery} delivery${c.adoptedFrom ? ', adopted from the app' : ''}`,
    )
  }
  process.exit(0)
}
