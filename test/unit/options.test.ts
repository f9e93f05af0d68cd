import { describe, expect, it } from 'vitest'

import { ImageAssetsConfigError, resolveOptions, resolveStorage } from 'payload-image-assets'

const env = { S3_BUCKET: 'media' }

describe('resolveOptions', () => {
  it('registers the four built-in collections with the seed presets by default', () => {
    const { collections } = resolveOptions({}, env)
    expect(collections.map((c) => [c.slug, c.preset.width, c.preset.height, c.preset.quality, c.label])).toEqual([
      ['avatars', 240, 200, 85, 'Avatars'],
      ['category-images', 800, 800, 90, 'Category Images'],
      ['product-images', 1024, 840, 75, 'Product Images'],
      ['media', 1920, 1080, 75, 'Media'],
    ])
    expect(collections.every((c) => c.effort === 6)).toBe(true)
    expect(collections[0].allowedExtensions).toEqual(['.jpg', '.jpeg', '.png', '.webp'])
    expect(collections[0].limits).toEqual({ animation: 'refuse', maxBytes: 26_214_400, maxPixels: 40_000_000, maxSide: 12_000, timeoutSeconds: 30 })
  })

  it('overrides a preset per collection, switches one off and adds a custom one', () => {
    const { collections } = resolveOptions(
      {
        collections: {
          avatars: false,
          'product-images': { quality: 60, width: 1600 },
          'team-photos': { allowedExtensions: ['.PNG'], height: 600, labels: { plural: 'Team Photos', singular: 'Team Photo' }, quality: 80, width: 600 },
        },
        webpEffort: 4,
      },
      env,
    )
    expect(collections.map((c) => c.slug)).toEqual(['category-images', 'product-images', 'media', 'team-photos'])
    expect(collections[1].preset).toEqual({ height: 840, quality: 60, width: 1600 })
    expect(collections[3]).toMatchObject({ allowedExtensions: ['.png'], effort: 4, label: 'Team Photos', preset: { height: 600, quality: 80, width: 600 } })
  })

  const invalid: Array<[string, Parameters<typeof resolveOptions>[0], string]> = [
    ['quality too high', { collections: { 'product-images': { quality: 120 } } }, 'Expected an integer between 1 and 100 for collections.product-images.quality but received 120'],
    ['quality not an integer', { collections: { avatars: { quality: 80.5 } } }, 'Expected an integer between 1 and 100 for collections.avatars.quality but received 80.5'],
    ['width zero', { collections: { media: { width: 0 } } }, 'Expected an integer between 1 and 16383 for collections.media.width but received 0'],
    ['height as a string', { collections: { media: { height: '900' as unknown as number } } }, 'Expected an integer between 1 and 16383 for collections.media.height but received "900"'],
    ['custom collection without a preset', { collections: { banners: {} } }, 'Expected an integer between 1 and 16383 for collections.banners.height but received undefined'],
    ['bad slug', { collections: { 'Bad Slug': { height: 1, quality: 1, width: 1 } } }, 'Expected a slug of lower-case letters, digits, "-" and "_" for collections.Bad Slug but received "Bad Slug"'],
    ['collection options not an object', { collections: { media: 'yes' as never } }, 'Expected an object or false for collections.media but received "yes"'],
    ['an unsupported extension', { allowedExtensions: ['.jpg', '.gif'] }, 'Expected one of .jpeg, .jpg, .png, .webp for allowedExtensions[1] but received ".gif"'],
    ['an empty extension list', { collections: { avatars: { allowedExtensions: [] } } }, 'Expected a non-empty array of extensions such as [".jpg", ".png"] for collections.avatars.allowedExtensions but received an array'],
    ['effort out of range', { webpEffort: 7 }, 'Expected an integer between 0 and 6 for webpEffort but received 7'],
    ['a bad animation mode', { limits: { animation: 'loop' as never } }, 'Expected "refuse" or "first-frame" for limits.animation but received "loop"'],
    ['a zero pixel limit', { collections: { media: { limits: { maxPixels: 0 } } } }, 'Expected an integer between 1 and 1000000000 for collections.media.limits.maxPixels but received 0'],
    ['a negative byte limit', { limits: { maxBytes: -1 } }, 'Expected an integer between 1 and 2147483647 for limits.maxBytes but received -1'],
    ['a zero concurrency', { processing: { concurrency: 0 } }, 'Expected an integer between 1 and 1024 for processing.concurrency (IMAGE_PROCESSING_CONCURRENCY) but received 0'],
    ['a negative queue', { processing: { queueDepth: -1 } }, 'Expected an integer between 0 and 100000 for processing.queueDepth (IMAGE_PROCESSING_QUEUE_DEPTH) but received -1'],
    ['a zero queue wait', { processing: { maxWaitSeconds: 0 } }, 'Expected an integer between 1 and 3600 for processing.maxWaitSeconds (IMAGE_PROCESSING_MAX_WAIT_SECONDS) but received 0'],
    ['a negative clean-up interval', { cleanup: { intervalSeconds: -1 } }, 'Expected an integer between 0 and 3600 for cleanup.intervalSeconds (IMAGE_CLEANUP_INTERVAL_SECONDS) but received -1'],
    ['a zero timeout', { limits: { timeoutSeconds: 0 } }, 'Expected an integer between 1 and 3600 for limits.timeoutSeconds but received 0'],
    ['a fractional side limit', { limits: { maxSide: 10.5 } }, 'Expected an integer between 1 and 100000 for limits.maxSide but received 10.5'],
  ]
  for (const [what, options, message] of invalid) {
    it(`refuses ${what}`, () => {
      expect(() => resolveOptions(options, env)).toThrow(ImageAssetsConfigError)
      expect(() => resolveOptions(options, env)).toThrow(`payload-image-assets: ${message}`)
    })
  }
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
    ['a missing bucket', {}, 'Expected a bucket name for storage.bucket (or the S3_BUCKET environment variable) but received undefined'],
    ['a relative media URL', { MEDIA_BASE_URL: 'cdn.example.com', S3_BUCKET: 'b' }, 'Expected an absolute http(s) URL for storage.mediaBaseURL (MEDIA_BASE_URL) but received "cdn.example.com"'],
    ['a non-http endpoint', { S3_BUCKET: 'b', S3_ENDPOINT: 'ftp://host' }, 'Expected an absolute http(s) URL for storage.endpoint (S3_ENDPOINT) but received "ftp://host"'],
    ['a zero store deadline', { S3_BUCKET: 'b', S3_TIMEOUT_SECONDS: '0' }, 'Expected an integer between 1 and 600 for storage.timeoutSeconds (S3_TIMEOUT_SECONDS) but received 0'],
    ['a key id without a secret', { S3_ACCESS_KEY_ID: 'id', S3_BUCKET: 'b' }, 'Expected both or neither of the access key id and secret for storage.secretAccessKey (S3_SECRET_ACCESS_KEY) but received "only one"'],
  ]
  for (const [what, environment, message] of invalid) {
    it(`refuses ${what}`, () => {
      expect(() => resolveStorage({}, environment)).toThrow(`payload-image-assets: ${message}`)
    })
  }
})
