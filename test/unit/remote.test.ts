import http from 'node:http'
import type { AddressInfo } from 'node:net'

import { fetchRemoteImage, isAllowedHost, isPublicAddress, RemoteFetchError } from 'payload-image-assets'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

describe('isPublicAddress', () => {
  const cases: Array<[string, boolean]> = [
    ['8.8.8.8', true], ['1.1.1.1', true], ['2606:4700:4700::1111', true],
    ['127.0.0.1', false], ['10.1.2.3', false], ['172.16.0.1', false], ['172.31.255.255', false], ['192.168.1.1', false],
    ['169.254.169.254', false], ['100.64.0.1', false], ['0.0.0.0', false], ['224.0.0.1', false], ['255.255.255.255', false],
    ['::1', false], ['::', false], ['fe80::1', false], ['fd00::1', false], ['::ffff:127.0.0.1', false], ['::ffff:7f00:1', false],
    ['::ffff:8.8.8.8', true], ['64:ff9b::10.0.0.1', false], ['not-an-ip', false],
  ]
  for (const [address, expected] of cases) it(`${address} → ${expected}`, () => expect(isPublicAddress(address)).toBe(expected))
})

describe('isAllowedHost', () => {
  const allowed = ['images.example.com', '*.cdn.example.net']
  const cases: Array<[string, boolean]> = [
    ['images.example.com', true], ['IMAGES.example.com.', true], ['a.cdn.example.net', true], ['a.b.cdn.example.net', true],
    ['cdn.example.net', false], ['evilcdn.example.net', false], ['images.example.com.evil.org', false], ['example.com', false],
  ]
  for (const [host, expected] of cases) it(`${host} → ${expected}`, () => expect(isAllowedHost(host, allowed)).toBe(expected))
})

describe('fetchRemoteImage without allowPrivateAddresses', () => {
  let server: http.Server
  let port: number
  let requests = 0
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      requests++
      res.end('x')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise((resolve) => server.close(resolve)))

  const options = { allowedHosts: ['localhost', '127.0.0.1'], allowPrivateAddresses: false, timeoutSeconds: 5 }

  it('refuses an allowed host name that resolves to a loopback address, without connecting', async () => {
    const attempt = fetchRemoteImage(`http://localhost:${port}/x.jpg`, options, 1000)
    await expect(attempt).rejects.toBeInstanceOf(RemoteFetchError)
    await expect(attempt).rejects.toMatchObject({ refusal: { kind: 'not-allowed', reason: 'the host "localhost" resolves to a non-public address' } })
    expect(requests).toBe(0)
  })

  it('refuses a private IP literal even when it is on the allowlist', async () => {
    await expect(fetchRemoteImage(`http://127.0.0.1:${port}/x.jpg`, options, 1000)).rejects.toMatchObject({
      refusal: { kind: 'not-allowed', reason: 'the address 127.0.0.1 is not public' },
    })
    expect(requests).toBe(0)
  })
})
