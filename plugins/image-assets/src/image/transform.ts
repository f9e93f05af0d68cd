import sharp from 'sharp'

import type { ImagePreset } from '../presets.js'
import type { InputFormat } from './formats.js'
import { sniffFormat } from './inspect.js'

export type EncodedImage = {
  data: Buffer
  height: number
  width: number
}

/**
 * transform: one decode of the source, then orient (EXIF), fit inside the preset's box without
 * enlarging, and encode WebP. Alpha is kept; EXIF, XMP, IPTC and ICC metadata are not written
 * (sharp drops them unless asked to keep them) and colour is converted to sRGB.
 *
 * Shrink-on-load is used for JPEG (DCT scaling, as good as a full decode and much faster) but not
 * for WebP: libwebp's scaled decode aliases fine detail, which costs quality and, at the same
 * WebP quality, up to twice the bytes (pixel art in the benchmark corpus).
 */
export const encodeWebP = async (
  input: Buffer,
  preset: ImagePreset,
  effort: number,
  format: InputFormat | undefined = sniffFormat(input),
  maxPixels: number | false = false,
  timeoutSeconds = 0,
): Promise<EncodedImage> => {
  // `pages: 1`: only the first frame is ever decoded (animated input is refused or flattened to it).
  const { data, info } = await sharp(input, { limitInputPixels: maxPixels, pages: 1, sequentialRead: true })
    .autoOrient()
    .resize({
      fastShrinkOnLoad: format !== 'webp',
      fit: 'inside',
      height: preset.height,
      width: preset.width,
      withoutEnlargement: true,
    })
    .webp({ effort, quality: preset.quality })
    .timeout({ seconds: timeoutSeconds })
    .toBuffer({ resolveWithObject: true })
  return { data, height: info.height, width: info.width }
}
