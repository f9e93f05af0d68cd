import { ValidationError } from 'payload'

/**
 * Every message a user of the plugin can see, in one place.
 *
 * Upload errors are Payload `ValidationError`s on the `file` field, so the admin UI shows them on
 * the field and REST/GraphQL return them under `errors[0].data.errors`; the top-level message is the
 * same sentence, and `status` is the HTTP status the API answers with.
 */

export type ImageUploadErrorCode =
  | 'BUSY'
  | 'EXTENSION_NOT_ALLOWED'
  | 'FILE_MISSING'
  | 'FILE_TOO_LARGE'
  | 'FORMAT_NOT_ALLOWED'
  | 'IMAGE_ANIMATED'
  | 'IMAGE_TIMEOUT'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_UNDECODABLE'
  | 'NAME_TOO_LONG'
  | 'REMOTE_URL_DISABLED'
  | 'REMOTE_URL_FAILED'
  | 'REMOTE_URL_NOT_ALLOWED'
  | 'PROCESSING_FAILED'
  | 'STORAGE_FAILED'
  | 'UPLOAD_CONFLICT'
  | 'BULK_UPLOAD'
  | 'MALFORMED_UPLOAD'

export class ImageUploadError extends ValidationError {
  readonly code: ImageUploadErrorCode
  /** For 503s: when to try again, sent as `Retry-After` (REST). */
  readonly retryAfterSeconds?: number

  constructor(args: { code: ImageUploadErrorCode; collection: string; message: string; retryAfterSeconds?: number; status: number }) {
    super({ collection: args.collection, errors: [{ message: args.message, path: 'file' }] })
    // Keeps Payload's handling of validation errors (log level, admin UI field mapping) and
    // what API clients check (`errors[0].name === 'ValidationError'`); `code` tells them apart.
    this.name = 'ValidationError'
    this.code = args.code
    this.message = args.message
    this.status = args.status
    this.retryAfterSeconds = args.retryAfterSeconds
  }
}

/** Thrown at config time when plugin options are invalid; names the option path. */
export class ImageAssetsConfigError extends Error {
  constructor(message: string) {
    super(`payload-image-assets: ${message}`)
    this.name = 'ImageAssetsConfigError'
  }
}

const list = (items: readonly string[]): string => items.join(', ')

/** Keeps a user-supplied extension printable: no control, bidi or path characters, bounded length. */
const printable = (text: string): string => {
  const cleaned = Array.from(text.normalize('NFC'))
    .filter((ch) => /[\p{L}\p{N}._-]/u.test(ch))
    .join('')
  return cleaned.length > 16 ? `${cleaned.slice(0, 16)}…` : cleaned
}

