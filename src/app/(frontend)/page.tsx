import config from '@payload-config'
import Link from 'next/link'
import { getPayload } from 'payload'

export const dynamic = 'force-dynamic'

type Image = {
  alt?: null | string
  avifSrcSet?: null | string
  height?: null | number
  placeholder?: null | string
  srcSet?: null | string
  url?: null | string
  width?: null | number
}

/** Two cards side by side on a phone; about 300 px in the grid on wider screens. */
const CARD_SIZES = '(max-width: 520px) calc(50vw - 22px), 300px'
/** The featured product is a card on a phone and spans the whole page from 900 px on. */
const FEATURED_SIZES =
  '(max-width: 520px) calc(50vw - 22px), (max-width: 899px) 300px, min(1168px, calc(100vw - 32px))'

const STYLES = `
main { box-sizing: border-box; font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 16px; }
.grid { display: grid; gap: 12px; grid-template-columns: repeat(2, minmax(0, 1fr)); list-style: none; padding: 0; }
.grid img { background-size: cover; display: block; height: auto; width: 100%; }
@media (min-width: 521px) { .grid { grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); } }
@media (min-width: 900px) { .featured { grid-column: 1 / -1; } }
`

/**
 * An image from the plugin: `srcSet` lists the variants and the main WebP (and `avifSrcSet` the
 * same widths in AVIF, when the collection stores them), so the browser fetches the smallest one
 * that fills the card; the blurred placeholder shows until it arrives.
 */
const Picture = ({
  image,
  label,
  sizes = CARD_SIZES,
}: {
  image: unknown
  label: string
  sizes?: string
}) => {
  if (!image || typeof image !== 'object') return null
  const { alt, avifSrcSet, height, placeholder, srcSet, url, width } = image as Image
  if (!url) return null
  const img = (
    // eslint-disable-next-line @next/next/no-img-element
    <img
      alt={alt || label}
      decoding="async"
      height={height ?? undefined}
      loading="lazy"
      sizes={srcSet ? sizes : undefined}
      src={url}
      srcSet={srcSet || undefined}
      style={placeholder ? { backgroundImage: `url("${placeholder}")` } : undefined}
      width={width ?? undefined}
    />
  )
  if (!avifSrcSet) return img
  // AVIF for browsers that decode it (smaller at the same quality), the WebP srcSet for the rest.
  return (
    <picture>
      <source sizes={sizes} srcSet={avifSrcSet} type="image/avif" />
      {img}
    </picture>
  )
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
            <Picture image={category.image} label={category.name} />
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
            <Picture
              image={product.image}
              label={product.name}
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
