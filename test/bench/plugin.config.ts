/**
 * The reference app's collections and plugin, with the plugin's outputs chosen for the benchmark
 * by BENCH_PLUGIN_OUTPUTS: `main` (one WebP per upload, what the seed and Payload by hand produce,
 * so the comparison is like for like) or `variants` (the main WebP, the responsive variants and the
 * placeholder, what every upload gets by default). No AVIF and no kept originals in either.
 */
import { postgresAdapter } from '@payloadcms/db-postgres'
import { BUILT_IN_COLLECTIONS, imageAssetsPlugin } from 'payload-image-assets'
import { buildConfig } from 'payload'
import sharp from 'sharp'

import { Categories } from '../../src/collections/Categories'
import { Products } from '../../src/collections/Products'
import { Users } from '../../src/collections/Users'

const mainOnly = process.env.BENCH_PLUGIN_OUTPUTS !== 'variants'

export default buildConfig({
  admin: { user: Users.slug },
  collections: [Users, Categories, Products],
  db: postgresAdapter({ pool: { connectionString: process.env.DATABASE_URI } }),
  plugins: [
    imageAssetsPlugin({
      collections: Object.fromEntries(
        Object.keys(BUILT_IN_COLLECTIONS).map((slug) => [
          slug,
          mainOnly ? { avif: false, placeholder: false, variants: false } : { avif: false },
        ]),
      ),
    }),
  ],
  secret: 'bench-only',
  sharp,
  telemetry: false,
})
