/**
 * The dev stack's bucket (`npm run dev`, src/dev/run-services.ts) answers anonymous requests like
 * the README's production bucket policy for `public` delivery: anyone may GET the collections'
 * objects; listing, writes, deletes and the private `originals/` prefix are refused. The app's own
 * requests, signed with the S3RVER credentials, may still do everything.
 */
import { request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

import { freePort, S3RVER_CREDENTIALS, startDevS3rver } from '../../src/dev/services'

const BUCKET = 'media'
const PUBLIC_KEY = 'media/lamp-0123abcd.webp'
const PRODUCT_KEY = 'product-images/chair-4567ef01.webp'
const ORIGINAL_KEY = 'originals/media/lamp-89abcdef.jpg'
const PUBLIC_BYTES = Buffer.from('public webp bytes')
const ORIGINAL_BYTES = Buffer.from('private original bytes')

let dir: string
let s3: Awaited<ReturnType<typeof startDevS3rver>>
let client: S3Client
let bucketURL: string

const signedBytes = async (key: string): Promise<Buffer> => {
  const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
  return Buffer.from(await object.Body!.transformToByteArray())
}

const expectDenied = async (response: Response) => {
  expect(response.status).toBe(403)
  if (response.body) expect(await response.text()).toContain('<Code>AccessDenied</Code>')
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dev-bucket-'))
  s3 = await startDevS3rver({ bucket: BUCKET, directory: dir, port: await freePort() })
  bucketURL = `${s3.endpoint}/${BUCKET}`
  client = new S3Client({
    credentials: S3RVER_CREDENTIALS,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
  })
  for (const [key, body] of [
    [PUBLIC_KEY, PUBLIC_BYTES],
    [PRODUCT_KEY, PUBLIC_BYTES],
    [ORIGINAL_KEY, ORIGINAL_BYTES],
  ] as const) {
    await client.send(
      new PutObjectCommand({
        Body: body,
        Bucket: BUCKET,
        ContentType: 'application/octet-stream',
        Key: key,
      }),
    )
  }
})

afterAll(async () => {
  client?.destroy()
  await s3?.stop()
  if (dir) await rm(dir, { force: true, recursive: true })
})

describe('unsigned requests to the dev bucket', () => {
  it("public prefixes are the plugin's collections, never originals/", () => {
    expect(s3.publicReadPrefixes).toEqual([
      'avatars/',
      'category-images/',
      'product-images/',
      'media/',
    ])
  })

  it('read the objects of the public prefixes', async () => {
    for (const key of [PUBLIC_KEY, PRODUCT_KEY]) {
      const response = await fetch(`${bucketURL}/${key}`)
      expect(response.status).toBe(200)
      expect(Buffer.from(await response.arrayBuffer())).toEqual(PUBLIC_BYTES)
      expect((await fetch(`${bucketURL}/${key}`, { method: 'HEAD' })).status).toBe(200)
    }
    // A cache-busting query string is still a plain GET.
    expect((await fetch(`${bucketURL}/${PUBLIC_KEY}?v=2`)).status).toBe(200)
  })

  it('are refused the originals, and a missing public key is a 403 (no s3:ListBucket), not a 404', async () => {
    await expectDenied(await fetch(`${bucketURL}/${ORIGINAL_KEY}`))
    await expectDenied(await fetch(`${bucketURL}/${ORIGINAL_KEY}`, { method: 'HEAD' }))
    await expectDenied(await fetch(`${bucketURL}/media/missing.webp`))
    await expectDenied(await fetch(`${bucketURL}/other/file.txt`))
  })

  it('are refused listings of the bucket and of all buckets', async () => {
    for (const url of [
      `${bucketURL}?list-type=2`,
      `${bucketURL}?list-type=2&prefix=originals/`,
      bucketURL,
      `${bucketURL}/`,
      `${bucketURL}?location`,
      `${s3.endpoint}/`,
    ]) {
      await expectDenied(await fetch(url))
    }
  })

  it('are refused writes and deletes, and the objects stay as they were', async () => {
    await expectDenied(
      await fetch(`${bucketURL}/${PUBLIC_KEY}`, { body: 'overwritten', method: 'PUT' }),
    )
    await expectDenied(await fetch(`${bucketURL}/media/new.webp`, { body: 'new', method: 'PUT' }))
    await expectDenied(
      await fetch(`${bucketURL}/${ORIGINAL_KEY}`, { body: 'overwritten', method: 'PUT' }),
    )
    await expectDenied(await fetch(`${bucketURL}/${PUBLIC_KEY}`, { method: 'DELETE' }))
    await expectDenied(await fetch(`${bucketURL}/${ORIGINAL_KEY}`, { method: 'DELETE' }))
    const deleteMany = `<Delete><Object><Key>${PUBLIC_KEY}</Key></Object><Object><Key>${ORIGINAL_KEY}</Key></Object></Delete>`
    await expectDenied(await fetch(`${bucketURL}?delete`, { body: deleteMany, method: 'POST' }))
    await expectDenied(await fetch(bucketURL, { method: 'DELETE' }))

    expect(await signedBytes(PUBLIC_KEY)).toEqual(PUBLIC_BYTES)
    expect(await signedBytes(ORIGINAL_KEY)).toEqual(ORIGINAL_BYTES)
    await expect(
      client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'media/new.webp' })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    })
    expect((await fetch(`${bucketURL}/${PUBLIC_KEY}`)).status).toBe(200)
  })

  it('are refused other object operations on public keys (ACL, tags, response overrides)', async () => {
    await expectDenied(await fetch(`${bucketURL}/${PUBLIC_KEY}?acl`))
    await expectDenied(await fetch(`${bucketURL}/${PUBLIC_KEY}?tagging`))
    await expectDenied(await fetch(`${bucketURL}/${PUBLIC_KEY}?response-content-type=text/html`))
  })

  it('cannot reach the originals through encoded paths, dot segments, fake signatures or a virtual host', async () => {
    // A public prefix followed by `..` (encoded so that fetch keeps it): s3rver stores keys as
    // files and would resolve it to the original.
    await expectDenied(
      await fetch(`${bucketURL}/media/..%2F${ORIGINAL_KEY.replaceAll('/', '%2F')}`),
    )
    await expectDenied(await fetch(`${s3.endpoint}/%6Dedia/${ORIGINAL_KEY}`))
    await expectDenied(
      await fetch(`${bucketURL}/${ORIGINAL_KEY.replace('originals', '%6Friginals')}`),
    )
    // A signature s3rver does not check (no X-Amz-Algorithm) does not make a request signed.
    await expectDenied(await fetch(`${bucketURL}/${ORIGINAL_KEY}?X-Amz-Signature=0000`))
    // A key s3rver does not know is refused by s3rver itself.
    const forged = await fetch(`${bucketURL}/${ORIGINAL_KEY}`, {
      headers: {
        Authorization:
          'AWS4-HMAC-SHA256 Credential=NOBODY/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00',
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
      },
    })
    expect(forged.status).toBe(403)
    expect(await forged.text()).not.toContain(ORIGINAL_BYTES.toString())
    // Virtual-host style (`<bucket>.s3.amazonaws.com`), which s3rver rewrites to the path style.
    const vhost = await new Promise<{ body: string; status: number }>((resolve, reject) => {
      const { port } = new URL(s3.endpoint)
      const req = request(
        {
          headers: { host: `${BUCKET}.s3.amazonaws.com` },
          host: '127.0.0.1',
          path: `/${ORIGINAL_KEY}`,
          port,
        },
        (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (body += chunk))
          res.on('end', () => resolve({ body, status: res.statusCode ?? 0 }))
        },
      )
      req.on('error', reject)
      req.end()
    })
    expect(vhost.status).toBe(403)
    expect(vhost.body).toContain('AccessDenied')
  })
})

