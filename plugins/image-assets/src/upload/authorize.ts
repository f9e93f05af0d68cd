import type { PayloadRequest, Where } from 'payload'

import { accessRefused, notFound } from '../errors.js'

/**
 * Step 1 of the upload path: the collection's own access function (the app's overrides included)
 * decides before a byte of the body is read. Refused: 401 without a user, 403 with one. An access
 * function that needs the submitted data (it throws without it) is left to the operation, which
 * runs it again with the data: the second gate.
 */
export const authorize = async (
  req: PayloadRequest,
  slug: string,
  operation: 'create' | 'delete' | 'update',
  id?: number | string,
): Promise<void> => {
  const access = req.payload.collections[slug].config.access[operation]
  let result: boolean | Where
  try {
    result = await access({ id, req } as Parameters<typeof access>[0])
  } catch (error) {
    // An access function that fails without a user (`req.user.roles…`) refuses; with one, it may
    // need the submitted data, and the operation runs it again with the data.
    if (!req.user) throw accessRefused(req)
    return
  }
  if (!result) {
    // Credentials that could not be checked may mean the database is down: say so (503), not 401.
    if (
      !req.user &&
      (req.headers.get('authorization') || req.headers.get('cookie')?.includes('payload-token'))
    ) {
      await req.payload.db.find({ collection: slug, limit: 1, pagination: false, req })
    }
    throw accessRefused(req)
  }
  if (id === undefined) return
  if (typeof result === 'object') {
    // Refused alike whether the document is not there or not the caller's (as Payload does): a
    // caller held to a `where` learns nothing of documents outside it.
    if ((await count(req, slug, { and: [{ id: { equals: id } }, result] })) === 0)
      throw accessRefused(req)
    return
  }
  // An update of a document that is not there: 404 before the file is read, not after its image
  // work (Payload's own update would find out only then).
  if (operation === 'update' && (await count(req, slug, { id: { equals: id } })) === 0)
    throw notFound(req)
}

/**
 * Documents matching `where`, whatever the caller's access, trashed ones included (Payload's
 * operation applies its trash rules after). Asked of the database adapter with `req`: in the
 * request's transaction and locale, as the operation that follows sees them. (The Local API's
 * `count` would also replace `req.context` with a copy, losing what hooks attach to it later.)
 */
const count = async (req: PayloadRequest, slug: string, where: Where): Promise<number> =>
  (
    await req.payload.db.count({
      collection: slug,
      locale: req.locale ?? undefined,
      req,
      where,
    })
  ).totalDocs
