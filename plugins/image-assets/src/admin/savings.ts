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
