/**
 * Whether an address is on the public internet, decided from its bytes rather than its text, so
 * that no spelling of a private address (`0x7f.1`, `2130706433`, `::7f00:1`, `64:ff9b::a00:1`,
 * `2002:7f00:1::`) passes for a public one.
 */

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
type Bytes = readonly number[]

const DOTTED_QUAD =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/

/** One part of an IPv4 host as the WHATWG URL parser reads it: decimal, `0x` hex, or octal after a leading 0. */
const ipv4Number = (part: string): number | undefined => {
  if (part === '') return undefined
  const [digits, radix, pattern] = /^0x/i.test(part)
    ? [part.slice(2), 16, /^[0-9a-f]*$/i]
    : part.length > 1 && part.startsWith('0')
      ? [part.slice(1), 8, /^[0-7]*$/]
      : [part, 10, /^[0-9]*$/]
  if (!pattern.test(digits)) return undefined
  return digits === '' ? 0 : parseInt(digits, radix)
}

/**
 * An IPv4 address in any spelling the WHATWG URL parser (and `inet_aton`) accepts: `127.0.0.1`,
 * `127.1`, `0x7f.1`, `0177.0.0.1`, `2130706433`, with or without a trailing dot.
 */
const parseIPv4 = (text: string): Bytes | undefined => {
  const parts = text.split('.')
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop()
  if (parts.length > 4) return undefined
  const numbers: number[] = []
  for (const part of parts) {
    const n = ipv4Number(part)
    if (n === undefined) return undefined
    numbers.push(n)
  }
  const last = numbers.pop() as number
  if (numbers.some((n) => n > 255) || last >= 256 ** (4 - numbers.length)) return undefined
  const value = numbers.reduce((sum, n, i) => sum + n * 256 ** (3 - i), last)
  return [
    Math.floor(value / 2 ** 24),
    Math.floor(value / 2 ** 16) % 256,
    Math.floor(value / 2 ** 8) % 256,
    value % 256,
  ]
}

/** An IPv6 address: hex groups, at most one `::`, an optional dotted IPv4 tail, an optional `%zone`. */
const parseIPv6 = (text: string): Bytes | undefined => {
  const [address, zone, ...more] = text.split('%')
  if (more.length > 0 || zone === '') return undefined
  let hex = address
  const tailStart = address.lastIndexOf(':') + 1
  if (address.slice(tailStart).includes('.')) {
    const tail = address.slice(tailStart)
    if (!DOTTED_QUAD.test(tail)) return undefined
    const [a, b, c, d] = tail.split('.').map(Number)
    hex = `${address.slice(0, tailStart)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = hex.split('::')
  if (halves.length > 2) return undefined
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')))
  const count = groups.reduce((sum, g) => sum + g.length, 0)
  if (!groups.flat().every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined
  const words = [...groups[0], ...Array<string>(8 - count).fill('0'), ...(groups[1] ?? [])].map(
    (g) => parseInt(g, 16),
  )
  return words.flatMap((w) => [w >> 8, w & 255])
}

/**
 * The bytes of an IP address (IPv6 with or without brackets, IPv4 in any spelling a URL accepts),
 * or undefined for anything else, such as a host name.
 */
export const parseIPAddress = (text: string): Bytes | undefined => {
  const bracketed = text.startsWith('[') && text.endsWith(']')
  const inner = bracketed ? text.slice(1, -1) : text
  if (inner.includes(':')) return parseIPv6(inner)
  return bracketed ? undefined : parseIPv4(inner)
}

/** The address in the form a URL's host takes: dotted decimal, or IPv6 without brackets. */
export const formatIPAddress = (bytes: Bytes): string => {
  if (bytes.length === 4) return bytes.join('.')
  return new URL(
    `http://[${Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16)).join(':')}]/`,
  ).hostname.slice(1, -1)
}

type Range = { bits: number; network: Bytes }

const range = (cidr: string): Range => {
  const [network, bits] = cidr.split('/')
  return { bits: Number(bits), network: parseIPAddress(network) as Bytes }
}

const within = (bytes: Bytes, { bits, network }: Range): boolean => {
  if (bytes.length !== network.length) return false
  for (let i = 0; i < bits; i += 8) {
    const mask = bits - i >= 8 ? 255 : (0xff00 >> (bits - i)) & 255
    if ((bytes[i / 8] & mask) !== (network[i / 8] & mask)) return false
  }
  return true
}

