import { getPayload, type SanitizedConfig } from 'payload'

import { reconcile } from '../ops/reconcile.js'
import { runtimeOf } from '../ops/runtime.js'
import { finish, flag, option } from './progress.js'

/**
 * `payload reconcile-images [--fix] [--grace-hours <n>]`: lists objects in the bucket that no
 * document references and documents whose objects are missing. `--fix` deletes orphans older than
 * the grace period (default 24 hours) and settles what is due for clean-up; missing objects are
 * reported, never invented.
 */
export const script = async (config: SanitizedConfig): Promise<void> => {
  const argv = process.argv.slice(3)
  const graceHours = Number(option(argv, 'grace-hours')[0] ?? 24)
  if (!Number.isFinite(graceHours) || graceHours < 0) {
    process.stderr.write(
      `Expected a number of hours for --grace-hours but received ${JSON.stringify(option(argv, 'grace-hours')[0])}\n`,
    )
    process.exit(2)
  }
  const payload = await getPayload({ config })
  const fix = flag(argv, 'fix')
  const report = await reconcile({
    fix,
    graceMs: graceHours * 3_600_000,
    onProgress: (line) => process.stderr.write(`${line}\n`),
    payload,
    runtime: runtimeOf(payload),
  })
  const out = (line: string) => process.stdout.write(`${line}\n`)
  out(`Scanned ${report.scannedObjects} objects and ${report.scannedDocuments} documents.`)
  for (const [slug, c] of Object.entries(report.collections))
    out(
      `${slug}: ${c.objects} objects, ${c.orphans} orphaned; ${c.documents} documents, ${c.missing} missing objects`,
    )
  for (const o of report.orphans)
    out(
      `orphan  ${o.key}${o.deleted ? '  (deleted)' : o.tooRecent ? `  (younger than ${graceHours} h, kept)` : ''}`,
    )
  for (const m of report.missing) out(`missing ${m.key}  (${m.collection} ${m.id})`)
  out(
    `${report.orphans.length} orphaned object(s)${fix ? `, ${report.orphans.filter((o) => o.deleted).length} deleted` : ' (run with --fix to delete them)'}; ${report.missing.length} missing object(s); recorded for clean-up: ${report.recorded.deleted} deleted now, ${report.recorded.remaining} row(s) still waiting.`,
  )
  await finish(payload, report.missing.length > 0 ? 1 : 0)
}