describe('signed requests to the dev bucket (the app, the operations commands)', () => {
  it('list, read, write and delete everything, originals included', async () => {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }))
    expect(listed.Contents?.map((object) => object.Key).sort()).toEqual(
      [ORIGINAL_KEY, PRODUCT_KEY, PUBLIC_KEY].sort(),
    )
    expect(await signedBytes(ORIGINAL_KEY)).toEqual(ORIGINAL_BYTES)
    expect(
      (await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: ORIGINAL_KEY })))
        .ContentLength,
    ).toBe(ORIGINAL_BYTES.length)

    // A presigned URL (the `signed` delivery mode) reads a private key too.
    const presigned = await getSignedUrl(
      client,
      new GetObjectCommand({ Bucket: BUCKET, Key: ORIGINAL_KEY }),
      { expiresIn: 60 },
    )
    const viaURL = await fetch(presigned)
    expect(viaURL.status).toBe(200)
    expect(Buffer.from(await viaURL.arrayBuffer())).toEqual(ORIGINAL_BYTES)

    const key = 'originals/media/written-by-the-app.jpg'
    await client.send(new PutObjectCommand({ Body: 'x', Bucket: BUCKET, Key: key }))
    expect((await signedBytes(key)).toString()).toBe('x')
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }))
    await client.send(new PutObjectCommand({ Body: 'y', Bucket: BUCKET, Key: 'avatars/new.webp' }))
    expect(await (await fetch(`${bucketURL}/avatars/new.webp`)).text()).toBe('y')
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'avatars/new.webp' }))
    await expectDenied(await fetch(`${bucketURL}/avatars/new.webp`))
  })
})

describe("the tests' own S3 server", () => {
  it('still answers anonymous requests for test-* buckets (only private-* ones are refused)', async () => {
    const endpoint = inject('s3Endpoint')
    const tests = new S3Client({
      credentials: S3RVER_CREDENTIALS,
      endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
    })
    const bucket = `test-dev-bucket-${Date.now().toString(36)}`
    try {
      await tests.send(new CreateBucketCommand({ Bucket: bucket }))
      expect(
        (await fetch(`${endpoint}/${bucket}/originals/x.jpg`, { body: 'x', method: 'PUT' })).status,
      ).toBe(200)
      expect(await (await fetch(`${endpoint}/${bucket}/originals/x.jpg`)).text()).toBe('x')
      expect((await fetch(`${endpoint}/${bucket}?list-type=2`)).status).toBe(200)
      expect(
        (await fetch(`${endpoint}/${bucket}/originals/x.jpg`, { method: 'DELETE' })).status,
      ).toBe(204)
    } finally {
      tests.destroy()
    }
  })
})
