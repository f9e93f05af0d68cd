/**
 * guard: decisions made from the upload's name alone, before any byte is decoded.
 */

/** The lower-cased extension of a filename, with its dot (`"Photo.JPG"` gives `".jpg"`), or `""`. */
export const extensionOf = (filename: string): string => {
  const base = filename.split(/[\\/]/).pop() ?? ''
  const dot = base.lastIndexOf('.')
  return dot <= 0 || dot === base.length - 1 ? '' : base.slice(dot).toLowerCase()
}

export const isAllowedExtension = (ext: string, allowed: readonly string[]): boolean =>
  ext !== '' && allowed.includes(ext)
