import { readFile, unlink } from 'node:fs/promises'

import type { PayloadRequest } from 'payload'

import type { ProcessedImage } from '../image/pipeline.js'

type UploadedFile = NonNullable<PayloadRequest['file']>

/** An image processed in `beforeOperation`, waiting for `beforeChange` to attach it to the document. */
export type PendingImage = { image: ProcessedImage; originalName: string; source: Buffer }

const pending = new WeakMap<PayloadRequest, PendingImage>()

export const setPending = (req: PayloadRequest, value: PendingImage): void => {
  pending.set(req, value)
}

/** Returns the request's pending image once, and forgets it. */
export const takePending = (req: PayloadRequest): PendingImage | undefined => {
  const value = pending.get(req)
  pending.delete(req)
  return value
}

/**
 * The upload's bytes, whether Payload kept them in memory or in a temp file (`useTempFiles`).
 * A temp file is removed once read: from here on the plugin owns the bytes.
 */
export const readUpload = async (file: UploadedFile): Promise<Buffer> => {
  if (!file.tempFilePath) return file.data
  try {
    return file.data?.length ? file.data : await readFile(file.tempFilePath)
  } finally {
    await unlink(file.tempFilePath).catch(() => undefined)
  }
}

/** Removes an upload's temp file, if any, without reading it (for refused uploads). */
export const discardUpload = async (file: UploadedFile): Promise<void> => {
  if (file.tempFilePath) await unlink(file.tempFilePath).catch(() => undefined)
}
