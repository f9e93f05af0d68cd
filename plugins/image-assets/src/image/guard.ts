/**
 * guard: decisions made from the upload's name alone, before any byte is decoded.
 */
import { displayFilename } from '../storage/keys.js'

/**
 * The lower-cased extension of a filename, with its dot (`"Photo.JPG"` gives `".jpg"`), or `""`;
 * taken from the name as it is kept for display (a trailing space or an invisible character is no
 * part of it).
 */
export const extensionOf = (filename: string): string => {
  const base = displayFilename(filename)
  const dot = base.lastIndexOf('.')
  return dot <= 0 || dot === base.length - 1 ? '' : base.slice(dot).toLowerCase()
}

export const isAllowedExtension = (ext: string, allowed: readonly string[]): boolean =>
  ext !== '' && allowed.includes(ext)
