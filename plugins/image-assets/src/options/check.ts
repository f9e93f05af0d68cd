import { ImageAssetsConfigError, messages } from '../errors.js'
import { FORMAT_BY_EXTENSION } from '../image/formats.js'
import type { DeliveryMode } from './types.js'

/**
 * The checks every option goes through where it enters. Each names the option's path in the
 * error, so a wrong value in a config file is found without reading the plugin's source.
 */

export const fail = (path: string, expected: string, received: unknown): never => {
  throw new ImageAssetsConfigError(messages.option({ expected, path, received }))
}

export const integer = (path: string, value: unknown, min: number, max: number): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
    ? value
    : fail(path, `an integer between ${min} and ${max}`, value)

export const boolean = (path: string, value: unknown, fallback: boolean): boolean =>
  value === undefined
    ? fallback
    : typeof value === 'boolean'
      ? value
      : fail(path, 'a boolean', value)

/** Every key of an option object, listed once (the compiler checks that none is left out). */
export type KeysOf<T> = { [K in keyof Required<T>]: true }

/** An object (or `undefined`, read as `{}`) whose keys are all among `known`. */
export const object = <T extends object>(
  path: string,
  value: T | undefined,
  known: KeysOf<T>,
  expected = 'an object',
): T => {
  if (value === undefined) return {} as T
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(path, expected, value)
  }
  knownKeys(path, value, Object.keys(known))
  return value
}

/** Refuses a key the plugin does not know (a typo in a JS config would otherwise pass unseen). */
export const knownKeys = (path: string, value: object, known: readonly string[]): void => {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue
    throw new ImageAssetsConfigError(
      messages.unknownOption({
        known: [...known].sort(),
        path: path ? `${path}.${key}` : key,
        suggestion: closest(key, known),
      }),
    )
  }
}

/** The known name within two edits of `key` (case ignored), if there is exactly one best. */
const closest = (key: string, known: readonly string[]): string | undefined => {
  let best: string | undefined
  let bestDistance = 3
  for (const name of known) {
    const d = distance(key.toLowerCase(), name.toLowerCase())
    if (d < bestDistance) [best, bestDistance] = [name, d]
  }
  return best
}

/** Levenshtein distance with adjacent transpositions ("qualtiy" is one edit from "quality"). */
const distance = (a: string, b: string): number => {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1)
      }
    }
  }
  return rows[a.length][b.length]
}

export const extensions = (path: string, value: unknown): string[] => {
  if (!Array.isArray(value) || value.length === 0) {
    return fail(path, 'a non-empty array of extensions such as [".jpg", ".png"]', value)
  }
  return value.map((ext: unknown, i) => {
    const normalized = typeof ext === 'string' ? ext.toLowerCase() : ext
    return typeof normalized === 'string' && normalized in FORMAT_BY_EXTENSION
      ? normalized
      : fail(`${path}[${i}]`, `one of ${Object.keys(FORMAT_BY_EXTENSION).join(', ')}`, ext)
  })
}

export const optionalString = (path: string, value: unknown): string | undefined =>
  value === undefined || value === ''
    ? undefined
    : typeof value === 'string'
      ? value
      : fail(path, 'a string', value)

/** An absolute http(s) URL without its trailing slashes. */
export const url = (path: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  try {
    const parsed = new URL(value)
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:')
      return value.replace(/\/+$/, '')
  } catch {
    // fall through to the error below
  }
  return fail(path, 'an absolute http(s) URL', value)
}

const DELIVERY_MODES = ['public', 'signed', 'proxy'] as const

export const deliveryMode = (path: string, value: unknown): DeliveryMode =>
  DELIVERY_MODES.includes(value as DeliveryMode)
    ? (value as DeliveryMode)
    : fail(path, '"public", "signed" or "proxy"', value)
