import config from '@payload-config'
import { getPayload } from 'payload'

export const dynamic = 'force-dynamic'

type Image = {
  alt?: null | string
  height?: null | number
  placeholder?: null | string
  srcSet?: null | string
  url?: null | string
  width?: null | number
}

/** A card is the full width of a phone (one column) and about 240 px in the grid on wider screens. */
const CARD_SIZES = '(max-width: 520px) calc(100vw - 32px), 240px'

/**
 * An image from the plugin: `srcSet` lists the variants and the main WebP, so the browser fetches
 * the smallest one that fills the card; the blurred placeholder shows until it arrives.
 */
const Picture = ({ image, label }: { image: unknown; label: string }) => {
  if (!image || typeof image !== 'object') return null
  const { alt, height, placeholder, srcSet, url, width } = image as Image
  if (!url) return null
  return (
    // eslint-disable-next-line @next/next/no-img-element
    <img
      alt={alt || label}
      decoding="async"
      height={height ?? undefined}
      loading="lazy"
      sizes={srcSet ? CARD_SIZES : undefined}
      src={url}
      srcSet={srcSet || undefined}
      style={{
        backgroundImage: placeholder ? `url("${placeholder}")` : undefined,
        backgroundSize: 'cover',
        height: 'auto',
        maxWidth: '100%',
        width: '100%',
      }}
      width={width ?? undefined}
    />
  )
}

const Home = async () => {
  const payload = await getPayload({ config })
  const [categories, products] = await Promise.all([
    payload.find({ collection: 'categories', depth: 1, limit: 50 }),
    payload.find({ collection: 'products', depth: 1, limit: 100 }),
  ])
  return (
    <main>
      <h1>Demo store</h1>
      <p>
        Every image below was uploaded through the admin or API and stored as WebP in the bucket. <a href="/admin">Open the admin</a>.
      </p>
      <h2>Categories</h2>
      <ul style={{ display: 'grid', gap: 16, gridTemplateColumns: 'repeat(auto-fill, minmax(220px, 1fr))', listStyle: 'none', padding: 0 }}>
        {categories.docs.map((category) => (
          <li key={category.id}>
            <Picture image={category.image} label={category.name} />
            <strong>{category.name}</strong>
          </li>
        ))}
      </ul>
      <h2>Products</h2>
      <ul style={{ display: 'grid', gap: 16, gridTemplateColumns: 'repeat(auto-fill, minmax(220px, 1fr))', listStyle: 'none', padding: 0 }}>
        {products.docs.map((product) => (
          <li key={product.id}>
            <Picture image={product.image} label={product.name} />
            <strong>{product.name}</strong>
            {typeof product.price === 'number' ? <span> · {product.price.toFixed(2)}</span> : null}
          </li>
        ))}
      </ul>
    </main>
  )
}

export default Home
