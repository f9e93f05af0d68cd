/** The only formats the pipeline decodes, and the extensions that name them. */
export type InputFormat = 'jpeg' | 'png' | 'webp'

export const FORMAT_BY_EXTENSION: Readonly<Record<string, InputFormat>> = {
  '.jpeg': 'jpeg',
  '.jpg': 'jpeg',
  '.png': 'png',
  '.webp': 'webp',
}

export const FORMAT_NAMES: Readonly<Record<InputFormat, string>> = {
  jpeg: 'JPEG',
  png: 'PNG',
  webp: 'WebP',
}

/** The formats an extension allowlist admits, in a stable order. */
export const formatsFor = (extensions: readonly string[]): InputFormat[] => {
  const wanted = new Set(extensions.map((ext) => FORMAT_BY_EXTENSION[ext]))
  return (['jpeg', 'png', 'webp'] as const).filter((format) => wanted.has(format))
}
