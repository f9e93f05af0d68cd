import { formatIPAddress, isPublicAddress, parseIPAddress } from '../remote/addresses.js'
import { fail, integer, object } from './check.js'
import type { RemoteURLOptions, ResolvedRemoteURLs } from './types.js'

const HOST_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/
const HOST_EXPECTED =
  'a host name such as "images.example.com" or "*.example.com", or an IP address'

/** As in the WHATWG URL parser: a host whose last label is a number is an IPv4 address (or invalid), never a name. */
const endsInNumber = (host: string): boolean => /(^|\.)(\d+|0x[0-9a-f]*)\.?$/.test(host)

/**
 * One allowlist entry, in the form a URL's host takes: a host name, `*.` and a host name, or an IP
 * address (IPv6 with or without brackets; IPv4 in any spelling a URL accepts, kept as dotted
 * decimal). A non-public IP address is refused unless `allowPrivateAddresses` is on: no URL on it
 * would ever be fetched, so listing it is a mistake.
 */
const allowedHost = (path: string, value: unknown, allowPrivateAddresses: boolean): string => {
  if (typeof value !== 'string') return fail(path, HOST_EXPECTED, value)
  const entry = value.toLowerCase()
  if (!entry.startsWith('[') && !entry.includes(':') && !endsInNumber(entry)) {
    return HOST_PATTERN.test(entry) ? entry : fail(path, HOST_EXPECTED, value)
  }
  const bytes = parseIPAddress(entry)
  if (bytes === undefined || entry.includes('%')) return fail(path, HOST_EXPECTED, value)
  const address = formatIPAddress(bytes)
  if (!allowPrivateAddresses && !isPublicAddress(address)) {
    return fail(
      path,
      `a host name or a public IP address (${address} is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones)`,
      value,
    )
  }
  return address
}

/** `remoteURLs`: off (`false`, the default) or an allowlist of hosts to fetch images from. */
export const resolveRemoteURLs = (input: unknown): false | ResolvedRemoteURLs => {
  if (input === undefined || input === false) return false
  const { allowedHosts, allowPrivateAddresses, timeoutSeconds } = object<RemoteURLOptions>(
    'remoteURLs',
    input as RemoteURLOptions,
    { allowedHosts: true, allowPrivateAddresses: true, timeoutSeconds: true },
    'false or an object with allowedHosts',
  )
  if (allowPrivateAddresses !== undefined && typeof allowPrivateAddresses !== 'boolean') {
    fail('remoteURLs.allowPrivateAddresses', 'a boolean', allowPrivateAddresses)
  }
  if (!Array.isArray(allowedHosts) || allowedHosts.length === 0) {
    fail(
      'remoteURLs.allowedHosts',
      'a non-empty array of host names such as ["images.example.com", "*.cdn.example.com"]',
      allowedHosts,
    )
  }
  return {
    allowedHosts: allowedHosts.map((host: unknown, i) =>
      allowedHost(`remoteURLs.allowedHosts[${i}]`, host, allowPrivateAddresses ?? false),
    ),
    allowPrivateAddresses: allowPrivateAddresses ?? false,
    timeoutSeconds: integer('remoteURLs.timeoutSeconds', timeoutSeconds ?? 15, 1, 300),
  }
}
