import { readFileSync } from 'node:fs'

import { describe, expect, it } from 'vitest'

import { ImageAssetsConfigError } from 'payload-image-assets'
import { resolveOptions, resolveStorage } from 'payload-image-assets/internal'

const env = { S3_BUCKET: 'media' }

describe('resolveOptions', () => {
  it('registers the four built-in collections with the seed presets by default', () => {
    const { collections } = resolveOptions({}, env)
    expect(
      collections.map((c) => [c.slug, c.preset.width, c.preset.height, c.preset.quality, c.label]),
    ).toEqual([
      ['avatars', 240, 200, 85, 'Avatars'],
      ['category-images', 800, 800, 90, 'Category Images'],
      ['product-images', 1024, 840, 75, 'Product Images'],
      ['media', 1920, 1080, 75, 'Media'],
    ])
    expect(collections.every((c) => c.effort === 6)).toBe(true)
    expect(collections.every((c) => c.variantEffort === 5)).toBe(true)
    expect(collections[0].allowedExtensions).toEqual(['.jpg', '.jpeg', '.png', '.webp'])
    expect(collections[0].limits).toEqual({
      animation: 'refuse',
      maxBytes: 26_214_400,
      maxPixels: 64_000_000,
      maxSide: 12_000,
      timeoutSeconds: 30,
    })
  })

  it('leaves the rest of the app alone by default: no process-wide decoder block; the upload path bounds its waits and store step, and cleans up every 5 s', () => {
    const resolved = resolveOptions({}, env)
    expect(resolved.blockDecoders).toBe(false)
    expect(resolved.processing.maxWaitSeconds).toBe(30)
    expect(resolved.storage.timeoutSeconds).toBe(30)
    expect(resolved.cleanup).toEqual({ intervalSeconds: 5 })
  })

  it('overrides a preset per collection, switches one off and adds a custom one', () => {
    const { collections } = resolveOptions(
      {
        collections: {
          avatars: false,
          'product-images': { quality: 60, width: 1600 },
          'team-photos': {
            allowedExtensions: ['.PNG'],
            height: 600,
            labels: { plural: 'Team Photos', singular: 'Team Photo' },
            quality: 80,
            width: 600,
          },
        },
        webpEffort: 4,
        webpVariantEffort: 3,
      },
      env,
    )
    expect(collections.map((c) => c.slug)).toEqual([
      'category-images',
      'product-images',
      'media',
      'team-photos',
    ])
    expect(collections[1].preset).toEqual({ height: 840, quality: 60, width: 1600 })
    expect(collections[3]).toMatchObject({
      allowedExtensions: ['.png'],
      effort: 4,
      label: 'Team Photos',
      variantEffort: 3,
      preset: { height: 600, quality: 80, width: 600 },
    })
  })

  const invalid: Array<[string, Parameters<typeof resolveOptions>[0], string]> = [
    [
      'quality too high',
      { collections: { 'product-images': { quality: 120 } } },
      'Expected an integer between 1 and 100 for collections.product-images.quality but received 120',
    ],
    [
      'quality not an integer',
      { collections: { avatars: { quality: 80.5 } } },
      'Expected an integer between 1 and 100 for collections.avatars.quality but received 80.5',
    ],
    [
      'width zero',
      { collections: { media: { width: 0 } } },
      'Expected an integer between 1 and 16383 for collections.media.width but received 0',
    ],
    [
      'height as a string',
      { collections: { media: { height: '900' as unknown as number } } },
      'Expected an integer between 1 and 16383 for collections.media.height but received "900"',
    ],
    [
      'custom collection without a preset',
      { collections: { banners: {} } },
      'Missing collections.banners.width, collections.banners.height and collections.banners.quality: a collection that is not built in needs',
    ],
    [
      'custom collection missing width and height',
      { collections: { banners: { quality: 80 } } },
      'Missing collections.banners.width and collections.banners.height: ',
    ],
    [
      'custom collection missing only its height',
      { collections: { banners: { quality: 80, width: 1200 } } },
      'Expected an integer between 1 and 16383 for collections.banners.height but received undefined',
    ],
    [
      'a misspelt collection option',
      { collections: { media: { qualty: 80 } as never } },
      'Unknown option collections.media.qualty (did you mean "quality"?); the options there are access, allowedExtensions, avif,',
    ],
    [
      'a misspelt top-level option',
      { webpEfort: 4 } as never,
      'Unknown option webpEfort (did you mean "webpEffort"?); the options there are allowedExtensions,',
    ],
    [
      'an unknown storage option with nothing close',
      { storage: { bucket: 'b', acl: 'public-read' } as never },
      'Unknown option storage.acl; the options there are accessKeyId, bucket,',
    ],
    [
      'a misspelt limit',
      { limits: { maxPixel: 10 } as never },
      'Unknown option limits.maxPixel (did you mean "maxPixels"?)',
    ],
    [
      'a misspelt signed URL option',
      { signedURLs: { windowSecond: 10 } as never },
      'Unknown option signedURLs.windowSecond (did you mean "windowSeconds"?)',
    ],
    [
      'an unknown remote URL option',
      { remoteURLs: { allowedHosts: ['example.com'], allowedHost: 'x' } as never },
      'Unknown option remoteURLs.allowedHost (did you mean "allowedHosts"?)',
    ],
    [
      'bad slug',
      { collections: { 'Bad Slug': { height: 1, quality: 1, width: 1 } } },
      'Expected a slug of lower-case letters, digits, "-" and "_" for collections.Bad Slug but received "Bad Slug"',
    ],
    [
      'collection options not an object',
      { collections: { media: 'yes' as never } },
      'Expected an object or false for collections.media but received "yes"',
    ],
    [
      'an unsupported extension',
      { allowedExtensions: ['.jpg', '.gif'] },
      'Expected one of .jpeg, .jpg, .png, .webp for allowedExtensions[1] but received ".gif"',
    ],
    [
      'an empty extension list',
      { collections: { avatars: { allowedExtensions: [] } } },
      'Expected a non-empty array of extensions such as [".jpg", ".png"] for collections.avatars.allowedExtensions but received an array',
    ],
    [
      'effort out of range',
      { webpEffort: 7 },
      'Expected an integer between 0 and 6 for webpEffort but received 7',
    ],
    [
      'variant effort out of range',
      { webpVariantEffort: -1 },
      'Expected an integer between 0 and 6 for webpVariantEffort but received -1',
    ],
    [
      'a bad animation mode',
      { limits: { animation: 'loop' as never } },
      'Expected "refuse" or "first-frame" for limits.animation but received "loop"',
    ],
    [
      'a zero pixel limit',
      { collections: { media: { limits: { maxPixels: 0 } } } },
      'Expected an integer between 1 and 1000000000 for collections.media.limits.maxPixels but received 0',
    ],
    [
      'a negative byte limit',
      { limits: { maxBytes: -1 } },
      'Expected an integer between 1 and 2147483647 for limits.maxBytes but received -1',
    ],
    [
      'a zero concurrency',
      { processing: { concurrency: 0 } },
      'Expected an integer between 1 and 1024 for processing.concurrency (IMAGE_PROCESSING_CONCURRENCY) but received 0',
    ],
    [
      'a negative queue',
      { processing: { queueDepth: -1 } },
      'Expected an integer between 0 and 100000 for processing.queueDepth (IMAGE_PROCESSING_QUEUE_DEPTH) but received -1',
    ],
    [
      'a zero queue wait',
      { processing: { maxWaitSeconds: 0 } },
      'Expected an integer between 1 and 3600 for processing.maxWaitSeconds (IMAGE_PROCESSING_MAX_WAIT_SECONDS) but received 0',
    ],
    [
      'a negative clean-up interval',
      { cleanup: { intervalSeconds: -1 } },
      'Expected an integer between 0 and 3600 for cleanup.intervalSeconds (IMAGE_CLEANUP_INTERVAL_SECONDS) but received -1',
    ],
    [
      'a zero timeout',
      { limits: { timeoutSeconds: 0 } },
      'Expected an integer between 1 and 3600 for limits.timeoutSeconds but received 0',
    ],
    [
      'a fractional side limit',
      { limits: { maxSide: 10.5 } },
      'Expected an integer between 1 and 100000 for limits.maxSide but received 10.5',
    ],
    [
      'a loopback address on the remote-URL allowlist',
      { remoteURLs: { allowedHosts: ['images.example.com', '127.0.0.1'] } },
      'Expected a host name or a public IP address (127.0.0.1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[1] but received "127.0.0.1"',
    ],
    [
      'a hex spelling of a loopback address',
      { remoteURLs: { allowedHosts: ['0x7f.1'] } },
      'Expected a host name or a public IP address (127.0.0.1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "0x7f.1"',
    ],
    [
      'a loopback address as one number',
      { remoteURLs: { allowedHosts: ['2130706433'] } },
      'Expected a host name or a public IP address (127.0.0.1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "2130706433"',
    ],
    [
      'an octal spelling of a private address',
      { remoteURLs: { allowedHosts: ['012.0.0.1'] } },
      'Expected a host name or a public IP address (10.0.0.1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "012.0.0.1"',
    ],
    [
      'the metadata address',
      { remoteURLs: { allowedHosts: ['169.254.169.254'] } },
      'Expected a host name or a public IP address (169.254.169.254 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "169.254.169.254"',
    ],
    [
      'a bracketed IPv6 loopback',
      { remoteURLs: { allowedHosts: ['[::1]'] } },
      'Expected a host name or a public IP address (::1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "[::1]"',
    ],
    [
      'an IPv4-compatible loopback',
      { remoteURLs: { allowedHosts: ['[::127.0.0.1]'] } },
      'Expected a host name or a public IP address (::7f00:1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "[::127.0.0.1]"',
    ],
    [
      'an IPv4-mapped private address',
      { remoteURLs: { allowedHosts: ['::ffff:192.168.0.1'] } },
      'Expected a host name or a public IP address (::ffff:c0a8:1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "::ffff:192.168.0.1"',
    ],
    [
      'a NAT64 private address',
      { remoteURLs: { allowedHosts: ['[64:ff9b::a00:1]'] } },
      'Expected a host name or a public IP address (64:ff9b::a00:1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "[64:ff9b::a00:1]"',
    ],
    [
      'a 6to4 loopback',
      { remoteURLs: { allowedHosts: ['2002:7f00:1::1'] } },
      'Expected a host name or a public IP address (2002:7f00:1::1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "2002:7f00:1::1"',
    ],
    [
      'a site-local address',
      { remoteURLs: { allowedHosts: ['fec0::1'] } },
      'Expected a host name or a public IP address (fec0::1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "fec0::1"',
    ],
    [
      'a unique-local address',
      { remoteURLs: { allowedHosts: ['[FD12::1]'] } },
      'Expected a host name or a public IP address (fd12::1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "[FD12::1]"',
    ],
    [
      'a documentation address',
      { remoteURLs: { allowedHosts: ['2001:db8::1'] } },
      'Expected a host name or a public IP address (2001:db8::1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[0] but received "2001:db8::1"',
    ],
    [
      'a wildcard over a number',
      { remoteURLs: { allowedHosts: ['*.0.0.1'] } },
      'Expected a host name such as "images.example.com" or "*.example.com", or an IP address for remoteURLs.allowedHosts[0] but received "*.0.0.1"',
    ],
    [
      'a bracketed IPv4 address',
      { remoteURLs: { allowedHosts: ['[127.0.0.1]'] } },
      'Expected a host name such as "images.example.com" or "*.example.com", or an IP address for remoteURLs.allowedHosts[0] but received "[127.0.0.1]"',
    ],
    [
      'an IPv6 address with a zone',
      { remoteURLs: { allowedHosts: ['fe80::1%eth0'] } },
      'Expected a host name such as "images.example.com" or "*.example.com", or an IP address for remoteURLs.allowedHosts[0] but received "fe80::1%eth0"',
    ],
    [
      'a host ending in a number that is no address',
      { remoteURLs: { allowedHosts: ['images.example.123'] } },
      'Expected a host name such as "images.example.com" or "*.example.com", or an IP address for remoteURLs.allowedHosts[0] but received "images.example.123"',
    ],
    [
      'an IPv4 address out of range',
      { remoteURLs: { allowedHosts: ['1.2.3.256'] } },
      'Expected a host name such as "images.example.com" or "*.example.com", or an IP address for remoteURLs.allowedHosts[0] but received "1.2.3.256"',
    ],
    [
      'a URL instead of a host',
      { remoteURLs: { allowedHosts: ['https://images.example.com'] } },
      'Expected a host name such as "images.example.com" or "*.example.com", or an IP address for remoteURLs.allowedHosts[0] but received "https://images.example.com"',
    ],
    [
      'allowPrivateAddresses not a boolean',
      { remoteURLs: { allowedHosts: ['127.0.0.1'], allowPrivateAddresses: 'yes' as never } },
      'Expected a boolean for remoteURLs.allowPrivateAddresses but received "yes"',
    ],
  ]
  for (const [what, options, message] of invalid) {
    it(`refuses ${what}`, () => {
      expect(() => resolveOptions(options, env)).toThrow(ImageAssetsConfigError)
      expect(() => resolveOptions(options, env)).toThrow(`payload-image-assets: ${message}`)
    })
  }
  // [allowedHosts, allowPrivateAddresses, what is kept]: addresses in the form a URL's host takes.
  const remoteHosts: Array<[string[], boolean, string[]]> = [
    [
      ['Images.Example.com', '*.CDN.example.net', 'localhost'],
      false,
      ['images.example.com', '*.cdn.example.net', 'localhost'],
    ],
    [
      ['8.8.8.8', '0x8.0x8.0x8.0x8', '134744072', '[2606:4700:4700:0:0:0:0:1111]', '2A00:1450::1'],
      false,
      ['8.8.8.8', '8.8.8.8', '8.8.8.8', '2606:4700:4700::1111', '2a00:1450::1'],
    ],
    [
      ['::ffff:8.8.8.8', '[64:ff9b::8.8.8.8]', '2002:808:808::1'],
      false,
      ['::ffff:808:808', '64:ff9b::808:808', '2002:808:808::1'],
    ],
    [
      ['127.1', '0177.0.0.1', '[::1]', '[64:ff9b::a00:1]', 'fec0::1'],
      true,
      ['127.0.0.1', '127.0.0.1', '::1', '64:ff9b::a00:1', 'fec0::1'],
    ],
  ]
  for (const [allowedHosts, allowPrivateAddresses, kept] of remoteHosts) {
    it(`keeps the remote-URL allowlist ${JSON.stringify(allowedHosts)}${allowPrivateAddresses ? ' with private addresses allowed' : ''}`, () => {
      expect(
        resolveOptions({ remoteURLs: { allowedHosts, allowPrivateAddresses } }, env).remoteURLs,
      ).toEqual({ allowedHosts: kept, allowPrivateAddresses, timeoutSeconds: 15 })
    })
  }

  it('refuses a private address in IMAGE_REMOTE_URL_HOSTS unless IMAGE_REMOTE_URL_ALLOW_PRIVATE is set', () => {
    const hosts = { ...env, IMAGE_REMOTE_URL_HOSTS: 'images.example.com, 0x7f.1' }
    expect(() => resolveOptions({}, hosts)).toThrow(
      'payload-image-assets: Expected a host name or a public IP address (127.0.0.1 is not a public address; set remoteURLs.allowPrivateAddresses (IMAGE_REMOTE_URL_ALLOW_PRIVATE) to true to fetch from private ones) for remoteURLs.allowedHosts[1] but received "0x7f.1"',
    )
    expect(
      resolveOptions({}, { ...hosts, IMAGE_REMOTE_URL_ALLOW_PRIVATE: 'true' }).remoteURLs,
    ).toEqual({
      allowedHosts: ['images.example.com', '127.0.0.1'],
      allowPrivateAddresses: true,
      timeoutSeconds: 15,
    })
  })
})

