import {
  addDataAndFileToRequest,
  addLocalesToRequestFromData,
  type Endpoint,
  headersWithCors,
  parseParams,
  type PayloadRequest,
  type RequestContext,
} from 'payload'

import { altRequiredError, uploadError } from '../errors.js'
import type { ResolvedCollection, ResolvedRemoteURLs } from '../options.js'
import { abandonUpload, isWriteConflict } from '../storage/cleanup.js'
import { nudgeCleanup } from '../storage/cleanupRunner.js'
import { isBlank } from './alt.js'
import { authorize } from './authorize.js'
import type { UploadServices } from './prepare.js'
import { framingSession } from './rerender.js'
import {
  closeAfterRefusal,
  dropUnreadBody,
  FORM_ROOM_BYTES,
  PAYLOAD_REQUEST_BYTES,
} from './responseHeaders.js'
import { type UploadSession, sessionContext } from './session.js'
import {
  discardFile,
  keepImageOutOfDraft,
  savesDraft,
  removeTempFiles,
  sessionFromRequest,
  withoutFileSource,
} from './source.js'

/** A write that lost a race with another write from the same file is retried from the new state this many times. */
const WRITE_ATTEMPTS = 4

const json = (req: PayloadRequest, body: unknown, status: number) =>
  Response.json(body, { headers: headersWithCors({ headers: new Headers(), req }), status })

/** Document fields nested deeper than this are refused (Payload's deep copy overflows the stack on very deep data). */
const MAX_DATA_DEPTH = 64

/** Whether `value` nests objects or arrays more than `limit` levels deep; iterative, so any depth is safe to check. */
const nestedDeeperThan = (value: unknown, limit: number): boolean => {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!
    if (!item || typeof item !== 'object') continue
    if (depth >= limit) return true
    for (const child of Object.values(item)) stack.push([child, depth + 1])
  }
  return false
}

/**
 * Every file part's temp file (`useTempFiles`) is removed once the handler is done, whatever
 * happened: the upload path removes the file it reads as soon as it has read it; the rest (a part
 * under another name, a refused file) would stay, since Payload removes only `req.file`'s. A body
 * the refusal left unread is dropped, up to what an upload may send (`dropUnreadBody`).
 */
const afterRemovingTempFiles =
  (handler: Endpoint['handler'], maxBodyBytes: number): Endpoint['handler'] =>
  async (req) => {
    try {
      return await handler(req)
    } catch (error) {
      dropUnreadBody(req, maxBodyBytes)
      throw error
    } finally {
      await removeTempFiles(req)
    }
  }

/** The route's id, as Payload's router already decoded it. */
const idOf = (req: PayloadRequest): string => String(req.routeParams?.id ?? '')

/**
 * The upload path for REST (the admin UI, bulk upload and API clients all use it): these endpoints
 * come before Payload's own `POST /`, `PATCH /:id` and `DELETE /:id` for the plugin's collections.
 *
 *   1 authorize  (before the body is read)      upload/authorize.ts
 *   2-4 guard, inspect, transform, store          upload/source.ts, upload/prepare.ts (no transaction open)
 *   5 record     Payload's own operation in a short transaction, hooks and access included    upload/record.ts
 *   6 clean up   nudged once the operation has committed                                      storage/cleanup.ts
 */
