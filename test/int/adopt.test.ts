/**
 * Adopting the app's own upload collection: a `media` collection like Payload's blank template's
 * (its own `alt`, a `credit` field and hooks) gets the plugin's pipeline and keeps what is its own;
 * documents it had before the plugin are listed as stale and converted by re-optimization; what
 * cannot be merged is refused with a message naming it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'

import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { postgresAdapter } from '@payloadcms/db-postgres'
import { imageAssetsPlugin, reconcile, reoptimizeAll, runtimeOf } from 'payload-image-assets'
import { buildConfig, type CollectionConfig, getPayload, type Payload } from 'payload'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'

import { dropDatabase, ensureDatabase, S3RVER_CREDENTIALS } from '../../src/dev/services'
import { stageDirectUpload, stagedUploadForm } from '../helpers/app'
import { serveAPI } from '../helpers/serve'

type Quiet = {
  on: (event: string, listener: () => void) => void
  removeAllListeners: (event: string) => void
}

const calls: string[] = []

/** The app's own collection, as a Payload user writes it (blank template plus a field and hooks). */
const appMedia = (staticDir: string): CollectionConfig => ({
  slug: 'media',
  // Editors may change only the images credited to Ada: a `where` access, as apps write them.
  access: {
    read: () => true,
    update: ({ req }) => (req.user ? { credit: { equals: 'ADA' } } : false),
  },
  admin: { description: 'The team’s own media library' },
  fields: [
    { name: 'alt', type: 'text', required: true },
    { name: 'credit', type: 'text' },
  ],
  hooks: {
    afterChange: [
      ({ doc }) => {
        calls.push(`afterChange:${doc.credit}`)
      },
    ],
    beforeChange: [
      ({ data }) => {
        calls.push('beforeChange')
        return {
          ...data,
          credit: typeof data.credit === 'string' ? data.credit.toUpperCase() : data.credit,
        }
      },
    ],
  },
  labels: { plural: 'Team media', singular: 'Team medium' },
  // Without focal point columns to drop, schema push adds the plugin's columns without asking
  // whether one is a rename (an app with them answers "create column" in `migrate:create`).
  upload: { focalPoint: false, staticDir },
})

const users: CollectionConfig = { slug: 'users', auth: true, fields: [] }

const photo = () =>
  sharp({ create: { background: '#3a7', channels: 3, height: 900, width: 1400 } })
    .composite([
      {
        input: Buffer.from(
          '<svg width="1400" height="900"><circle cx="700" cy="450" r="300" fill="#c33"/></svg>',
        ),
      },
    ])
    .jpeg({ quality: 90 })
    .toBuffer()

/** A new user of the app, logged in over REST: their token. */
const newUserToken = async (payload: Payload, baseURL: string, email: string): Promise<string> => {
  await payload.create({ collection: 'users', data: { email, password: 'pw-123456' } })
  const login = await fetch(`${baseURL}/api/users/login`, {
    body: JSON.stringify({ email, password: 'pw-123456' }),
    headers: { 'Content-Type': 'application/json' },
    method: 'POST',
  })
  return ((await login.json()) as { token: string }).token
}