describe('resolveStorage', () => {
  it('reads every setting from the environment', () => {
    expect(
      resolveStorage(
        {},
        {
          MEDIA_BASE_URL: 'https://cdn.example.com/',
          S3_ACCESS_KEY_ID: 'id',
          S3_BUCKET: 'b',
          S3_ENDPOINT: 'http://127.0.0.1:4569',
          S3_FORCE_PATH_STYLE: 'true',
          S3_REGION: 'eu-west-1',
          S3_SECRET_ACCESS_KEY: 'secret',
          S3_TIMEOUT_SECONDS: '12',
        },
      ),
    ).toEqual({
      bucket: 'b',
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      endpoint: 'http://127.0.0.1:4569',
      forcePathStyle: true,
      mediaBaseURL: 'https://cdn.example.com',
      region: 'eu-west-1',
      timeoutSeconds: 12,
    })
  })

  it('prefers options over the environment and defaults the region', () => {
    expect(resolveStorage({ bucket: 'opt' }, { S3_BUCKET: 'env' })).toEqual({
      bucket: 'opt',
      credentials: undefined,
      endpoint: undefined,
      forcePathStyle: false,
      mediaBaseURL: undefined,
      region: 'us-east-1',
      timeoutSeconds: 30,
    })
  })

  const invalid: Array<[string, Record<string, string>, string]> = [
    [
      'a missing bucket',
      {},
      'Expected a bucket name for storage.bucket (or the S3_BUCKET environment variable) but received undefined',
    ],
    [
      'a relative media URL',
      { MEDIA_BASE_URL: 'cdn.example.com', S3_BUCKET: 'b' },
      'Expected an absolute http(s) URL for storage.mediaBaseURL (MEDIA_BASE_URL) but received "cdn.example.com"',
    ],
    [
      'a non-http endpoint',
      { S3_BUCKET: 'b', S3_ENDPOINT: 'ftp://host' },
      'Expected an absolute http(s) URL for storage.endpoint (S3_ENDPOINT) but received "ftp://host"',
    ],
    [
      'a zero store deadline',
      { S3_BUCKET: 'b', S3_TIMEOUT_SECONDS: '0' },
      'Expected an integer between 1 and 600 for storage.timeoutSeconds (S3_TIMEOUT_SECONDS) but received 0',
    ],
    [
      'a key id without a secret',
      { S3_ACCESS_KEY_ID: 'id', S3_BUCKET: 'b' },
      'Expected both or neither of the access key id and secret for storage.secretAccessKey (S3_SECRET_ACCESS_KEY) but received "only one"',
    ],
  ]
  for (const [what, environment, message] of invalid) {
    it(`refuses ${what}`, () => {
      expect(() => resolveStorage({}, environment)).toThrow(`payload-image-assets: ${message}`)
    })
  }
})

