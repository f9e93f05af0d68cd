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
 * The image's format (the libvips loader that claimed it), dimensions (upright, with its EXIF
 * orientation applied) and frame count, read from its header only (libvips decodes no pixels for
 * this). Undefined when it cannot be read.
 */
export const readHeader = async (bytes: Buffer): Promise<ImageHeader | undefined> => {
  try {
    const { autoOrient, format, height, pages, width } = await sharp(bytes, {
      limitInputPixels: false,
    }).metadata()
    if (!width || !height) return undefined
    // The picture as shown: EXIF orientations 5 to 8 swap the stored width and height.
    const shown = autoOrient?.width && autoOrient.height ? autoOrient : { height, width }
    return {
      format,
      frames: Math.max(pages ?? 1, pngFrames(bytes)),
      height: shown.height,
      width: shown.width,
    }
  } catch {
    return undefined
  }
}

/**
 * The frame count an animated PNG (APNG) declares in its `acTL` chunk, which libvips does not
 * report (it reads the still image only); 1 for any other PNG or file. Only the chunk headers
 * before the image data are walked.
 */
export const pngFrames = (bytes: Uint8Array): number => {
  if (sniffFormat(bytes) !== 'png') return 1
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at)
    const type = ascii(bytes, at + 4, at + 8)
    if (type === 'IDAT' || type === 'IEND') return 1
    if (type === 'acTL' && length >= 8 && at + 12 <= bytes.length)
      return Math.max(1, view.getUint32(at + 8))
    at += 12 + length
  }
  return 1
}
