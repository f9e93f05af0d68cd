import type { RequestContext } from 'payload'

/**
 * The one value handed from step to step of an upload: what `prepareUpload` made (the document
 * fields, the objects already stored, the clean-up row guarding them) and what the record step
 * must check. It travels in the Local API call's `context`, never in state left on the request.
 */
export type UploadSession = {
  /**
   * Extra versions of the document's current file (the AVIF job): recorded on the same file,
   * conditionally on it, with nothing replaced and no transition taken.
   */
  addsVersions?: boolean
  collection: string
  /** The document fields describing the stored image (filename, sizes, variants, objectKeys, ...). */
  data: Record<string, unknown>
  /** Re-optimization only: the file the document must still have, so that an editor's newer upload wins. */
  expectFilename?: string
  /** The plugin's own work (AVIF job, re-optimize), not an editor's: `requireAlt` does not apply. */
  internal?: boolean
  /** The clean-up row listing `keys`; the record transaction deletes it. */
  intent: number | string
  /** Every object key written for this upload. */
  keys: string[]
  /** The uploader's file name (extension checked again when recording), or undefined for re-optimization. */
  originalName?: string
  /**
   * The operation saves a draft (Payload writes the versions table only, the document keeps its
   * file): set by the operation's first step; the record step then refuses the new image.
   */
  savesDraft?: boolean
  /** Epoch ms after which the record step refuses: the clean-up may then delete `keys`. */
  recordBy: number
}

const SESSION_KEY = 'payloadImageAssetsUpload'
const INTERNAL_KEY = 'payloadImageAssetsInternal'

/** The Local API `context` that hands `session` to the record step. */
export const sessionContext = (session: UploadSession | undefined): RequestContext =>
  session ? { [SESSION_KEY]: session, ...(session.internal ? { [INTERNAL_KEY]: true } : {}) } : {}

/** True while the plugin records its own work (field validation of editors' input is skipped for it). */
export const isInternalWrite = (context: RequestContext | undefined): boolean =>
  context?.[INTERNAL_KEY] === true

/** The session meant for `collection`, if the operation carries one (without taking it). */
export const peekSession = (
  context: RequestContext | undefined,
  collection: string,
): UploadSession | undefined => {
  const session = context?.[SESSION_KEY] as UploadSession | undefined
  return session?.collection === collection ? session : undefined
}

/** Takes the session for `collection` out of the context: it is recorded once. */
export const takeSession = (
  context: RequestContext | undefined,
  collection: string,
): UploadSession | undefined => {
  const session = peekSession(context, collection)
  if (session && context) delete context[SESSION_KEY]
  return session
}

/** Hands a session to the operation already under way (uploads that reach the collection's hooks directly). */
export const attachSession = (context: RequestContext, session: UploadSession): void => {
  context[SESSION_KEY] = session
}
