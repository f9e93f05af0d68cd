/** Bytes in a short human form: 2.4 MB, 310 KB, 900 B. */
export const formatBytes = (bytes: number): string => {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`
  return `${bytes} B`
}

/** "saved 87% (2.4 MB → 310 KB)", or "grew 4% (…)" when the WebP is larger than the original. */
export const describeSaving = (original: number, stored: number): string => {
  const change = Math.round((1 - stored / original) * 100)
  return `${change >= 0 ? 'saved' : 'grew'} ${Math.abs(change)}% (${formatBytes(original)} → ${formatBytes(stored)})`
}

type Versions = { avif?: unknown; filesize?: null | number; shapes?: unknown; variants?: unknown }

const sizesOf = (list: unknown): number =>
  Array.isArray(list)
    ? list.reduce(
        (sum: number, v: { filesize?: unknown }) =>
          sum + (typeof v?.filesize === 'number' ? v.filesize : 0),
        0,
      )
    : 0

/**
 * Stored bytes of an image, the one definition the list column, the dashboard, re-optimization and
 * the benchmark use: every version delivered to visitors (the main WebP, the WebP variants, the
 * shapes with their variants, and the AVIF versions), not the private kept original.
 */
export const storedBytes = (doc: Versions): number =>
  (doc.filesize ?? 0) +
  sizesOf(doc.variants) +
  sizesOf(doc.avif) +
  (doc.shapes && typeof doc.shapes === 'object'
    ? Object.values(doc.shapes as Record<string, Versions | null>).reduce(
        (sum, shape) => sum + (shape ? storedBytes(shape) : 0),
        0,
      )
    : 0)