describe('commands that need no bucket', () => {
  const bin = '/app/node_modules/.bin/payload'
  it.each([
    ['generate:types', [bin, 'generate:types']],
    ['generate:importmap', ['/app/node_modules/payload/bin.js', 'generate:importmap']],
    ['migrate:create with a name', [bin, 'migrate:create', 'add-plugin']],
    ['generate:db-schema', [bin, '--use-swc', 'generate:db-schema']],
  ])('%s runs without S3 settings', (_, args) => {
    expect(resolveStorage({}, {}, ['/usr/bin/node', ...args]).bucket).toBe('no-bucket-configured')
  })

  it.each([
    ['migrate (it runs against the app)', [bin, 'migrate']],
    ['jobs:run', [bin, 'jobs:run']],
    ['the check the build runs', [bin, 'image-assets:check']],
    [
      'another program in a directory named payload',
      ['/srv/payload/node_modules/.bin/next', 'build'],
    ],
    ['next build', ['/app/node_modules/next/dist/bin/next', 'build']],
  ])('%s still needs a bucket', (_, args) => {
    expect(() => resolveStorage({}, {}, ['/usr/bin/node', ...args])).toThrow(
      'Expected a bucket name for storage.bucket',
    )
  })
})

describe('the README documents every option', () => {
  /** The options the validator knows at `path`, read from its refusal of an unknown one. */
  const known = (options: Record<string, unknown>): string[] => {
    try {
      resolveOptions(options as Parameters<typeof resolveOptions>[0], env)
    } catch (error) {
      const listed = /the options there are (.*)$/.exec((error as Error).message)?.[1]
      if (listed) return listed.split(', ')
    }
    throw new Error('the unknown option was not refused')
  }
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  /** The options table's first cells: `a.b` and `a.b` / `.c` rows. */
  const rows = readme
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => {
      const cell = line.split(' | ')[0].slice(2)
      const [first, ...others] = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1])
      const parent = first.slice(0, first.lastIndexOf('.') + 1)
      return [
        first,
        ...others.map((other) => (other.startsWith('.') ? parent + other.slice(1) : other)),
      ]
    })

  it.each([
    ['', {}],
    ['collections.<slug>.', { collections: { media: { zzz: 1 } } }],
    ['limits.', { limits: { zzz: 1 } }],
    ['storage.', { storage: { zzz: 1 } }],
    ['processing.', { processing: { zzz: 1 } }],
    ['cleanup.', { cleanup: { zzz: 1 } }],
    ['signedURLs.', { signedURLs: { zzz: 1 } }],
  ])('every option at "%s…" has a row in the options table', (prefix, nested) => {
    const options = prefix === '' ? { zzz: 1 } : nested
    const undocumented = known(options)
      .map((key) => `${prefix}${key}`)
      // A group is documented by its own row or by rows of its members.
      .filter((path) => !rows.some((row) => row === path || row.startsWith(`${path}.`)))
    expect(undocumented).toEqual([])
  })
})