export const messages = {
  extensionNotAllowed: (ext: string, label: string, allowed: readonly string[]): string =>
    ext === ''
      ? `A file without an extension is not allowed for ${label}. Allowed extensions: ${list(allowed)}.`
      : `File extension "${printable(ext)}" is not allowed for ${label}. Allowed extensions: ${list(allowed)}.`,

  busy: (label: string): string =>
    `The server is busy processing other images. Nothing was saved to ${label}; try again in a few seconds.`,

  storageFailed: (label: string): string =>
    `The image could not be stored: the storage service did not accept it. Nothing was saved to ${label}; try again in a moment.`,

  nameTooLong: (label: string, allowed: readonly string[]): string =>
    `The file name is longer than 255 characters, so its extension was cut off on the way in. Rename the file and upload it to ${label} again. Allowed extensions: ${list(allowed)}.`,

  fileTooLarge: (bytes: number, label: string, maxBytes: number): string =>
    `The file is ${mb(bytes)} MB; ${label} accepts files up to ${mb(maxBytes)} MB. Upload a smaller file.`,

  requestTooLarge: (maxBytes: number): string =>
    `The file is larger than ${mb(maxBytes)} MB, the largest upload this server accepts. Upload a smaller file.`,

  fileMissing: (label: string, allowed: readonly string[]): string =>
    `No file was uploaded. ${label} needs an image file. Allowed extensions: ${list(allowed)}.`,

  formatNotAllowed: (label: string, formats: readonly string[], allowed: readonly string[]): string =>
    `The file's content is not a ${formatList(formats)} image, whatever its name says, so it is not allowed for ${label}. Allowed extensions: ${list(allowed)}.`,

  imageAnimated: (frames: number, label: string): string =>
    `The image is animated (${frames} frames); ${label} accepts only still images. Upload a single-frame image.`,

  imageSideTooLong: (width: number, height: number, label: string, maxSide: number): string =>
    `The image is ${width} x ${height} pixels; the longest side ${label} accepts is ${maxSide} pixels. Upload a smaller image.`,

  imageTooManyPixels: (width: number, height: number, label: string, maxPixels: number): string =>
    `The image is ${width} x ${height} pixels (${megapixels(width * height)} megapixels); ${label} accepts at most ${megapixels(maxPixels)} megapixels. Upload a smaller image.`,

  imageTimeout: (label: string, seconds: number): string =>
    `Processing the image took longer than ${seconds} second${seconds === 1 ? '' : 's'}, the limit for ${label}. Try again later, or upload a smaller image.`,

  imageUndecodable: (label: string): string =>
    `The image could not be decoded: it is truncated or corrupt. Upload a complete image to ${label}.`,

  processingFailed: (label: string): string =>
    `The image could not be processed because of a problem on the server, not with the file. Nothing was saved to ${label}; try again, and if it keeps happening tell the site's administrator.`,

  malformedUpload: (label: string): string =>
    `The upload could not be read: its multipart body is malformed (a file name with control characters such as \\x01 is the usual cause). Nothing was saved to ${label}; rename the file and upload it again.`,

  bulkUpload: (label: string): string =>
    `A file can be uploaded to one document at a time. Nothing was saved to ${label}; send the file with PATCH /api/<collection>/<id>, or create a new document.`,

  uploadConflict: (label: string): string =>
    `This image was changed by another request while yours was being processed, so yours was not saved to ${label}. Reload the document and try again.`,

  databaseDown: (): string => 'The database is unavailable, so nothing was saved. Try again in a moment.',

  databaseRefused: (): string =>
    "The database refused to save the change, so nothing was saved. Try again; if it keeps happening, tell the site's administrator.",

  remoteURLDisabled: (label: string, allowed: readonly string[]): string =>
    `Creating an image from a URL is switched off for ${label}. Upload the file itself. Allowed extensions: ${list(allowed)}.`,

  remoteURLNotAllowed: (reason: string, label: string): string =>
    `The URL cannot be used: ${reason}. Nothing was saved to ${label}; upload the file itself or use an allowed URL.`,

  remoteURLFailed: (reason: string, label: string): string =>
    `The image could not be fetched from the URL: ${reason}. Nothing was saved to ${label}.`,

  remoteURLTooLarge: (label: string, maxBytes: number): string =>
    `The file at the URL is larger than ${mb(maxBytes)} MB, the most ${label} accepts. Use a smaller image.`,

  option: (path: string, expected: string, received: unknown): string =>
    `Expected ${expected} for ${path} but received ${describe(received)}`,
} as const

const mb = (bytes: number): string => String(Math.round(bytes / 104_857.6) / 10)

const megapixels = (pixels: number): string => String(Math.round(pixels / 100_000) / 10)

const formatList = (formats: readonly string[]): string =>
  formats.length <= 1
    ? (formats[0] ?? '')
    : `${formats.slice(0, -1).join(', ')} or ${formats[formats.length - 1]}`

const describe = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === undefined || value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

