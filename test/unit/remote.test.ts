import http from 'node:http'
import type { AddressInfo } from 'node:net'

import {
  fetchRemoteImage,
  isAllowedHost,
  isPublicAddress,
  RemoteFetchError,
} from 'payload-image-assets/internal'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

describe('isPublicAddress', () => {
  // [form, address, public?]: every form has public and non-public examples. The fetcher calls this
  // same function for an IP address in a URL and for every address a host name resolves to.
  const cases: Array<[string, string, boolean]> = [
    ['IPv4', '8.8.8.8', true],
    ['IPv4', '1.1.1.1', true],
    ['IPv4', '172.32.0.1', true],
    ['IPv4', '100.128.0.1', true],
    ['IPv4 loopback', '127.0.0.1', false],
    ['IPv4 loopback', '127.255.255.254', false],
    ['IPv4 private', '10.1.2.3', false],
    ['IPv4 private', '172.16.0.1', false],
    ['IPv4 private', '172.31.255.255', false],
    ['IPv4 private', '192.168.1.1', false],
    ['IPv4 link-local', '169.254.169.254', false],
    ['IPv4 carrier-grade NAT', '100.64.0.1', false],
    ['IPv4 this network', '0.0.0.0', false],
    ['IPv4 IETF', '192.0.0.8', false],
    ['IPv4 documentation', '192.0.2.1', false],
    ['IPv4 documentation', '198.51.100.7', false],
    ['IPv4 documentation', '203.0.113.9', false],
    ['IPv4 benchmarking', '198.18.0.1', false],
    ['IPv4 benchmarking', '198.19.255.255', false],
    ['IPv4 6to4 relay', '192.88.99.1', false],
    ['IPv4 multicast', '224.0.0.1', false],
    ['IPv4 reserved', '240.0.0.1', false],
    ['IPv4 broadcast', '255.255.255.255', false],

    ['IPv4 short form', '127.1', false],
    ['IPv4 short form', '8.8.2056', true],
    ['IPv4 short form', '10.1', false],
    ['IPv4 hex', '0x7f.1', false],
    ['IPv4 hex', '0x7f000001', false],
    ['IPv4 hex', '0X8.0x8.0x8.0x8', true],
    ['IPv4 hex', '0xa9.0xfe.0xa9.0xfe', false],
    ['IPv4 one number', '2130706433', false],
    ['IPv4 one number', '134744072', true],
    ['IPv4 one number', '0', false],
    ['IPv4 octal', '0177.0.0.1', false],
    ['IPv4 octal', '012.0.0.1', false],
    ['IPv4 octal', '010.010.010.010', true],
    ['IPv4 trailing dot', '127.0.0.1.', false],
    ['IPv4 trailing dot', '8.8.8.8.', true],

    ['IPv6', '2606:4700:4700::1111', true],
    ['IPv6', '2a00:1450:4001:80b::200e', true],
    ['IPv6 bracketed', '[2606:4700:4700::1111]', true],
    ['IPv6 long form', '2606:4700:4700:0:0:0:0:1111', true],
    ['IPv6 upper case', '2606:4700:4700::AB', true],
    ['IPv6 upper case', 'FE80::1', false],
    ['IPv6 bracketed', '[::1]', false],
    ['IPv6 loopback', '::1', false],
    ['IPv6 unspecified', '::', false],
    ['IPv6 loopback, long', '0:0:0:0:0:0:0:1', false],
    ['IPv6 unique-local', 'fd00::1', false],
    ['IPv6 unique-local', 'fc00::1', false],
    ['IPv6 link-local', 'fe80::1', false],
    ['IPv6 link-local with zone', 'fe80::1%eth0', false],
    ['IPv6 link-local', 'febf::1', false],
    ['IPv6 site-local (deprecated)', 'fec0::1', false],
    ['IPv6 site-local (deprecated)', 'feff::1', false],
    ['IPv6 multicast', 'ff02::1', false],
    ['IPv6 multicast', 'ff0e::1', false],
    ['IPv6 discard-only', '100::1', false],
    ['IPv6 documentation', '2001:db8::1', false],
    ['IPv6 documentation', '3fff::1', false],
    ['IPv6 benchmarking', '2001:2::1', false],
    ['IPv6 IETF (ORCHIDv2)', '2001:20::1', false],
    ['IPv6 outside global unicast', '4000::1', false],

    ['IPv4-mapped', '::ffff:8.8.8.8', true],
    ['IPv4-mapped', '::ffff:808:808', true],
    ['IPv4-mapped', '::ffff:127.0.0.1', false],
    ['IPv4-mapped', '::ffff:7f00:1', false],
    ['IPv4-mapped', '[::ffff:a9fe:a9fe]', false],
    ['IPv4-mapped', '0:0:0:0:0:ffff:c0a8:101', false],
    ['IPv4-compatible', '::8.8.8.8', true],
    ['IPv4-compatible', '::808:808', true],
    ['IPv4-compatible', '::7f00:1', false],
    ['IPv4-compatible', '::127.0.0.1', false],
    ['IPv4-compatible', '::a00:1', false],
    ['IPv4-translated', '::ffff:0:808:808', true],
    ['IPv4-translated', '::ffff:0:7f00:1', false],
    ['NAT64', '64:ff9b::808:808', true],
    ['NAT64', '64:ff9b::8.8.8.8', true],
    ['NAT64', '64:ff9b::a00:1', false],
    ['NAT64', '64:ff9b::10.0.0.1', false],
    ['NAT64', '64:ff9b::7f00:1', false],
    ['NAT64', '[64:ff9b::a9fe:a9fe]', false],
    [
      'NAT64 local-use, public wherever the IPv4 address is read',
      '64:ff9b:1:808:8:808:808:808',
      true,
    ],
    ['NAT64 local-use /96', '64:ff9b:1::a00:1', false],
    ['NAT64 local-use /48', '64:ff9b:1:a00:1:808:808:808', false],
    ['NAT64 local-use /64', '64:ff9b:1:808:8:7f00:1:808', false],
    ['outside the NAT64 prefixes', '64:ff9b:2::808:808', false],
    ['6to4', '2002:808:808::1', true],
    ['6to4', '2002:7f00:1::', false],
    ['6to4', '2002:a9fe:a9fe::1', false],
    ['6to4', '2002:c0a8:101:1::1', false],
    ['Teredo', '2001:0:808:808::f7f7:f7f7', true],
    [
      'Teredo, private client (the last 32 bits inverted: 192.0.2.45)',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      false,
    ],
    [
      'Teredo, loopback client (80ff:fffe is 127.0.0.1 inverted)',
      '2001:0:808:808::80ff:fffe',
      false,
    ],
    ['Teredo, private server', '2001:0:a00:1::f7f7:f7f7', false],

    ['a host name', 'localhost', false],
    ['a host name', 'example.com', false],
    ['not an address', 'not-an-ip', false],
    ['not an address', '1.2.3.4.5', false],
    ['not an address', '256.256.256.256.', false],
    ['not an address', '09.1', false],
    ['not an address', '1:2:3:4:5:6:7:8:9', false],
    ['not an address', '[127.0.0.1]', false],
    ['not an address', '', false],
  ]
  for (const [form, address, expected] of cases) {
    it(`${form}: ${address} → ${expected ? 'public' : 'not public'}`, () =>
      expect(isPublicAddress(address)).toBe(expected))
  }
})