describe('the app’s own body limits', () => {
  it('are kept: the plugin’s upload limits (which replace bodyParser.limits whole in Payload’s parser) carry them over', async () => {
    const { imageAssetsPlugin } = await import('payload-image-assets')
    const plugin = imageAssetsPlugin({ storage: { bucket: 'media' } })
    const config = await plugin({
      bodyParser: { limits: { fieldSize: 100_000, fields: 20 } },
      collections: [],
    } as never)
    expect(config.upload?.limits).toMatchObject({ fieldSize: 100_000, fields: 20 })
    // The app's upload limits win over its body limits, as in Payload's own merge.
    const both = await plugin({
      bodyParser: { limits: { fieldSize: 100_000 } },
      collections: [],
      upload: { limits: { fieldSize: 50_000, fileSize: 2_000_000 } },
    } as never)
    expect(both.upload?.limits).toMatchObject({ fieldSize: 50_000, fileSize: 2_000_000 })
    expect(both.upload?.responseOnLimit).toBe(
      'The file is larger than 2 MB, the largest upload this server accepts. Upload a smaller file.',
    )
  })

  it('make room for the largest collection: a file of exactly maxBytes, and a body over Payload’s 50 MiB default when a collection takes more', async () => {
    const { imageAssetsPlugin } = await import('payload-image-assets')
    const defaults = await imageAssetsPlugin({ storage: { bucket: 'media' } })({
      collections: [],
    } as never)
    // Payload's parser stops a file when it reaches `fileSize`.
    expect(defaults.upload?.limits?.fileSize).toBe(25 * 1024 * 1024 + 1)
    expect((defaults.upload as { requestSizeLimit?: number }).requestSizeLimit).toBe(
      50 * 1024 * 1024,
    )
    const large = await imageAssetsPlugin({
      collections: { media: { limits: { maxBytes: 100 * 1024 * 1024 } } },
      storage: { bucket: 'media' },
    })({ collections: [] } as never)
    expect(large.upload?.limits?.fileSize).toBe(100 * 1024 * 1024 + 1)
    expect((large.upload as { requestSizeLimit?: number }).requestSizeLimit).toBeGreaterThan(
      100 * 1024 * 1024,
    )
    // The app's own settings win.
    const own = await imageAssetsPlugin({ storage: { bucket: 'media' } })({
      collections: [],
      upload: { requestSizeLimit: 10_000_000 },
    } as never)
    expect((own.upload as { requestSizeLimit?: number }).requestSizeLimit).toBe(10_000_000)
  })
})
