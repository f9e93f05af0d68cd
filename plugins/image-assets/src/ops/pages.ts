import type { CollectionSlug, Payload, SelectType, Where } from 'payload'

/**
 * Every document of `collection` matching `where`, in id order, `pageSize` at a time: a cursor on
 * the id, so that work done on the documents meanwhile does not shift the pages. Access is not
 * checked (the plugin's own maintenance).
 */
export async function* pages(
  payload: Payload,
  collection: string,
  where: Where,
  options: { pageSize?: number; select?: SelectType } = {},
): AsyncGenerator<Record<string, unknown> & { id: number | string }> {
  let after: number | string | undefined
  for (;;) {
    const page = await payload.find({
      collection: collection as CollectionSlug,
      depth: 0,
      limit: options.pageSize ?? 500,
      overrideAccess: true,
      pagination: false,
      select: options.select,
      sort: 'id',
      where: after === undefined ? where : { and: [where, { id: { greater_than: after } }] },
    })
    if (page.docs.length === 0) return
    for (const doc of page.docs as Array<Record<string, unknown> & { id: number | string }>) {
      after = doc.id
      yield doc
    }
  }
}