describe('isAllowedHost', () => {
  const allowed = ['images.example.com', '*.cdn.example.net', '8.8.8.8', '2606:4700:4700::1111']
  const cases: Array<[string, boolean]> = [
    ['images.example.com', true],
    ['IMAGES.example.com.', true],
    ['a.cdn.example.net', true],
    ['a.b.cdn.example.net', true],
    ['cdn.example.net', false],
    ['evilcdn.example.net', false],
    ['images.example.com.evil.org', false],
    ['example.com', false],
    ['8.8.8.8', true],
    ['0x8.8.8.8', true],
    ['134744072', true],
    ['8.8.8.9', false],
    ['::ffff:8.8.8.8', false],
    ['2606:4700:4700:0:0:0:0:1111', true],
    ['[2606:4700:4700::1111]', true],
    ['2606:4700:4700::1112', false],
  ]
  for (const [host, expected] of cases)
    it(`${host} → ${expected}`, () => expect(isAllowedHost(host, allowed)).toBe(expected))
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

  const options = {
    allowedHosts: ['localhost', '127.0.0.1'],
    allowPrivateAddresses: false,
    timeoutSeconds: 5,
  }

  it('refuses an allowed host name that resolves to a loopback address, without connecting', async () => {
    const attempt = fetchRemoteImage(`http://localhost:${port}/x.jpg`, options, 1000)
    await expect(attempt).rejects.toBeInstanceOf(RemoteFetchError)
    await expect(attempt).rejects.toMatchObject({
      refusal: {
        kind: 'not-allowed',
        reason: 'the host "localhost" resolves to a non-public address',
      },
    })
    expect(requests).toBe(0)
  })

  it('refuses a private IP literal even when it is on the allowlist', async () => {
    await expect(
      fetchRemoteImage(`http://127.0.0.1:${port}/x.jpg`, options, 1000),
    ).rejects.toMatchObject({
      refusal: { kind: 'not-allowed', reason: 'the address 127.0.0.1 is not public' },
    })
    expect(requests).toBe(0)
  })

  // Each URL reaches the server's own loopback address; the allowlist names it, so only the
  // address check stands in the way. The reason names the host as the URL parser normalised it.
  const literals: Array<[string, (port: number) => string, string]> = [
    ['a short IPv4 form', (p) => `http://127.1:${p}/x.jpg`, '127.0.0.1'],
    ['a hex IPv4 form', (p) => `http://0x7f.1:${p}/x.jpg`, '127.0.0.1'],
    ['IPv4 as one number', (p) => `http://2130706433:${p}/x.jpg`, '127.0.0.1'],
    ['an octal IPv4 form', (p) => `http://0177.0.0.1:${p}/x.jpg`, '127.0.0.1'],
    ['IPv4-mapped IPv6', (p) => `http://[::ffff:127.0.0.1]:${p}/x.jpg`, '::ffff:7f00:1'],
    ['IPv4-compatible IPv6', (p) => `http://[::127.0.0.1]:${p}/x.jpg`, '::7f00:1'],
    ['NAT64', (p) => `http://[64:ff9b::7f00:1]:${p}/x.jpg`, '64:ff9b::7f00:1'],
    ['6to4', (p) => `http://[2002:7f00:1::1]:${p}/x.jpg`, '2002:7f00:1::1'],
    ['IPv6 loopback', (p) => `http://[::1]:${p}/x.jpg`, '::1'],
  ]
  const literalOptions = {
    ...options,
    allowedHosts: [
      '127.0.0.1',
      '::ffff:7f00:1',
      '::7f00:1',
      '64:ff9b::7f00:1',
      '2002:7f00:1::1',
      '::1',
    ],
  }
  for (const [form, url, address] of literals) {
    it(`refuses ${form} of a loopback address, without connecting`, async () => {
      await expect(fetchRemoteImage(url(port), literalOptions, 1000)).rejects.toMatchObject({
        refusal: { kind: 'not-allowed', reason: `the address ${address} is not public` },
      })
      expect(requests).toBe(0)
    })
  }

  it('with allowPrivateAddresses, fetches an unusual spelling of an allowlisted address (the check sees what is connected to)', async () => {
    const fetched = await fetchRemoteImage(
      `http://0x7f.1:${port}/x.jpg`,
      { ...options, allowPrivateAddresses: true },
      1000,
    )
    expect(fetched).toEqual({ data: Buffer.from('x'), name: 'x.jpg' })
    expect(requests).toBe(1)
    requests = 0
  })
})
