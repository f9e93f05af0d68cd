import sharp from 'sharp'

import type { ImagePreset } from '../presets.js'

export type EncodedImage = {
  data: Buffer
  height: number
  width: number
}

/**
 * transform: one decode of the source, then orient (EXIF), fit inside the preset's box without
 * enlarging, and encode WebP. Alpha is kept; EXIF, XMP, IPTC and ICC metadata are not written
 * (sharp drops them unless asked to keep them) and colour is converted to sRGB.
 */
export const encodeWebP = async (input: Buffer, preset: ImagePreset, effort: number): Promise<EncodedImage> => {
  const { data, info } = await sharp(input, { sequentialRead: true })
    .autoOrient()
    .resize({ fit: 'inside', height: preset.height, width: preset.width, withoutEnlargement: true })
    .webp({ effort, quality: preset.quality })
    .toBuffer({ resolveWithObject: true })
  return { data, height: info.height, width: info.width }
}
