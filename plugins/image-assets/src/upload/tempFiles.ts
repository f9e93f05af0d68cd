import { lstat, readdir, unlink } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import type { Payload } from 'payload'

/**
 * Payload's names for the temp files it writes: a multipart part with `upload.useTempFiles`
 * (`tmp-<counter>-<ms>`, in `upload.tempFileDir`, default `tmp`) and its copy of a staged direct
 * upload (`payload-client-upload-<uuid>`, in `upload.tempFileDir` or the OS temp dir).
 */
const PART_NAME = /^tmp-\d+-\d+$/

/** Whether a part's file name is one Payload made up: the part came without a name of its own. */
export const isMadeUpPartName = (name: string): boolean => PART_NAME.test(name)
const CLIENT_UPLOAD_NAME = /^payload-client-upload-[0-9a-f-]{36}$/i

/**
 * A temp file not written to for this long belongs to no request any more: a part is read within
 * its request, right after it is written (and an upload still arriving keeps writing to its file).
 */
export const TEMP_FILE_MAX_AGE_MS = 60 * 60 * 1000

/**
 * Removes Payload's temp files that no request will read: parts under names nothing reads, sent to
 * any endpoint of the app (Payload removes only an upload collection's `file`), and the files of a
 * process killed mid-request. The upload path removes its own at once; this is the backstop, run
 * by the clean-up runner. Only files with Payload's temp names, older than `TEMP_FILE_MAX_AGE_MS`.
 */
export const sweepTempFiles = async (payload: Payload, now = Date.now()): Promise<number> => {
  const upload = payload.config.upload as { tempFileDir?: string; useTempFiles?: boolean }
  const targets: Array<[string, RegExp]> = [
    [path.resolve(upload?.tempFileDir || os.tmpdir()), CLIENT_UPLOAD_NAME],
  ]
  if (upload?.useTempFiles) targets.push([path.resolve(upload.tempFileDir ?? 'tmp'), PART_NAME])
  let removed = 0
  for (const [dir, name] of targets) {
    const entries = await readdir(dir).catch(() => [] as string[])
    for (const entry of entries) {
      if (!name.test(entry)) continue
      const file = path.join(dir, entry)
      const info = await lstat(file).catch(() => undefined)
      if (!info?.isFile() || now - info.mtimeMs < TEMP_FILE_MAX_AGE_MS) continue
      if (
        await unlink(file).then(
          () => true,
          () => false,
        )
      )
        removed++
    }
  }
  return removed
}
