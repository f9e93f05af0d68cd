/**
 * Demo content for `npm run dev` on an empty database: an admin login and a few categories and
 * products whose images are generated here (no downloads).
 */
import type { Payload } from 'payload'
import sharp from 'sharp'

export const devAdmin = (env: Record<string, string | undefined> = process.env) => ({
  email: env.DEV_ADMIN_EMAIL || 'admin@example.com',
  password: env.DEV_ADMIN_PASSWORD || 'admin-password',
})

/** A smooth two-colour gradient photo-like JPEG, generated from raw pixels. */
export const gradientJPEG = async (
  width: number,
  height: number,
  from: [number, number, number],
  to: [number, number, number],
): Promise<Buffer> => {
  const pixels = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2
      const wave = 0.5 + 0.5 * Math.sin((x * y) / (width * 4))
      const i = (y * width + x) * 3
      for (let c = 0; c < 3; c++)
        pixels[i + c] = Math.round(from[c] + (to[c] - from[c]) * t * (0.85 + 0.15 * wave))
    }
  }
  return sharp(pixels, { raw: { channels: 3, height, width } })
    .jpeg({ quality: 90 })
    .toBuffer()
}

const CATEGORIES = [
  {
    colours: [
      [30, 90, 160],
      [120, 200, 230],
    ],
    name: 'Outdoor',
  },
  {
    colours: [
      [160, 60, 30],
      [240, 190, 90],
    ],
    name: 'Kitchen',
  },
  {
    colours: [
      [40, 120, 60],
      [190, 230, 140],
    ],
    name: 'Garden',
  },
] as const

const PRODUCTS = [
  { category: 0, name: 'Trail tent', price: 249 },
  { category: 0, name: 'Camping stove', price: 59 },
  { category: 1, name: 'Cast-iron pan', price: 45 },
  { category: 1, name: 'Chef knife', price: 89 },
  { category: 2, name: 'Watering can', price: 19 },
  { category: 2, name: 'Pruning shears', price: 29 },
] as const

const upload = async (
  payload: Payload,
  collection: 'category-images' | 'product-images',
  name: string,
  data: Buffer,
  alt: string,
) =>
  payload.create({
    collection,
    data: { alt },
    file: { data, mimetype: 'image/jpeg', name, size: data.length },
  })

export const seedDevData = async (payload: Payload): Promise<void> => {
  const admin = devAdmin()
  if ((await payload.count({ collection: 'users' })).totalDocs === 0) {
    await payload.create({ collection: 'users', data: { ...admin, name: 'Admin' } })
    payload.logger.info(`Created the dev admin login ${admin.email}`)
  }
  if ((await payload.count({ collection: 'categories' })).totalDocs > 0) return

  const categoryIds: number[] = []
  for (const category of CATEGORIES) {
    const jpeg = await gradientJPEG(1600, 1200, [...category.colours[0]], [...category.colours[1]])
    const image = await upload(
      payload,
      'category-images',
      `${category.name.toLowerCase()}.jpg`,
      jpeg,
      category.name,
    )
    const doc = await payload.create({
      collection: 'categories',
      data: { image: image.id, name: category.name },
    })
    categoryIds.push(doc.id)
  }
  for (const [i, product] of PRODUCTS.entries()) {
    const from = CATEGORIES[product.category].colours[1]
    const jpeg = await gradientJPEG(2400, 1800, [...from], [20 + i * 30, 40, 200 - i * 25])
    const image = await upload(
      payload,
      'product-images',
      `product-${i + 1}.jpg`,
      jpeg,
      product.name,
    )
    await payload.create({
      collection: 'products',
      data: {
        category: categoryIds[product.category],
        image: image.id,
        name: product.name,
        price: product.price,
      },
    })
  }
  payload.logger.info(`Seeded ${CATEGORIES.length} categories and ${PRODUCTS.length} products`)
}
