import sharp from 'sharp'

import type { InputFormat } from './formats.js'

/**
 * inspect: what the bytes really are, read from their signature. Names and Content-Type headers
 * are not consulted; nothing is decoded.
 */
export const sniffFormat = (bytes: Uint8Array): InputFormat | undefined => {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return 'jpeg'
  }
  if (bytes.length >= 8 && PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) {
    return 'png'
  }
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') {
    return 'webp'
  }
  return undefined
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const

const ascii = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode(...bytes.subarray(start, end))

export type ImageHeader = { format: string; frames: number; height: number; width: number }

/**
 * The image's format (the libvips loader that claimed it), dimensions and frame count, read from
 * its header only (libvips does not decode pixels for this). Undefined when it cannot be read.
 */
export const readHeader = async (bytes: Buffer): Promise<ImageHeader | undefined> => {
  try {
    const { format, height, pages, width } = await sharp(bytes, {
      limitInputPixels: false,
    }).metadata()
    return width && height ? { format, frames: pages ?? 1, height, width } : undefined
  } catch {
    return undefined
  }
}
