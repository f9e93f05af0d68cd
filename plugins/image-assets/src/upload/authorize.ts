import { Forbidden, type PayloadRequest, UnauthorizedError, type Where } from 'payload'

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
  const refuse = () => (req.user ? new Forbidden(req.t) : new UnauthorizedError(req.t))
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
  if (typeof result === 'object' && id !== undefined) {
    const { totalDocs } = await req.payload.count({
      collection: slug,
      overrideAccess: true,
      where: { and: [{ id: { equals: id } }, result] },
    })
    if (totalDocs === 0) throw refuse()
  }
}
