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
  const refuse = () => accessRefused(req)
  try {
    result = await access({ id, req } as Parameters<typeof access>[0])
  } catch (error) {
    // An access function that fails without a user (`req.user.roles…`) refuses; with one, it may
    // need the submitted data, and the operation runs it again with the data.
    if (!req.user) throw refuse()
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
    throw refuse()
  }
  if (id === undefined || operation !== 'update') {
    if (typeof result === 'object' && id !== undefined) await assertMatches(req, slug, id, result)
    return
  }
  // An update of a document that is not there: 404 before the file is read, not after its image
  // work (Payload's own update would find out only then).
  await assertMatches(req, slug, id, typeof result === 'object' ? result : undefined)
}

/** The document `id` exists (404) and, with a `where` from access, matches it (401/403). */
const assertMatches = async (
  req: PayloadRequest,
  slug: string,
  id: number | string,
  where: Where | undefined,
): Promise<void> => {
  const count = async (constraint?: Where) =>
    (
      await req.payload.count({
        collection: slug,
        overrideAccess: true,
        where: constraint ? { and: [{ id: { equals: id } }, constraint] } : { id: { equals: id } },
      })
    ).totalDocs
  if ((await count(where)) > 0) return
  if (where && (await count()) > 0) throw accessRefused(req)
  throw notFound(req)
}
