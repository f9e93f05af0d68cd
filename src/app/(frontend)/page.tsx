import config from '@payload-config'
import type { Metadata } from 'next'
import Link from 'next/link'
import { getPayload } from 'payload'
import { Picture } from 'payload-image-assets/react'
import type { PictureSource } from 'payload-image-assets/react'

export const dynamic = 'force-dynamic'

/** Two cards side by side on a phone; about 300 px in the grid on wider screens. */
const CARD_SIZES = '(max-width: 520px) calc(50vw - 22px), 300px'
/** The featured product is a card on a phone and spans the whole page from 900 px on. */
const FEATURED_SIZES =
  '(max-width: 520px) calc(50vw - 22px), (max-width: 899px) 300px, min(1168px, calc(100vw - 32px))'

const STYLES = `
main { box-sizing: border-box; font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 16px; }
.grid { display: grid; gap: 12px; grid-template-columns: repeat(2, minmax(0, 1fr)); list-style: none; padding: 0; }
.grid img { display: block; height: auto; width: 100%; }
@media (min-width: 521px) { .grid { grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); } }
@media (min-width: 900px) { .featured { grid-column: 1 / -1; } }
`

/** The editor's alt text, or the name of what the image shows when the editor left it empty. */
const altOf = (image: PictureSource, name: string) =>
  (image && typeof image === 'object' && image.alt) || name

/** The Open Graph image: the newest media image's `social` shape (1200 x 630, cut around its focal point). */
export const generateMetadata = async (): Promise<Metadata> => {
  const payload = await getPayload({ config })
  const { docs } = await payload.find({
    collection: 'media',
    depth: 0,
    limit: 1,
    sort: '-createdAt',
    where: { filename: { exists: true } },
  })
  const social = docs[0]?.shapes?.social
  if (!social?.url) return { title: 'Demo store' }
  return {
    openGraph: {
      images: [
        {
          alt: docs[0].alt ?? undefined,
          height: social.height,
          url: social.url,
          width: social.width,
        },
      ],
    },
    title: 'Demo store',
  }
}

const Home = async () => {
  const payload = await getPayload({ config })
  const [categories, products] = await Promise.all([
    payload.find({ collection: 'categories', depth: 1, limit: 50, sort: 'name' }),
    payload.find({ collection: 'products', depth: 1, limit: 100, sort: 'createdAt' }),
  ])
  return (
    <main>
      <style>{STYLES}</style>
      <h1>Demo store</h1>
      <p>
        Every image below was uploaded through the admin or API and stored as WebP in the bucket,
        with smaller variants for small screens. <Link href="/admin">Open the admin</Link>.
      </p>
      <h2>Categories</h2>
      <ul className="grid">
        {categories.docs.map((category) => (
          <li key={category.id}>
            <Picture
              alt={altOf(category.image, category.name)}
              image={category.image}
              sizes={CARD_SIZES}
            />
            <strong>{category.name}</strong>
          </li>
        ))}
      </ul>
      <h2>Products</h2>
      <ul className="grid">
        {products.docs.map((product, index) => (
          <li
            className={index === 0 ? 'featured' : undefined}
            data-product={product.id}
            key={product.id}
          >
            {/* The featured product is the largest image on the page, its LCP: loaded first. The
                other cards are square tiles, cut around the focal point the editor set. */}
            <Picture
              alt={altOf(product.image, product.name)}
              image={product.image}
              priority={index === 0}
              shape={index === 0 ? undefined : 'square'}
              sizes={index === 0 ? FEATURED_SIZES : CARD_SIZES}
            />
            <strong>{product.name}</strong>
            {typeof product.price === 'number' ? <span> · {product.price.toFixed(2)}</span> : null}
          </li>
        ))}
      </ul>
    </main>
  )
}

export default Home
