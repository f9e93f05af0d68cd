/**
 * Output quality: SSIM of each output against a high-quality reference resize of its source
 * (orientation applied, Lanczos3 to the output's exact size, no lossy step), both flattened onto
 * white so that dropped transparency counts against a pipeline.
 */
import sharp from 'sharp'
import { ssim } from 'ssim.js'

const rgba = async (input: Buffer | string, width?: number, height?: number) => {
  let image = sharp(input).autoOrient()
  if (width && height) image = image.resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
  const { data, info } = await image
    .flatten({ background: '#ffffff' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  return {
    data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length),
    height: info.height,
    width: info.width,
  }
}

export const ssimAgainstSource = async (source: string, output: Buffer): Promise<number> => {
  const out = await rgba(output)
  const reference = await rgba(source, out.width, out.height)
  return ssim(reference, out).mssim
}

export type Reference = Awaited<ReturnType<typeof rgba>>

/** The same reference as `ssimAgainstSource`, made once for many outputs of one size. */
export const referenceFor = (source: string, width: number, height: number): Promise<Reference> =>
  rgba(source, width, height)

/** `ssimAgainstSource` with the reference made beforehand (`referenceFor`). */
export const ssimAgainstReference = async (
  reference: Reference,
  output: Buffer,
): Promise<number> => {
  const out = await rgba(output)
  if (out.width !== reference.width || out.height !== reference.height)
    throw new Error(
      `output ${out.width}x${out.height} does not match the reference ${reference.width}x${reference.height}`,
    )
  return ssim(reference, out).mssim
}