/** IPv4 ranges that are not the public internet (RFC 6890 and the IANA special-purpose registry). */
const IPV4_NOT_PUBLIC = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local (cloud metadata services)
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation (TEST-NET-1)
  '192.88.99.0/24', // 6to4 relay anycast (deprecated)
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation (TEST-NET-2)
  '203.0.113.0/24', // documentation (TEST-NET-3)
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and 255.255.255.255 broadcast
].map(range)

/** Only global unicast (2000::/3) is the public IPv6 internet, less these ranges inside it. */
const IPV6_GLOBAL_UNICAST = range('2000::/3')
const IPV6_NOT_PUBLIC = [
  '2001::/23', // IETF protocol assignments: benchmarking 2001:2::/48, ORCHID, … (Teredo, 2001::/32, is judged by its IPv4 addresses)
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation (RFC 9637)
].map(range)

const MAPPED = range('::ffff:0:0/96') // IPv4-mapped
const COMPATIBLE = range('::/96') // IPv4-compatible (deprecated); also :: and ::1
const TRANSLATED = range('::ffff:0:0:0/96') // IPv4-translated (SIIT)
const NAT64 = range('64:ff9b::/96') // well-known NAT64 prefix
const NAT64_LOCAL = range('64:ff9b:1::/48') // local-use NAT64 prefix (RFC 8215)
const SIX_TO_FOUR = range('2002::/16')
const TEREDO = range('2001::/32')

/**
 * The IPv4 addresses an IPv6 address stands for, when it is one of the forms that embed one;
 * undefined otherwise.
 */
const embeddedIPv4 = (b: Bytes): Bytes[] | undefined => {
  if (within(b, MAPPED) || within(b, COMPATIBLE) || within(b, TRANSLATED) || within(b, NAT64))
    return [b.slice(12)]
  if (within(b, NAT64_LOCAL)) {
    // The operator picks the prefix length (/48 to /96, RFC 6052 section 2.2, skipping bits 64-71),
    // so the address is read at every place it can be, and all of them must be public.
    return [[b[6], b[7], b[9], b[10]], [b[7], b[9], b[10], b[11]], b.slice(9, 13), b.slice(12)]
  }
  if (within(b, SIX_TO_FOUR)) return [b.slice(2, 6)]
  // Teredo: the server's address in bits 32-63, the client's in the last 32 bits, inverted.
  if (within(b, TEREDO)) return [b.slice(4, 8), b.slice(12).map((x) => x ^ 0xff)]
  return undefined
}

const isPublicIPv4 = (b: Bytes): boolean => !IPV4_NOT_PUBLIC.some((r) => within(b, r))

const isPublicIPv6 = (b: Bytes): boolean => {
  const embedded = embeddedIPv4(b)
  if (embedded) return embedded.every(isPublicIPv4)
  // Outside 2000::/3: unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10,
  // multicast ff00::/8, discard-only 100::/64, the rest of ::/8 and 64:ff9b::/16, and unassigned space.
  return within(b, IPV6_GLOBAL_UNICAST) && !IPV6_NOT_PUBLIC.some((r) => within(b, r))
}

/**
 * True for an address on the public internet, decided from its bytes. IPv4 may be spelled any way
 * a URL accepts (`127.1`, `0x7f.1`, `2130706433`, `0177.0.0.1`); IPv6 may be bracketed. Every IPv6
 * form that embeds an IPv4 address (mapped, compatible, translated, NAT64, 6to4, Teredo) is judged
 * by the IPv4 address. Anything that is not an IP address is not public.
 */
export const isPublicAddress = (address: string): boolean => {
  const bytes = parseIPAddress(address.toLowerCase())
  if (bytes === undefined) return false
  return bytes.length === 4 ? isPublicIPv4(bytes) : isPublicIPv6(bytes)
}

/** True when `host` is on the allowlist: the same name, under a `*.` entry, or the same IP address. */
export const isAllowedHost = (host: string, allowed: readonly string[]): boolean => {
  const name = host.toLowerCase().replace(/\.$/, '')
  const address = parseIPAddress(name)
  if (address) {
    return allowed.some((entry) => {
      const other = parseIPAddress(entry.toLowerCase())
      return (
        other !== undefined &&
        other.length === address.length &&
        other.every((byte, i) => byte === address[i])
      )
    })
  }
  return allowed.some((entry) =>
    entry.startsWith('*.')
      ? name.endsWith(entry.slice(1)) && name.length > entry.length - 1
      : name === entry,
  )
}
