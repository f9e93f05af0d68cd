import { lookup as dnsLookup } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { isIP, type LookupFunction } from 'node:net'

import type { ResolvedRemoteURLs } from '../options.js'
import { isAllowedHost, isPublicAddress, parseIPAddress } from './addresses.js'

export type RemoteRefusal =
  | { kind: 'not-allowed'; reason: string }
  | { kind: 'too-large' }
  | { kind: 'failed'; reason: string }

export class RemoteFetchError extends Error {
  constructor(readonly refusal: RemoteRefusal) {
    super('reason' in refusal ? refusal.reason : refusal.kind)
    this.name = 'RemoteFetchError'
  }
}

const MAX_REDIRECTS = 3

/**
 * The host Node connects to: `url.hostname` as the WHATWG parser normalised it (`0x7f.1`, `127.1`
 * and `2130706433` are already `127.0.0.1` here), without the brackets of an IPv6 address.
 */
const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '')

/** Checks a URL against the allowlist: http(s), no credentials, an allowed host. */
const checkURL = (raw: string, base: URL | undefined, options: ResolvedRemoteURLs): URL => {
  let url: URL
  try {
    url = new URL(raw, base)
  } catch {
    throw new RemoteFetchError({ kind: 'not-allowed', reason: 'it is not a valid URL' })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RemoteFetchError({
      kind: 'not-allowed',
      reason: `only http and https URLs are fetched, not ${url.protocol.replace(/:$/, '')}`,
    })
  }
  if (url.username || url.password)
    throw new RemoteFetchError({
      kind: 'not-allowed',
      reason: 'URLs with credentials are not fetched',
    })
  const host = hostOf(url)
  if (!isAllowedHost(host, options.allowedHosts)) {
    throw new RemoteFetchError({
      kind: 'not-allowed',
      reason: `the host "${host.slice(0, 100)}" is not on the allowlist (${options.allowedHosts.join(', ')})`,
    })
  }
  return url
}

/**
 * A DNS lookup that refuses non-public addresses at connect time, so that a host name cannot
 * resolve to the server's own network (SSRF), including after a redirect or a DNS change.
 */
const publicLookup =
  (options: ResolvedRemoteURLs): LookupFunction =>
  (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 4)
      const list = addresses as Array<{ address: string; family: number }>
      const refused = list.find(
        (a) => !options.allowPrivateAddresses && !isPublicAddress(a.address),
      )
      if (refused || list.length === 0) {
        return callback(
          new RemoteFetchError({
            kind: 'not-allowed',
            reason: `the host "${hostname}" resolves to a non-public address`,
          }),
          '',
          4,
        )
      }
      if (lookupOptions.all)
        return (callback as unknown as (e: null, a: typeof list) => void)(null, list)
      callback(null, list[0].address, list[0].family)
    })
  }

const get = (url: URL, options: ResolvedRemoteURLs, maxBytes: number, signal: AbortSignal) =>
  new Promise<{ body?: Buffer; location?: string; status: number }>((resolve, reject) => {
    const host = hostOf(url)
    // An IP address is connected to without a lookup, so it is judged here, by the same function
    // as the addresses a host name resolves to (publicLookup).
    const literal = isIP(host) !== 0 || parseIPAddress(host) !== undefined
    if (!options.allowPrivateAddresses && literal && !isPublicAddress(host)) {
      return reject(
        new RemoteFetchError({ kind: 'not-allowed', reason: `the address ${host} is not public` }),
      )
    }
    const client = url.protocol === 'https:' ? https : http
    // No cookies, no authorization, none of the uploader's headers: only what is needed.
    const request = client.get(url, {
      headers: {
        accept: 'image/jpeg, image/png, image/webp',
        'user-agent': 'payload-image-assets',
      },
      lookup: publicLookup(options),
      signal,
    })
    request.on('error', reject)
    request.on('response', (response) => {
      const status = response.statusCode ?? 0
      if (status >= 300 && status < 400) {
        response.resume()
        return resolve({ location: response.headers.location, status })
      }
      if (status < 200 || status >= 300) {
        response.resume()
        return resolve({ status })
      }
      const declared = Number(response.headers['content-length'])
      if (Number.isFinite(declared) && declared > maxBytes) {
        request.destroy()
        return reject(new RemoteFetchError({ kind: 'too-large' }))
      }
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > maxBytes) {
          request.destroy()
          reject(new RemoteFetchError({ kind: 'too-large' }))
        } else {
          chunks.push(chunk)
        }
      })
      response.on('error', reject)
      response.on('end', () => resolve({ body: Buffer.concat(chunks), status }))
    })
  })

/**
 * Fetches an image for creation from a URL: allowlisted hosts on public addresses only, redirects
 * checked the same way (at most three), a time limit, and a byte limit enforced while streaming.
 */
export const fetchRemoteImage = async (
  raw: string,
  options: ResolvedRemoteURLs,
  maxBytes: number,
): Promise<{ data: Buffer; name: string }> => {
  let url = checkURL(raw, undefined, options)
  const signal = AbortSignal.timeout(options.timeoutSeconds * 1000)
  for (let redirects = 0; ; redirects++) {
    let result: Awaited<ReturnType<typeof get>>
    try {
      result = await get(url, options, maxBytes, signal)
    } catch (error) {
      if (error instanceof RemoteFetchError) throw error
      const cause = (error as { cause?: unknown }).cause
      if (cause instanceof RemoteFetchError) throw cause
      const reason = signal.aborted
        ? `it did not answer within ${options.timeoutSeconds} seconds`
        : 'the connection failed'
      throw new RemoteFetchError({ kind: 'failed', reason })
    }
    if (result.location !== undefined) {
      if (redirects >= MAX_REDIRECTS)
        throw new RemoteFetchError({
          kind: 'failed',
          reason: `it redirected more than ${MAX_REDIRECTS} times`,
        })
      url = checkURL(result.location, url, options)
      continue
    }
    if (!result.body)
      throw new RemoteFetchError({
        kind: 'failed',
        reason: `the server answered HTTP ${result.status}`,
      })
    const last = decodeURIComponent(url.pathname.split('/').pop() ?? '')
    return { data: result.body, name: last || 'image' }
  }
}