export const uploadErrors = {
  extensionNotAllowed: (collection: string, ext: string, label: string, allowed: readonly string[]) =>
    new ImageUploadError({
      code: 'EXTENSION_NOT_ALLOWED',
      collection,
      message: messages.extensionNotAllowed(ext, label, allowed),
      status: 400,
    }),
  fileMissing: (collection: string, label: string, allowed: readonly string[]) =>
    new ImageUploadError({
      code: 'FILE_MISSING',
      collection,
      message: messages.fileMissing(label, allowed),
      status: 400,
    }),
  busy: (collection: string, label: string) =>
    new ImageUploadError({ code: 'BUSY', collection, message: messages.busy(label), retryAfterSeconds: 5, status: 503 }),
  storageFailed: (collection: string, label: string) =>
    new ImageUploadError({ code: 'STORAGE_FAILED', collection, message: messages.storageFailed(label), retryAfterSeconds: 10, status: 503 }),
  processingFailed: (collection: string, label: string) =>
    new ImageUploadError({ code: 'PROCESSING_FAILED', collection, message: messages.processingFailed(label), status: 500 }),
  malformedUpload: (collection: string, label: string) =>
    new ImageUploadError({ code: 'MALFORMED_UPLOAD', collection, message: messages.malformedUpload(label), status: 400 }),
  bulkUpload: (collection: string, label: string) =>
    new ImageUploadError({ code: 'BULK_UPLOAD', collection, message: messages.bulkUpload(label), status: 400 }),
  uploadConflict: (collection: string, label: string) =>
    new ImageUploadError({ code: 'UPLOAD_CONFLICT', collection, message: messages.uploadConflict(label), status: 409 }),
  nameTooLong: (collection: string, label: string, allowed: readonly string[]) =>
    new ImageUploadError({ code: 'NAME_TOO_LONG', collection, message: messages.nameTooLong(label, allowed), status: 400 }),
  fileTooLarge: (collection: string, bytes: number, label: string, maxBytes: number) =>
    new ImageUploadError({
      code: 'FILE_TOO_LARGE',
      collection,
      message: messages.fileTooLarge(bytes, label, maxBytes),
      status: 413,
    }),
  formatNotAllowed: (collection: string, label: string, formats: readonly string[], allowed: readonly string[]) =>
    new ImageUploadError({
      code: 'FORMAT_NOT_ALLOWED',
      collection,
      message: messages.formatNotAllowed(label, formats, allowed),
      status: 400,
    }),
  imageAnimated: (collection: string, frames: number, label: string) =>
    new ImageUploadError({ code: 'IMAGE_ANIMATED', collection, message: messages.imageAnimated(frames, label), status: 422 }),
  imageSideTooLong: (collection: string, width: number, height: number, label: string, maxSide: number) =>
    new ImageUploadError({
      code: 'IMAGE_TOO_LARGE',
      collection,
      message: messages.imageSideTooLong(width, height, label, maxSide),
      status: 422,
    }),
  imageTooManyPixels: (collection: string, width: number, height: number, label: string, maxPixels: number) =>
    new ImageUploadError({
      code: 'IMAGE_TOO_LARGE',
      collection,
      message: messages.imageTooManyPixels(width, height, label, maxPixels),
      status: 422,
    }),
  imageTimeout: (collection: string, label: string, seconds: number) =>
    new ImageUploadError({ code: 'IMAGE_TIMEOUT', collection, message: messages.imageTimeout(label, seconds), retryAfterSeconds: 30, status: 503 }),
  remoteURLDisabled: (collection: string, label: string, allowed: readonly string[]) =>
    new ImageUploadError({ code: 'REMOTE_URL_DISABLED', collection, message: messages.remoteURLDisabled(label, allowed), status: 400 }),
  remoteURLNotAllowed: (collection: string, reason: string, label: string) =>
    new ImageUploadError({ code: 'REMOTE_URL_NOT_ALLOWED', collection, message: messages.remoteURLNotAllowed(reason, label), status: 400 }),
  remoteURLFailed: (collection: string, reason: string, label: string) =>
    new ImageUploadError({ code: 'REMOTE_URL_FAILED', collection, message: messages.remoteURLFailed(reason, label), status: 422 }),
  remoteURLTooLarge: (collection: string, label: string, maxBytes: number) =>
    new ImageUploadError({ code: 'FILE_TOO_LARGE', collection, message: messages.remoteURLTooLarge(label, maxBytes), status: 413 }),
  imageUndecodable: (collection: string, label: string) =>
    new ImageUploadError({
      code: 'IMAGE_UNDECODABLE',
      collection,
      message: messages.imageUndecodable(label),
      status: 422,
    }),
} as const
