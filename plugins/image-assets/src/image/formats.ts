/** The only formats the pipeline decodes: how each is named, served and saved, in one table. */
export type InputFormat = 'jpeg' | 'png' | 'webp'

export const FORMATS: Readonly<
  Record<InputFormat, { extension: string; loader: InputFormat; mimeType: string; name: string }>
> = {
  /** `loader` is the libvips loader (sharp's `metadata().format`) the file's signature must select. */
  jpeg: { extension: '.jpg', loader: 'jpeg', mimeType: 'image/jpeg', name: 'JPEG' },
  png: { extension: '.png', loader: 'png', mimeType: 'image/png', name: 'PNG' },
  webp: { extension: '.webp', loader: 'webp', mimeType: 'image/webp', name: 'WebP' },
}

/** Every extension accepted for a format (`.jpeg` too). */
export const FORMAT_BY_EXTENSION: Readonly<Record<string, InputFormat>> = {
  '.jpeg': 'jpeg',
  '.jpg': 'jpeg',
  '.png': 'png',
  '.webp': 'webp',
}

/** Display names ("JPEG", "PNG", "WebP"), for messages and the admin. */
export const FORMAT_NAMES: Readonly<Record<InputFormat, string>> = {
  jpeg: FORMATS.jpeg.name,
  png: FORMATS.png.name,
  webp: FORMATS.webp.name,
}

/** The formats an extension allowlist admits, in a stable order. */
export const formatsFor = (extensions: readonly string[]): InputFormat[] => {
  const wanted = new Set(extensions.map((ext) => FORMAT_BY_EXTENSION[ext]))
  return (['jpeg', 'png', 'webp'] as const).filter((format) => wanted.has(format))
}
