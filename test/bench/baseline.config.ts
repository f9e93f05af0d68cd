/**
 * Payload's own upload path, configured by hand for the same output as the plugin: the four
 * presets as `resizeOptions` (fit inside, never enlarge) and `formatOptions` (WebP, same quality,
 * effort 6), on the same database server and S3 server through `@payloadcms/storage-s3`.
 */
import { postgresAdapter } from '@payloadcms/db-postgres'
import { s3Storage } from '@payloadcms/storage-s3'
import { BUILT_IN_COLLECTIONS } from 'payload-image-assets'
import { buildConfig, type CollectionConfig } from 'payload'
import sharp from 'sharp'

/** With BENCH_HAND_SIZES=1: `imageSizes` for the plugin's variant widths (below the box), WebP, same quality and effort. */
const withSizes = process.env.BENCH_HAND_SIZES === '1'

const collections: CollectionConfig[] = Object.entries(BUILT_IN_COLLECTIONS).map(
  ([slug, { labels, preset, variantWidths }]) => ({
    slug,
    access: { create: () => true, read: () => true },
    fields: [],
    labels,
    upload: {
      crop: false,
      focalPoint: false,
      formatOptions: { format: 'webp', options: { effort: 6, quality: preset.quality } },
      imageSizes: withSizes
        ? variantWidths
            .filter((w) => w < preset.width)
            .map((w) => ({
              formatOptions: {
                format: 'webp' as const,
                options: { effort: 6, quality: preset.quality },
              },
              name: `w${w}`,
              width: w,
              withoutEnlargement: true,
            }))
        : undefined,
      mimeTypes: ['image/jpeg', 'image/png', 'image/webp'],
      resizeOptions: {
        fit: 'inside',
        height: preset.height,
        width: preset.width,
        withoutEnlargement: true,
      },
    },
  }),
)

export default buildConfig({
  collections,
  db: postgresAdapter({ pool: { connectionString: process.env.DATABASE_URI } }),
  plugins: [
    s3Storage({
      bucket: process.env.S3_BUCKET!,
      collections: Object.fromEntries(
        collections.map(({ slug }) => [slug, { disablePayloadAccessControl: true, prefix: slug }]),
      ),
      config: {
        credentials: {
          accessKeyId: process.env.S3_ACCESS_KEY_ID!,
          secretAccessKey: process.env.S3_SECRET_ACCESS_KEY!,
        },
        endpoint: process.env.S3_ENDPOINT,
        forcePathStyle: true,
        region: 'us-east-1',
      },
    }),
  ],
  secret: 'bench-only',
  sharp,
  telemetry: false,
})
