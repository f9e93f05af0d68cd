import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { postgresAdapter } from '@payloadcms/db-postgres'
import { imageAssetsPlugin } from 'payload-image-assets'
import { buildConfig } from 'payload'
import sharp from 'sharp'

import { Categories } from './src/collections/Categories'
import { migrations } from './src/migrations'
import { Products } from './src/collections/Products'
import { Users } from './src/collections/Users'
import { seedDevData } from './src/dev/seed'

const dirname = path.dirname(fileURLToPath(import.meta.url))
const production = process.env.NODE_ENV === 'production'
/** Alt text is required for product images and media (IMAGE_REQUIRE_ALT=false switches that off). */
const requireAlt = process.env.IMAGE_REQUIRE_ALT !== 'false'

const secret =
  process.env.PAYLOAD_SECRET ?? (production ? undefined : 'dev-only-secret-not-for-production')
if (!secret) throw new Error('PAYLOAD_SECRET must be set in production.')

export default buildConfig({
  admin: {
    // No Gravatar: the admin must not call third-party hosts.
    avatar: 'default',
    importMap: { baseDir: path.resolve(dirname, 'src') },
    user: Users.slug,
  },
  collections: [Users, Categories, Products],
  db: postgresAdapter({
    // Production runs the committed migrations when it starts (development and the tests push
    // the schema instead). After changing a collection or upgrading the plugin:
    // `npx payload migrate:create <name>`; see the README's "Production".
    migrationDir: path.resolve(dirname, 'src/migrations'),
    pool: {
      connectionString: process.env.DATABASE_URI,
      // Deadlines on the database too: a request that cannot get a connection within 30 s is
      // answered 503 (not left waiting for ever), and a connection left idle in a transaction
      // for a minute (a stalled client of it) is closed by the server, releasing its locks.
      connectionTimeoutMillis: 30_000,
      idle_in_transaction_session_timeout: 60_000,
    },
    prodMigrations: migrations,
  }),
  onInit: async (payload) => {
    if (!production && process.env.IMAGE_ASSETS_DEV_SEED === '1') await seedDevData(payload)
  },
  plugins: [
    // Storage settings come from S3_* and MEDIA_BASE_URL; see the README.
    imageAssetsPlugin({
      // The admin sends originals straight to the bucket (a private staging prefix), so big
      // phone photos never cross a hosting platform's request-size limit; see the README.
      directUploads: true,
      collections: {
        // An avatar is shown at 240 x 200 at most: a phone photo (15 MB) is the most it needs.
        avatars: { limits: { maxBytes: 15 * 1024 * 1024 } },
        // The storefront's product pictures offer AVIF to browsers that take it, WebP to the rest;
        // their originals are kept (privately) so that a redesign can re-process them from source.
        // Product tiles are squares cut around the focal point the editor sets; alt text is required.
        'product-images': {
          avif: true,
          keepOriginal: true,
          requireAlt,
          shapes: { square: { height: 600, variants: [300], width: 600 } },
        },
        // The storefront's Open Graph image is the newest media image's social card.
        media: { requireAlt, shapes: { social: { height: 630, width: 1200 } } },
      },
    }),
  ],
  secret,
  sharp,
  telemetry: false,
  typescript: { outputFile: path.resolve(dirname, 'src/payload-types.ts') },
  // UPLOAD_TEMP_DIR: uploads are streamed to files there instead of being held in memory.
  ...(process.env.UPLOAD_TEMP_DIR
    ? { upload: { tempFileDir: process.env.UPLOAD_TEMP_DIR, useTempFiles: true } }
    : {}),
})