export const uploadEndpoints = (
  collection: ResolvedCollection,
  services: UploadServices & { remoteURLs: false | ResolvedRemoteURLs },
): Endpoint[] => {
  const { label, slug } = collection
  const maxBodyBytes = collection.limits.maxBytes + FORM_ROOM_BYTES

  /**
   * Runs the record step, retrying a write that lost a race (each attempt hands the session over
   * afresh: the record step takes it); a prepared upload that is not recorded goes to the clean-up.
   * `Retry-After` is set by the collection's `afterError` hook, which Payload runs for endpoint errors.
   */
  const record = async <T>(
    req: PayloadRequest,
    session: UploadSession | undefined,
    write: (context: RequestContext) => Promise<T>,
  ): Promise<T> => {
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await write(sessionContext(session))
        } catch (error) {
          if (!isWriteConflict(error)) throw error
          if (attempt >= WRITE_ATTEMPTS) throw uploadError('UPLOAD_CONFLICT', slug, { label })
        }
      }
    } catch (error) {
      if (session) await abandonUpload(req.payload, session.intent)
      throw error
    } finally {
      nudgeCleanup(req.payload)
    }
  }

  /** A multipart body or fields Payload could not read: the client's fault, as a clear 4xx. */
  const readFailure = (req: PayloadRequest, error: unknown): unknown => {
    // `_payload` that is not JSON: Payload's JSON.parse throws as is.
    if (error instanceof SyntaxError)
      return uploadError('DATA_INVALID', slug, {
        label,
        reason: 'the "_payload" field is not valid JSON',
      })
    // Busboy's limits on fields and parts: Payload passes `{ ...bodyParser, ...upload }`, and the
    // plugin's `upload.limits` carry the app's `bodyParser.limits` over; 1 MB per field by default.
    if ((error as Error).message === 'Multipart limit has been reached') {
      const { bodyParser, upload } = req.payload.config as {
        bodyParser?: { limits?: { fieldSize?: number } }
        upload?: { limits?: { fieldSize?: number } }
      }
      const limits = upload?.limits ?? bodyParser?.limits
      return uploadError('FORM_TOO_LARGE', slug, {
        fieldBytes: limits?.fieldSize ?? 1024 * 1024,
        label,
      })
    }
    // A `file` part without a file name reaches Payload as a field, which it reads as a direct
    // upload's JSON reference.
    if ((error as Error).message === 'A file name is required.')
      return uploadError('FILE_NAME_MISSING', slug, {
        allowed: collection.allowedExtensions,
        label,
      })
    const status = (error as { status?: number }).status
    const upload = req.payload.config.upload as
      { limits?: { fileSize?: number }; requestSizeLimit?: number } | undefined
    // The whole body over the parser's request limit (Payload's 50 MiB, or the plugin's room for
    // its largest collection, or the app's own).
    if ((error as Error).message === 'Multipart request size limit has been reached')
      return uploadError('FORM_TOO_LARGE', slug, {
        label,
        maxBytes: collection.limits.maxBytes,
        requestBytes: upload?.requestSizeLimit ?? PAYLOAD_REQUEST_BYTES,
      })
    // A file over the parser's file limit (Payload's abort while it streams in): this
    // collection's refusal on its file field. The limit is one byte over the largest collection's
    // (the parser stops a file that reaches it), unless the app set its own.
    if (status === 413)
      return uploadError('FILE_TOO_LARGE', slug, {
        label,
        maxBytes: Math.min(collection.limits.maxBytes, upload?.limits?.fileSize ?? Infinity),
        over: true,
      })
    // The multipart parser's own failures (a control character in a part header, a cut-off
    // body) are the request's fault, not the server's: a clear 400 instead of Payload's 500.
    if (status === 500 || !status) return uploadError('MALFORMED_UPLOAD', slug, { label })
    return error
  }

  /** The refusals that need no image work: several files, fields nested too deep, missing alt text. */
  const refuseEarly = (
    req: PayloadRequest,
    data: Record<string, unknown> | undefined,
    operation: 'create' | 'update',
  ): void => {
    if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data)))
      throw uploadError('DATA_INVALID', slug, {
        label,
        reason: 'the "_payload" field is not a JSON object',
      })
    const parts = (req as { files?: { file?: unknown } }).files?.file
    if (Array.isArray(parts)) throw uploadError('FILE_PARTS', slug, { count: parts.length, label })
    if (nestedDeeperThan(data, MAX_DATA_DEPTH))
      throw uploadError('DATA_INVALID', slug, {
        label,
        reason: `the fields are nested more than ${MAX_DATA_DEPTH} levels deep`,
      })
    // Missing alt text (Payload's validation would refuse it after the image work).
    if (
      collection.requireAlt &&
      (operation === 'create' || (data !== undefined && 'alt' in data)) &&
      isBlank(data?.alt)
    )
      throw altRequiredError(slug, label)
  }

  /**
   * Steps 2 to 4 for a create or update: the request's file processed and stored, before any
   * transaction. A `url` is a source only when creating (the admin sends a document's own `url`
   * back with every save); it is dropped from the data either way.
   */
  const prepare = async (
    req: PayloadRequest,
    operation: 'create' | 'update',
    id?: string,
  ): Promise<UploadSession | undefined> => {
    try {
      await addDataAndFileToRequest(req)
    } catch (error) {
      // The parser gave up with the body partly unread: the connection cannot be reused. (A
      // refusal before the body is touched, such as a 401, reads the rest, up to a bound:
      // `dropUnreadBody`; after a complete parse there is nothing left to read.)
      closeAfterRefusal(req)
      // The file may have been read (a temp file written) before the fields failed.
      await discardFile(req, collection, services.store)
      throw readFailure(req, error)
    }
    const data = req.data as Record<string, unknown> | undefined
    try {
      refuseEarly(req, data, operation)
    } catch (error) {
      await discardFile(req, collection, services.store)
      throw error
    }
    const write = { ...parseParams(req.query), data, id }
    if (operation === 'update') await keepImageOutOfDraft(req, collection, services.store, write)
    addLocalesToRequestFromData(req)
    const session = await sessionFromRequest(req, data, { collection, id, operation, services })
    req.data = withoutFileSource(data)
    if (session || id === undefined) return session
    // No new file: a new crop or focal point may still need the image made again.
    return framingSession(req, collection, services, id, req.data as Record<string, unknown>, {
      savesDraft: savesDraft(req, collection, write),
    })
  }

  /** The Local API arguments every write shares: the session, the data without a file source, the query's parameters, and the user's access. */
  const writeArgs = (req: PayloadRequest) => {
    const { autosave, depth, draft, overrideLock, populate, select, trash } = parseParams(req.query)
    return {
      args: {
        autosave,
        collection: slug,
        data: req.data,
        depth,
        draft,
        overrideAccess: false,
        populate,
        req,
        select,
        // `?trash=true`: a trashed document (a collection with `trash`) is found too, e.g. to restore it.
        trash,
      },
      autosave,
      draft,
      overrideLock: overrideLock ?? false,
    }
  }

  return [
    {
      handler: afterRemovingTempFiles(async (req) => {
        await authorize(req, slug, 'create')
        const session = await prepare(req, 'create')
        const { args } = writeArgs(req)
        const doc = await record(req, session, (context) =>
          req.payload.create({ ...args, context } as Parameters<typeof req.payload.create>[0]),
        )
        return json(
          req,
          {
            doc,
            message: req.t('general:successfullyCreated', { label: collection.labels.singular }),
          },
          201,
        )
      }, maxBodyBytes),
      method: 'post',
      path: '/',
    },
    {
      handler: afterRemovingTempFiles(async (req) => {
        const id = idOf(req)
        await authorize(req, slug, 'update', id)
        const session = await prepare(req, 'update', id)
        const { args, autosave, draft, overrideLock } = writeArgs(req)
        const doc = await record(req, session, (context) =>
          req.payload.update({ ...args, context, id, overrideLock } as Parameters<
            typeof req.payload.update
          >[0]),
        )
        const message = draft
          ? req.t('version:draftSavedSuccessfully')
          : autosave
            ? req.t('version:autosavedSuccessfully')
            : req.t('general:updatedSuccessfully')
        return json(req, { doc, message }, 200)
      }, maxBodyBytes),
      method: 'patch',
      path: '/:id',
    },
    {
      handler: async (req) => {
        const id = idOf(req)
        await authorize(req, slug, 'delete', id)
        const { depth, overrideLock, populate, select, trash } = parseParams(req.query)
        const doc = await record(req, undefined, () =>
          req.payload.delete({
            id,
            collection: slug,
            depth,
            overrideAccess: false,
            overrideLock: overrideLock ?? false,
            populate,
            req,
            select,
            trash,
          } as unknown as Parameters<typeof req.payload.delete>[0]),
        )
        return json(req, { doc, message: req.t('general:deletedSuccessfully') }, 200)
      },
      method: 'delete',
      path: '/:id',
    },
  ]
}
