import type { Payload } from 'payload'

import { describeSaving, formatBytes, storedBytes } from './savings.js'

type Totals = {
  images: number
  /** Images without alt text (screen readers announce nothing useful for them). */
  missingAlt: number
  original: number
  slug: string
  stored: number
  title: string
}

type Row = {
  avif?: unknown
  filesize?: null | number
  originalFilesize?: null | number
  variants?: unknown
}

/** Sums one collection's original and stored bytes (`storedBytes`: every delivered version), a page at a time. */
const totalsFor = async (payload: Payload, slug: string, title: string): Promise<Totals> => {
  const totals: Totals = { images: 0, missingAlt: 0, original: 0, slug, stored: 0, title }
  totals.missingAlt = (
    await payload.count({
      collection: slug,
      overrideAccess: true,
      where: { or: [{ alt: { exists: false } }, { alt: { equals: '' } }] },
    })
  ).totalDocs
  for (let page = 1; ; page++) {
    const result = await payload.find({
      collection: slug,
      depth: 0,
      limit: 500,
      overrideAccess: true,
      page,
      select: { avif: true, filesize: true, originalFilesize: true, variants: true },
    })
    for (const doc of result.docs as Row[]) {
      if (!doc.originalFilesize || !doc.filesize) continue
      totals.images++
      totals.original += doc.originalFilesize
      totals.stored += storedBytes(doc)
    }
    if (!result.hasNextPage) return totals
  }
}

/**
 * Admin dashboard panel: per image collection, how many images, their originals' bytes, what is
 * stored (every delivered version: main WebP, variants, AVIF), the saving, and how many images have
 * no alt text (linked to the list of them). A server component (it reads with the Local API).
 */
export const ImageSavings = async ({ payload }: { payload: Payload }) => {
  const collections = payload.config.collections.filter((c) => c.custom?.imageAssets)
  const adminRoute = payload.config.routes.admin
  const rows = await Promise.all(
    collections.map((c) =>
      totalsFor(payload, c.slug, typeof c.labels?.plural === 'string' ? c.labels.plural : c.slug),
    ),
  )
  const all = rows.reduce(
    (sum, r) => ({
      images: sum.images + r.images,
      missingAlt: sum.missingAlt + r.missingAlt,
      original: sum.original + r.original,
      stored: sum.stored + r.stored,
    }),
    { images: 0, missingAlt: 0, original: 0, stored: 0 },
  )
  const cell = {
    borderBottom: '1px solid var(--theme-elevation-100)',
    padding: '6px 12px',
    textAlign: 'left' as const,
  }
  return (
    <section className="image-savings" style={{ marginBottom: 'calc(var(--base) * 2)' }}>
      <h2 style={{ marginBottom: 'var(--base)' }}>Image savings</h2>
      <table style={{ borderCollapse: 'collapse', width: '100%' }}>
        <thead>
          <tr>
            <th style={cell}>Collection</th>
            <th style={cell}>Images</th>
            <th style={cell}>Uploaded</th>
            <th style={cell}>Stored (all versions)</th>
            <th style={cell}>Saving</th>
            <th style={cell}>Without alt text</th>
          </tr>
        </thead>
        <tbody>
          {[...rows, { ...all, slug: 'all', title: 'All images' }].map((row) => (
            <tr data-collection={row.slug} key={row.slug}>
              <td style={cell}>{row.title}</td>
              <td style={cell}>{row.images}</td>
              <td style={cell}>{formatBytes(row.original)}</td>
              <td style={cell}>{formatBytes(row.stored)}</td>
              <td style={cell}>
                {row.original > 0 ? describeSaving(row.original, row.stored) : '–'}
              </td>
              <td style={cell}>
                {row.missingAlt > 0 && row.slug !== 'all' ? (
                  <a
                    href={`${adminRoute}/collections/${row.slug}?where[or][0][alt][exists]=false&where[or][1][alt][equals]=`}
                  >
                    {row.missingAlt}
                  </a>
                ) : (
                  row.missingAlt
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
