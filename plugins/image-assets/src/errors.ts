import {
  Forbidden,
  NotFound,
  type PayloadRequest,
  UnauthorizedError,
  ValidationError,
} from 'payload'

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
  | 'FILE_NAME_MISSING'
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
  | 'CROP_INVALID'
  | 'FOCAL_INVALID'
  | 'CROP_NEEDS_ORIGINAL'
  | 'DRAFT_IMAGE_CHANGE'
  | 'DATA_INVALID'
  | 'FILE_PARTS'
  | 'STAGED_KEY_INVALID'
  | 'SIZE_INVALID'
  | 'FORM_TOO_LARGE'
  | 'STAGED_UPLOAD_MISSING'
  | 'SOURCE_MISSING'

export class ImageUploadError extends ValidationError {
  readonly code: ImageUploadErrorCode
  /** For 503s: when to try again, sent as `Retry-After` (REST). */
  readonly retryAfterSeconds?: number

  constructor(args: {
    code: ImageUploadErrorCode
    collection: string
    message: string
    retryAfterSeconds?: number
    status: number
  }) {
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

/**
 * Payload's own error classes, with their names set by hand: a production build (`next build`)
 * minifies class names, and Payload's `loggingLevels` (a refusal logged as one info line, not an
 * error with a stack) and its error formatting (the message reaches the client) go by the name.
 */
const named = <E extends Error>(error: E, name: string): E => Object.assign(error, { name })

/** A refused caller: 401 without a user, 403 with one. */
export const accessRefused = (req: PayloadRequest): Error =>
  req.user
    ? named(new Forbidden(req.t), 'Forbidden')
    : named(new UnauthorizedError(req.t), 'UnauthorizedError')

/** No such document (404). */
export const notFound = (req: PayloadRequest): Error => named(new NotFound(req.t), 'NotFound')

/** Thrown at config time when plugin options are invalid; names the option path. */
export class ImageAssetsConfigError extends Error {
  constructor(message: string) {
    super(`payload-image-assets: ${message}`)
    this.name = 'ImageAssetsConfigError'
  }
}

/** "a, b and c": the admin UI's error toast splits a message at its first colon, so none has one. */
const list = (items: readonly string[]): string =>
  items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`

/** A reason without its closing period, to go inside a sentence. */
const clause = (text: string): string => text.replace(/[.\s]+$/, '')

/** Keeps a user-supplied extension printable: no control, bidi or path characters, bounded length. */
const printable = (text: string): string => {
  const cleaned = Array.from(text.normalize('NFC'))
    .filter((ch) => /[\p{L}\p{N}._-]/u.test(ch))
    .join('')
  return cleaned.length > 16 ? `${cleaned.slice(0, 16)}…` : cleaned
}

/**
 * Megabytes in the unit the limit (`unitOf`) was most likely written in: `20 * 1024 * 1024` is
 * 20 (binary), `2_000_000` is 2 (decimal); one decimal place at most.
 */
const mb = (bytes: number, unitOf = bytes): string =>
  String(Math.round(bytes / (unitOf % 1_048_576 === 0 ? 104_857.6 : 100_000)) / 10)

const megapixels = (pixels: number): string => String(Math.round(pixels / 100_000) / 10)

const exact = (count: number): string => count.toLocaleString('en-US')

/**
 * A size over a limit, and the limit, in rounded units unless rounding would make them read the
 * same ("15 MB; accepts up to 15 MB"): then both exactly, in `unit`.
 */
const overLimit = (
  value: number,
  limit: number,
  rounded: (n: number) => string,
  unit: string,
): [value: string, limit: string] =>
  rounded(value) === rounded(limit)
    ? [`${exact(value)} ${unit}`, `${exact(limit)} ${unit}`]
    : [rounded(value), rounded(limit)]

const bytesOver = (bytes: number, maxBytes: number) =>
  overLimit(bytes, maxBytes, (n) => `${mb(n, maxBytes)} MB`, 'bytes')

const pixelsOver = (pixels: number, maxPixels: number) =>
  overLimit(pixels, maxPixels, (n) => `${megapixels(n)} megapixels`, 'pixels')

const formatList = (formats: readonly string[]): string =>
  formats.length <= 1
    ? (formats[0] ?? '')
    : `${formats.slice(0, -1).join(', ')} or ${formats[formats.length - 1]}`

const describe = (value: unknown): string => {
  if (typeof value === 'string')
    return value.length > 40
      ? `${JSON.stringify(value.slice(0, 40)).slice(0, -1)}…"`
      : JSON.stringify(value)
  if (value === undefined || value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

/** What each upload error's message names; every builder takes the fields it needs, by name. */
export type UploadErrorArgs = {
  BUSY: { label: string }
  EXTENSION_NOT_ALLOWED: { allowed: readonly string[]; ext: string; label: string }
  FILE_MISSING: { allowed: readonly string[]; label: string }
  FILE_NAME_MISSING: { allowed: readonly string[]; label: string }
  /**
   * `bytes` for an uploaded file; `fromURL` for a file at a URL and `over` for a staged upload,
   * whose size is known only to exceed the limit (they are read no further).
   */
  FILE_TOO_LARGE:
    | { bytes: number; label: string; maxBytes: number }
    | { fromURL: true; label: string; maxBytes: number }
    | { label: string; maxBytes: number; over: true }
  FORMAT_NOT_ALLOWED: { allowed: readonly string[]; formats: readonly string[]; label: string }
  IMAGE_ANIMATED: { frames: number; label: string }
  IMAGE_TIMEOUT: { label: string; seconds: number }
  /** `maxSide` when the longest side is over the limit, `maxPixels` when the pixel count is. */
  IMAGE_TOO_LARGE:
    | { height: number; label: string; maxPixels?: never; maxSide: number; width: number }
    | { height: number; label: string; maxPixels: number; maxSide?: never; width: number }
  IMAGE_UNDECODABLE: { label: string }
  NAME_TOO_LONG: { allowed: readonly string[]; label: string }
  REMOTE_URL_DISABLED: { allowed: readonly string[]; label: string }
  REMOTE_URL_FAILED: { label: string; reason: string }
  REMOTE_URL_NOT_ALLOWED: { label: string; reason: string }
  PROCESSING_FAILED: { label: string }
  /** `reading`: a direct upload's staged object, or a stored image re-made, could not be read. */
  STORAGE_FAILED: { label: string; reading?: 'staged' | 'stored' }
  UPLOAD_CONFLICT: { label: string }
  BULK_UPLOAD: { label: string }
  MALFORMED_UPLOAD: { label: string }
  CROP_INVALID: { label: string }
  FOCAL_INVALID: { label: string }
  CROP_NEEDS_ORIGINAL: { label: string }
  DRAFT_IMAGE_CHANGE: { label: string }
  /** `reason`: what is wrong with the document's fields, as a clause. */
  DATA_INVALID: { label: string; reason: string }
  FILE_PARTS: { count: number; label: string }
  STAGED_KEY_INVALID: { label: string }
  SIZE_INVALID: { label: string; received: unknown }
  /** `fieldBytes`: a field over the parser's limit; `requestBytes`: the whole body over it. */
  FORM_TOO_LARGE:
    | { fieldBytes: number; label: string }
    | { label: string; maxBytes: number; requestBytes: number }
  STAGED_UPLOAD_MISSING: { label: string }
  SOURCE_MISSING: { label: string }
}

type UploadErrorEntry<A> = {
  message: (args: A) => string
  retryAfterSeconds?: number
  status: number
}

/** Every upload error, by code: the HTTP status, for 503s when to retry, and the message. */
const uploadErrorTable: { [C in ImageUploadErrorCode]: UploadErrorEntry<UploadErrorArgs[C]> } = {
  BUSY: {
    status: 503,
    retryAfterSeconds: 5,
    message: ({ label }) =>
      `The server is busy processing other images. Nothing was saved to ${label}; try again in a few seconds.`,
  },
  EXTENSION_NOT_ALLOWED: {
    status: 400,
    message: ({ allowed, ext, label }) =>
      ext === ''
        ? `A file without an extension is not allowed for ${label}. Allowed extensions are ${list(allowed)}.`
        : `File extension "${printable(ext)}" is not allowed for ${label}. Allowed extensions are ${list(allowed)}.`,
  },
  FILE_NAME_MISSING: {
    status: 400,
    message: ({ allowed, label }) =>
      `The "file" part has no file name (or, for a direct upload, its reference is not JSON), so its type cannot be checked. Nothing was saved to ${label}; send the file with its name. Allowed extensions are ${list(allowed)}.`,
  },
  FILE_MISSING: {
    status: 400,
    message: ({ allowed, label }) =>
      `No file was uploaded. ${label} needs an image file. Allowed extensions are ${list(allowed)}.`,
  },
  FILE_TOO_LARGE: {
    status: 413,
    message: (args) => {
      if ('bytes' in args) {
        const [size, limit] = bytesOver(args.bytes, args.maxBytes)
        return `The file is ${size}; ${args.label} accepts files up to ${limit}. Upload a smaller file.`
      }
      return 'over' in args
        ? `The file is larger than ${mb(args.maxBytes)} MB, the most ${args.label} accepts. Upload a smaller file.`
        : `The file at the URL is larger than ${mb(args.maxBytes)} MB, the most ${args.label} accepts. Use a smaller image.`
    },
  },
  FORMAT_NOT_ALLOWED: {
    status: 400,
    message: ({ allowed, formats, label }) =>
      `The file's content is not a ${formatList(formats)} image, whatever its name says, so it is not allowed for ${label}. Allowed extensions are ${list(allowed)}.`,
  },
  IMAGE_ANIMATED: {
    status: 422,
    message: ({ frames, label }) =>
      `The image is animated (${frames} frames); ${label} accepts only still images. Upload a single-frame image.`,
  },
  IMAGE_TIMEOUT: {
    status: 503,
    retryAfterSeconds: 30,
    message: ({ label, seconds }) =>
      `Processing the image took longer than ${seconds} second${seconds === 1 ? '' : 's'}, the limit for ${label}. Try again later, or upload a smaller image.`,
  },
  IMAGE_TOO_LARGE: {
    status: 422,
    message: ({ height, label, maxPixels, maxSide, width }) => {
      if (maxSide !== undefined)
        return `The image is ${width} x ${height} pixels; the longest side ${label} accepts is ${maxSide} pixels. Upload a smaller image.`
      const [size, limit] = pixelsOver(width * height, maxPixels)
      return `The image is ${width} x ${height} pixels (${size}); ${label} accepts at most ${limit}. Upload a smaller image.`
    },
  },
  IMAGE_UNDECODABLE: {
    status: 422,
    message: ({ label }) =>
      `The image could not be decoded because it is truncated or corrupt. Upload a complete image to ${label}.`,
  },
  NAME_TOO_LONG: {
    status: 400,
    message: ({ allowed, label }) =>
      `The file name is longer than 255 characters (UTF-16 units: an emoji counts as two), so its extension was cut off on the way in. Rename the file and upload it to ${label} again. Allowed extensions are ${list(allowed)}.`,
  },
  REMOTE_URL_DISABLED: {
    status: 400,
    message: ({ allowed, label }) =>
      `Creating an image from a URL is switched off for ${label}. Upload the file itself. Allowed extensions are ${list(allowed)}.`,
  },
  REMOTE_URL_FAILED: {
    status: 422,
    message: ({ label, reason }) =>
      `The image could not be fetched from the URL because ${clause(reason)}. Nothing was saved to ${label}.`,
  },
  REMOTE_URL_NOT_ALLOWED: {
    status: 400,
    message: ({ label, reason }) =>
      `The URL cannot be used because ${clause(reason)}. Nothing was saved to ${label}; upload the file itself or use an allowed URL.`,
  },
  PROCESSING_FAILED: {
    status: 500,
    message: ({ label }) =>
      `The image could not be processed because of a problem on the server, not with the file. Nothing was saved to ${label}; try again, and if it keeps happening tell the site's administrator.`,
  },
  STORAGE_FAILED: {
    status: 503,
    retryAfterSeconds: 10,
    message: ({ label, reading }) =>
      reading === 'staged'
        ? `The uploaded file could not be read back from the storage service, which did not answer. Nothing was saved to ${label}; try again in a moment.`
        : reading === 'stored'
          ? `The image's stored file could not be read from the storage service, which did not answer. Nothing was changed in ${label}; try again in a moment.`
          : `The image could not be stored because the storage service did not accept it. Nothing was saved to ${label}; try again in a moment.`,
  },
  UPLOAD_CONFLICT: {
    status: 409,
    message: ({ label }) =>
      `This image was changed by another request while yours was being processed, so yours was not saved to ${label}. Reload the document and try again.`,
  },
  BULK_UPLOAD: {
    status: 400,
    message: ({ label }) =>
      `A file can be uploaded to one document at a time. Nothing was saved to ${label}; send the file with PATCH /api/<collection>/<id>, or create a new document.`,
  },
  MALFORMED_UPLOAD: {
    status: 400,
    message: ({ label }) =>
      `The upload could not be read because its multipart body is malformed or incomplete (a file name with control characters such as \\x01, a body cut off before its closing boundary, or a Content-Type without a boundary). Nothing was saved to ${label}; send the whole form again, with the file renamed if its name has control characters.`,
  },
  CROP_INVALID: {
    status: 400,
    message: ({ label }) =>
      `The crop is not a rectangle inside the image. Nothing was saved to ${label}; give crop as percentages of the image (x and y from 0 to 100, width and height at least 0.5, x + width and y + height at most 100), or null for no crop.`,
  },
  FOCAL_INVALID: {
    status: 400,
    message: ({ label }) =>
      `The focal point is not inside the image. Nothing was saved to ${label}; give focalX and focalY as numbers from 0 to 100 (percent of the image's width and height).`,
  },
  DRAFT_IMAGE_CHANGE: {
    status: 400,
    message: ({ label }) =>
      `A new image, crop or focal point cannot be saved as a draft, because the image's files are not versioned. Nothing was saved to ${label}; publish the change, or save the draft without it.`,
  },
  CROP_NEEDS_ORIGINAL: {
    status: 400,
    message: ({ label }) =>
      `This crop reaches outside the current image, and ${label} keeps no original to take the rest from. Nothing was saved; choose a crop inside the current image, or upload the original again.`,
  },
  DATA_INVALID: {
    status: 400,
    message: ({ label, reason }) =>
      `The upload's document fields could not be read, because ${clause(reason)}. Nothing was saved to ${label}; send the fields as one JSON object in the multipart field "_payload".`,
  },
  FILE_PARTS: {
    status: 400,
    message: ({ count, label }) =>
      `The upload has ${count} files in its "file" field, and a document of ${label} holds one image. Nothing was saved; send one file per request.`,
  },
  STAGED_KEY_INVALID: {
    status: 400,
    message: ({ label }) =>
      `The direct upload does not name a file staged for ${label} (its key must be the one the upload-url request returned, incoming/<collection>/<id>). Nothing was saved; request a new upload URL and upload the file again.`,
  },
  SIZE_INVALID: {
    status: 400,
    message: ({ label, received }) =>
      `The upload URL request needs the file's size in bytes, a whole number above 0, and received ${describe(received)}. Nothing was saved to ${label}.`,
  },
  STAGED_UPLOAD_MISSING: {
    status: 400,
    message: ({ label }) =>
      `The staged upload is no longer in the bucket (it was never uploaded, its URL expired, or it was already used or refused). Nothing was saved to ${label}; request a new upload URL and upload the file again.`,
  },
  SOURCE_MISSING: {
    status: 409,
    message: ({ label }) =>
      `This image's stored file is missing from the storage, so it cannot be made again with a new crop or focal point. Nothing was changed in ${label}; upload the image again.`,
  },
  FORM_TOO_LARGE: {
    status: 413,
    message: (args) =>
      'requestBytes' in args
        ? `The upload's request is larger than ${mb(args.requestBytes)} MB, the most this server reads. Nothing was saved to ${args.label}; send one file of at most ${mb(args.maxBytes)} MB and the document's fields in "_payload".`
        : `The upload's form is too large for this server (a field over ${mb(args.fieldBytes)} MB, such as a long "_payload", or too many fields or files). Nothing was saved to ${args.label}; send the document's fields in "_payload" and one file.`,
  },
}

/**
 * A create or update that leaves the alt text empty in a collection with `requireAlt`: a
 * ValidationError on the `alt` field (the admin shows it there; REST and GraphQL answer 400).
 */
export const altRequiredError = (collection: string, label: string): ValidationError =>
  named(
    new ValidationError({
      collection,
      errors: [{ message: messages.altRequired({ label }), path: 'alt' }],
    }),
    'ValidationError',
  )

/** The ImageUploadError for `code` on `collection`: its status, retry delay and message come from the table. */
export const uploadError = <C extends ImageUploadErrorCode>(
  code: C,
  collection: string,
  args: UploadErrorArgs[C],
): ImageUploadError => {
  const entry: UploadErrorEntry<UploadErrorArgs[C]> = uploadErrorTable[code]
  return new ImageUploadError({
    code,
    collection,
    message: entry.message(args),
    retryAfterSeconds: entry.retryAfterSeconds,
    status: entry.status,
  })
}

/** The messages that are not an upload error of their own, and (`upload`) any upload error's message by code. */
export const messages = {
  upload: <C extends ImageUploadErrorCode>(code: C, args: UploadErrorArgs[C]): string => {
    const entry: UploadErrorEntry<UploadErrorArgs[C]> = uploadErrorTable[code]
    return entry.message(args)
  },

  requestTooLarge: ({ maxBytes }: { maxBytes: number }): string =>
    `The file is larger than ${mb(maxBytes)} MB, the largest upload this server accepts. Upload a smaller file.`,

  altRequired: ({ label }: { label: string }): string =>
    `Alt text is required for ${label}. Describe what the image shows for people who cannot see it (for a purely decorative image, say so).`,

  databaseDown: (): string =>
    'The database is unavailable, so nothing was saved. Try again in a moment.',

  databaseRefused: (): string =>
    "The database refused to save the change, so nothing was saved. Try again; if it keeps happening, tell the site's administrator.",

  option: ({
    expected,
    path,
    received,
  }: {
    expected: string
    path: string
    received: unknown
  }): string => `Expected ${expected} for ${path} but received ${describe(received)}`,

  unknownOption: ({
    known,
    path,
    suggestion,
  }: {
    known: readonly string[]
    path: string
    suggestion?: string
  }): string =>
    `Unknown option ${path}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; the options there are ${known.join(', ')}`,

  missingOptions: ({ paths, expected }: { expected: string; paths: readonly string[] }): string =>
    `Missing ${paths.join(', ').replace(/, ([^,]*)$/, ' and $1')}: ${expected}`,
} as const