describe('adopting the app’s own upload collection', () => {
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
  const database = `pia_test_adopt_${id}`
  const bucket = `test-adopt-${id}`
  let databaseURI: string
  let staticDir: string
  let s3: S3Client
  const storage = () => ({
    accessKeyId: S3RVER_CREDENTIALS.accessKeyId,
    bucket,
    endpoint: inject('s3Endpoint'),
    forcePathStyle: true,
    secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey,
  })
  const config = (withPlugin: boolean, media = appMedia(staticDir)) =>
    buildConfig({
      collections: [users, media],
      db: postgresAdapter({ pool: { connectionString: databaseURI } }),
      plugins: withPlugin
        ? [
            imageAssetsPlugin({
              cleanup: { intervalSeconds: 0 },
              collections: { avatars: false, 'category-images': false, 'product-images': false },
              storage: storage(),
            }),
          ]
        : [],
      secret: `adopt-${id}`,
      sharp,
      telemetry: false,
    })

  beforeAll(async () => {
    const adminURI = inject('pgAdminURI')
    await ensureDatabase(adminURI, database)
    const uri = new URL(adminURI)
    uri.pathname = `/${database}`
    databaseURI = uri.toString()
    staticDir = await mkdtemp(path.join(tmpdir(), 'pia-adopt-'))
    s3 = new S3Client({
      credentials: S3RVER_CREDENTIALS,
      endpoint: inject('s3Endpoint'),
      forcePathStyle: true,
      region: 'us-east-1',
    })
    await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  })

  afterAll(async () => {
    await dropDatabase(inject('pgAdminURI'), database).catch(() => undefined)
    await rm(staticDir, { force: true, recursive: true })
  })

  // Payload's destroy() leaves the adapter's pool open, with a client it keeps checked out; the
  // database is dropped with its connections at the end, so their termination is expected.
  const quietPool = (payload: Payload) => {
    const pool = (payload.db as unknown as { pool?: Quiet & { _clients?: Quiet[] } }).pool
    pool?.on('error', () => undefined)
    // The adapter's own held client rethrows any error but a reset; its end is expected here.
    for (const client of pool?._clients ?? []) {
      client.removeAllListeners('error')
      client.on('error', () => undefined)
    }
  }

  const listKeys = async () =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [])
      .map((o) => o.Key)
      .sort()

  const boot = async (withPlugin: boolean): Promise<Payload> => {
    // getPayload caches one instance per key. The app with the plugin takes the default key, the
    // one the REST handlers look up; the app before it has its own.
    return getPayload({
      config: await config(withPlugin),
      ...(withPlugin ? {} : { key: `adopt-before-${id}` }),
    })
  }

  it('keeps the app’s fields, hooks, labels and access; uploads become WebP with variants; old documents are converted', async () => {
    // Before the plugin: the app stores its media on local disk, as Payload does by default.
    const before = await boot(false)
    const legacy = await before.create({
      collection: 'media',
      data: { alt: 'A red circle', credit: 'old' },
      file: { data: await photo(), mimetype: 'image/jpeg', name: 'circle.jpg', size: 0 },
    } as never)
    expect((legacy as { filename: string }).filename).toBe('circle.jpg')
    quietPool(before)
    await before.destroy()

    // The plugin is added; the collection keeps its slug, fields, hooks and labels.
    const payload = await boot(true)
    try {
      const media = payload.config.collections.find((c) => c.slug === 'media')!
      expect(media.labels).toEqual({ plural: 'Team media', singular: 'Team medium' })
      expect(media.admin.description).toBe('The team’s own media library')
      const names = media.fields.map((f) => ('name' in f ? f.name : ''))
      expect(names).toEqual(
        expect.arrayContaining(['alt', 'credit', 'variants', 'originalFilename']),
      )
      expect(names.filter((n) => n === 'alt')).toHaveLength(1)
      expect(media.fields.find((f) => 'name' in f && f.name === 'alt')).toMatchObject({
        required: true,
      })

      // An upload through REST as an editor.
      const { baseURL, server } = await serveAPI(payload.config)
      try {
        const token = await newUserToken(payload, baseURL, 'e@example.com')
        calls.length = 0
        const form = new FormData()
        form.append(
          'file',
          new Blob([new Uint8Array(await photo())], { type: 'image/jpeg' }),
          'team.jpg',
        )
        form.append('_payload', JSON.stringify({ alt: 'The team', credit: 'ada' }))
        const response = await fetch(`${baseURL}/api/media`, {
          body: form,
          headers: { Authorization: `JWT ${token}` },
          method: 'POST',
        })
        const body = (await response.json()) as { doc: Record<string, any> }
        expect(response.status, JSON.stringify(body)).toBe(201)
        expect(body.doc.mimeType).toBe('image/webp')
        expect(body.doc.filename).toMatch(/\.webp$/)
        expect(body.doc.originalFilename).toBe('team.jpg')
        expect(body.doc.variants.length).toBeGreaterThan(0)
        // The app's field and hooks still work, in order around the plugin's.
        expect(body.doc.credit).toBe('ADA')
        expect(calls).toEqual(['beforeChange', 'afterChange:ADA'])
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'media/' }))
        const keys = (listed.Contents ?? []).map((o) => o.Key)
        expect(keys).toContain(`media/${body.doc.filename}`)
        for (const v of body.doc.variants) expect(keys).toContain(`media/${v.filename}`)

        // The app's `alt` is still required: the app's validation runs with the plugin's pipeline.
        const noAlt = new FormData()
        noAlt.append(
          'file',
          new Blob([new Uint8Array(await photo())], { type: 'image/jpeg' }),
          'x.jpg',
        )
        noAlt.append('_payload', '{}')
        const refused = await fetch(`${baseURL}/api/media`, {
          body: noAlt,
          headers: { Authorization: `JWT ${token}` },
          method: 'POST',
        })
        expect(refused.status).toBe(400)
        expect(JSON.stringify(await refused.json())).toContain('alt')

        // The app's `where` access: a replacement of a document outside it, and of one that does
        // not exist, are both 403 (as Payload answers: the caller learns nothing of documents it
        // cannot change), before the file is read; nothing is stored. Inside it, a change is saved.
        const before = await listKeys()
        const imageWork = vi.spyOn(runtimeOf(payload).limiter, 'run')
        for (const target of [legacy.id, 987654]) {
          const replace = new FormData()
          replace.append(
            'file',
            new Blob([new Uint8Array(await photo())], { type: 'image/jpeg' }),
            'other.jpg',
          )
          replace.append('_payload', '{}')
          const patched = await fetch(`${baseURL}/api/media/${target}`, {
            body: replace,
            headers: { Authorization: `JWT ${token}` },
            method: 'PATCH',
          })
          expect(patched.status, `PATCH /api/media/${target}`).toBe(403)
        }
        expect(imageWork).not.toHaveBeenCalled()
        imageWork.mockRestore()
        expect(await listKeys()).toEqual(before)
        const own = await fetch(`${baseURL}/api/media/${body.doc.id}`, {
          body: JSON.stringify({ alt: 'The whole team' }),
          headers: { Authorization: `JWT ${token}`, 'Content-Type': 'application/json' },
          method: 'PATCH',
        })
        expect(own.status).toBe(200)
      } finally {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }

      // The document from before the plugin is stale, and re-optimization converts it from the
      // file Payload's local storage kept.
      const report = await reoptimizeAll({
        collections: ['media'],
        payload,
        runtime: runtimeOf(payload),
      })
      expect(report.totals).toEqual([expect.objectContaining({ done: 1, failed: 0, total: 1 })])
      const converted = (await payload.findByID({
        collection: 'media',
        id: legacy.id,
        depth: 0,
      })) as Record<string, any>
      expect(converted.mimeType).toBe('image/webp')
      expect(converted.filename).toMatch(/\.webp$/)
      expect(converted.credit).toBe('OLD')
      expect(converted.fingerprint).toBeTruthy()
      const object = await fetch(
        converted.url.startsWith('http')
          ? converted.url
          : `${inject('s3Endpoint')}/${bucket}/media/${converted.filename}`,
      )
      expect(object.status).toBe(200)
      expect((await sharp(Buffer.from(await object.arrayBuffer())).metadata()).format).toBe('webp')
    } finally {
      quietPool(payload)
      await payload.destroy()
    }
  })

  it('with drafts and trash: a draft save with a new file or crop is refused before any image work, one that publishes or an update of an unpublished document takes it; an autosave (the admin sends the form’s file again) saves the fields and leaves the image; a trashed image keeps its objects', async () => {
    const drafts = `${database}_drafts`
    await ensureDatabase(inject('pgAdminURI'), drafts)
    const uri = new URL(inject('pgAdminURI'))
    uri.pathname = `/${drafts}`
    const media: CollectionConfig = {
      ...appMedia(staticDir),
      hooks: {},
      trash: true,
      versions: { drafts: { autosave: true } },
    }
    const draftsBucket = `${bucket}-drafts`
    await s3.send(new CreateBucketCommand({ Bucket: draftsBucket }))
    const payload = await getPayload({
      config: await buildConfig({
        collections: [users, media],
        db: postgresAdapter({ pool: { connectionString: uri.toString() } }),
        plugins: [
          imageAssetsPlugin({
            cleanup: { intervalSeconds: 1 },
            directUploads: true,
            collections: {
              avatars: false,
              'category-images': false,
              // The original kept: a resent file is told from a new one byte for byte.
              media: { keepOriginal: true },
              'product-images': false,
            },
            storage: { ...storage(), bucket: draftsBucket },
          }),
        ],
        secret: `drafts-${id}`,
        sharp,
        telemetry: false,
      }),
      key: `adopt-drafts-${id}`,
    })
    try {
      const file = async (name: string, another = false) => {
        const data = another
          ? await sharp(await photo())
              .flop()
              .jpeg()
              .toBuffer()
          : await photo()
        return { data, mimetype: 'image/jpeg', name, size: data.length }
      }
      const doc = (await payload.create({
        collection: 'media',
        data: { _status: 'published', alt: 'Published', credit: 'ADA' },
        file: await file('first.jpg'),
      } as never)) as Record<string, any>
      expect(doc.filename).toMatch(/\.webp$/)
      const imageWork = vi.spyOn(runtimeOf(payload).limiter, 'run')
      try {
        await expect(
          payload.update({
            collection: 'media',
            data: { alt: 'Draft' },
            draft: true,
            file: await file('second.jpg', true),
            id: doc.id,
          } as never),
        ).rejects.toMatchObject({
          message:
            "A new image, crop or focal point cannot be saved as a draft, because the image's files are not versioned. Nothing was saved to Team media; publish the change, or save the draft without it.",
          status: 400,
        })
        // "Save draft" in the view the image was uploaded in: the form sends that file again.
        const drafted = (await payload.update({
          collection: 'media',
          data: { alt: 'Drafted' },
          draft: true,
          file: await file('first.jpg'),
          id: doc.id,
        } as never)) as Record<string, any>
        expect([drafted.alt, drafted.filename]).toEqual(['Drafted', doc.filename])
        const autosaved = (await payload.update({
          autosave: true,
          collection: 'media',
          data: { alt: 'Autosaved' },
          draft: true,
          file: await file('second.jpg', true),
          id: doc.id,
        } as never)) as Record<string, any>
        expect(autosaved.alt).toBe('Autosaved')
        expect(autosaved.filename).toBe(doc.filename)
        expect(imageWork).not.toHaveBeenCalled()
      } finally {
        imageWork.mockRestore()
      }
      // The published document still has its image, and it was not touched.
      const published = (await payload.findByID({
        collection: 'media',
        depth: 0,
        id: doc.id,
      })) as Record<string, any>
      expect([published.alt, published.filename]).toEqual(['Published', doc.filename])

      // Trashed (the collection has `trash`), it keeps its objects: reconcile counts them as the
      // document's, and --fix deletes none of them.
      await payload.update({
        collection: 'media',
        data: { deletedAt: new Date().toISOString() },
        id: doc.id,
      } as never)
      const report = await reconcile({
        fix: true,
        graceMs: 0,
        payload,
        runtime: runtimeOf(payload),
      })
      expect(report.orphans).toEqual([])
      expect(report.missing).toEqual([])
      const left = await s3.send(new ListObjectsV2Command({ Bucket: draftsBucket }))
      expect((left.Contents ?? []).map((o) => o.Key).sort()).toEqual([...doc.objectKeys].sort())

      // Over REST, `?trash=true` reaches a trashed document as in Payload's own routes: it is
      // restored with its image; then deleted for good, its objects go.
      const { baseURL, server } = await serveAPI(payload.config, 0, `adopt-drafts-${id}`)
      try {
        const auth = {
          Authorization: `JWT ${await newUserToken(payload, baseURL, 'd@example.com')}`,
        }
        const restored = await fetch(`${baseURL}/api/media/${doc.id}?trash=true`, {
          body: JSON.stringify({ deletedAt: null }),
          headers: { ...auth, 'Content-Type': 'application/json' },
          method: 'PATCH',
        })
        expect(restored.status, await restored.clone().text()).toBe(200)
        const back = (await payload.findByID({ collection: 'media', id: doc.id })) as Record<
          string,
          any
        >
        expect([back.deletedAt ?? null, back.filename]).toEqual([null, doc.filename])

        // A new image uploaded straight to the bucket and published; "Save draft" in the same
        // view sends that staged upload again (used and gone by now): the draft keeps the image.
        const bytes = (await file('direct.jpg', true)).data
        const key = await stageDirectUpload(baseURL, 'media', auth, {
          bytes,
          filename: 'direct.jpg',
        })
        const claim = (query: string, fields: Record<string, unknown>) =>
          fetch(`${baseURL}/api/media/${doc.id}${query}`, {
            body: stagedUploadForm(key, { filename: 'direct.jpg', size: bytes.length }, fields),
            headers: auth,
            method: 'PATCH',
          })
        // As the admin's "Publish changes" sends it.
        const published = await claim('', { _status: 'published', alt: 'Direct' })
        expect(published.status, await published.clone().text()).toBe(200)
        const publishedDoc = ((await published.json()) as { doc: Record<string, any> }).doc
        expect(publishedDoc.filename).not.toBe(doc.filename)
        const drafted = await claim('?draft=true', { alt: 'Direct, drafted' })
        expect(drafted.status, await drafted.clone().text()).toBe(200)
        const draftDoc = ((await drafted.json()) as { doc: Record<string, any> }).doc
        expect([draftDoc.alt, draftDoc.filename]).toEqual([
          'Direct, drafted',
          publishedDoc.filename,
        ])
        // A draft save that sets `_status: 'published'` publishes: its new image is taken.
        const republished = (await payload.update({
          collection: 'media',
          data: { _status: 'published', alt: 'Republished' },
          draft: true,
          file: await file('third.jpg'),
          id: doc.id,
        } as never)) as Record<string, any>
        expect(republished._status).toBe('published')
        expect(republished.filename).toMatch(/\.webp$/)
        expect(republished.filename).not.toBe(publishedDoc.filename)
        // A new crop in a draft: refused too, before the image is made again.
        const rerender = vi.spyOn(runtimeOf(payload).limiter, 'run')
        try {
          await expect(
            payload.update({
              collection: 'media',
              data: { crop: { height: 100, width: 50, x: 0, y: 0 } },
              draft: true,
              id: doc.id,
            } as never),
          ).rejects.toMatchObject({
            message: expect.stringMatching(/cannot be saved as a draft/),
            status: 400,
          })
          expect(rerender).not.toHaveBeenCalled()
        } finally {
          rerender.mockRestore()
        }
        // Unpublished, the document itself is a draft: an update without the draft flag writes
        // the document (not a version only), so its new image is taken.
        await payload.update({
          collection: 'media',
          data: { _status: 'draft' },
          id: doc.id,
        } as never)
        const unpublishedWrite = (await payload.update({
          collection: 'media',
          data: { alt: 'Unpublished, new image' },
          file: await file('fourth.jpg', true),
          id: doc.id,
        } as never)) as Record<string, any>
        expect(unpublishedWrite._status).toBe('draft')
        expect(unpublishedWrite.filename).not.toBe(republished.filename)
        const stored = (await payload.findByID({
          collection: 'media',
          depth: 0,
          id: doc.id,
        })) as Record<string, any>
        expect(stored.filename).toBe(unpublishedWrite.filename)
        await payload.update({
          collection: 'media',
          data: { deletedAt: new Date().toISOString() },
          id: doc.id,
        } as never)
        const deleted = await fetch(`${baseURL}/api/media/${doc.id}?trash=true`, {
          headers: auth,
          method: 'DELETE',
        })
        expect(deleted.status, await deleted.clone().text()).toBe(200)
        await vi.waitFor(
          async () => {
            const listed = await s3.send(new ListObjectsV2Command({ Bucket: draftsBucket }))
            expect(listed.Contents ?? []).toEqual([])
          },
          { interval: 200, timeout: 20_000 },
        )
      } finally {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    } finally {
      quietPool(payload)
      await payload.destroy()
      await dropDatabase(inject('pgAdminURI'), drafts).catch(() => undefined)
    }
  })

  it('refuses what cannot be merged, naming it', async () => {
    const notUpload: CollectionConfig = { slug: 'media', fields: [{ name: 'title', type: 'text' }] }
    await expect(config(true, notUpload)).rejects.toThrow(
      'the collection "media" in your config is not an upload collection',
    )
    const sized: CollectionConfig = {
      ...appMedia(staticDir),
      upload: { imageSizes: [{ name: 'thumb', width: 100 }] },
    }
    await expect(config(true, sized)).rejects.toThrow(
      "sets Payload's own image processing (upload.imageSizes)",
    )
    const clash: CollectionConfig = {
      ...appMedia(staticDir),
      fields: [{ name: 'variants', type: 'text' }],
    }
    await expect(config(true, clash)).rejects.toThrow('has a field "variants"')
  })

  it('lists images by their original names, also with the app’s own `filename` field', async () => {
    const cellOf = async (media: CollectionConfig) => {
      const built = await config(true, media)
      const fields = built.collections.find((c) => c.slug === 'media')!.fields
      const filename = fields.find((f) => 'name' in f && f.name === 'filename')
      const admin = filename?.admin as
        { components?: { Cell?: unknown }; description?: unknown } | undefined
      return { cell: admin?.components?.Cell, description: admin?.description }
    }
    const cell = 'payload-image-assets/client#ImageFileCell'
    expect((await cellOf(appMedia(staticDir))).cell).toBe(cell)
    const withOwn: CollectionConfig = {
      ...appMedia(staticDir),
      fields: [
        ...appMedia(staticDir).fields,
        { name: 'filename', type: 'text', admin: { description: 'The stored file' } },
      ],
    }
    // The app's field stays (Payload merges it with its own) and gets the plugin's cell.
    expect(await cellOf(withOwn)).toEqual({ cell, description: 'The stored file' })
  })
})
