/**
 * `Picture` and `getImageProps` from `payload-image-assets/react`, rendered on the server the way a
 * React Server Component is (`renderToStaticMarkup`), and the markup read back element by element.
 */
import type { ReactElement } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'

import { getImageProps, Picture } from 'payload-image-assets/react'
import type { PictureSource } from 'payload-image-assets/react'

import type { Media, Product, ProductImage } from '../../src/payload-types'

// The app's generated types are accepted as they are, without a cast (checked by `tsc --noEmit`).
const _fromProduct = (product: Product): PictureSource => product.image
const _fromImage = (image: ProductImage | Media): PictureSource => image

const PLACEHOLDER =
  'data:image/webp;base64,UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA'

const image = {
  alt: 'Oak chair',
  avif: [
    {
      filename: 'a-320.avif',
      filesize: 900,
      height: 240,
      url: 'https://cdn.test/a-320.avif',
      width: 320,
    },
    {
      filename: 'a.avif',
      filesize: 9000,
      height: 768,
      url: 'https://cdn.test/a.avif',
      width: 1024,
    },
  ],
  avifSrcSet: 'https://cdn.test/a-320.avif 320w, https://cdn.test/a.avif 1024w',
  filename: 'a.webp',
  filesize: 12000,
  height: 768,
  id: 7,
  mimeType: 'image/webp',
  originalFilename: 'chair.jpg',
  placeholder: PLACEHOLDER,
  srcSet:
    'https://cdn.test/a-320.webp 320w, https://cdn.test/a-640.webp 640w, https://cdn.test/a.webp 1024w',
  url: 'https://cdn.test/a.webp',
  variants: [
    {
      filename: 'a-320.webp',
      filesize: 1000,
      height: 240,
      url: 'https://cdn.test/a-320.webp',
      width: 320,
    },
    {
      filename: 'a-640.webp',
      filesize: 4000,
      height: 480,
      url: 'https://cdn.test/a-640.webp',
      width: 640,
    },
  ],
  width: 1024,
}

const webpOnly = { ...image, avif: null, avifSrcSet: null }

type Element = { attributes: Record<string, string>; tag: string }

const unescape = (value: string) =>
  value
    .replaceAll('&quot;', '"')
    .replaceAll('&#x27;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&')

/** The opening tags of the markup in order, attribute names lower-cased as HTML reads them. */
const elements = (markup: string): Element[] =>
  [...markup.matchAll(/<([a-z]+)((?:\s+[^\s=>/]+(?:="[^"]*")?)*)\s*\/?>/g)].map(
    ([, tag, rest]) => ({
      attributes: Object.fromEntries(
        [...rest.matchAll(/([^\s=>/]+)(?:="([^"]*)")?/g)].map(([, name, value]) => [
          name.toLowerCase(),
          unescape(value ?? ''),
        ]),
      ),
      tag,
    }),
  )

const render = (node: ReactElement) => {
  const markup = renderToStaticMarkup(node)
  const all = elements(markup)
  const img = all.find((e) => e.tag === 'img')
  return { all, img: img!.attributes, markup, tags: all.map((e) => e.tag) }
}

describe('Picture', () => {
  it('with AVIF: a <source type="image/avif"> with its srcSet and sizes comes first, then the WebP <img>', () => {
    const { all, img, markup, tags } = render(<Picture image={image} sizes="300px" />)
    expect(tags).toEqual(['picture', 'source', 'img'])
    expect(all[1].attributes).toEqual({
      sizes: '300px',
      srcset: image.avifSrcSet,
      type: 'image/avif',
    })
    expect(img.src).toBe(image.url)
    expect(img.srcset).toBe(image.srcSet)
    expect(img.sizes).toBe('300px')
    expect(markup).toMatch(/^<picture><source [^>]*\/><img [^>]*\/><\/picture>$/)
  })

  it('without AVIF: no <source>, only the <img> with the WebP srcSet', () => {
    const { img, tags } = render(<Picture image={webpOnly} sizes="50vw" />)
    expect(tags).toEqual(['picture', 'img'])
    expect(img.srcset).toBe(image.srcSet)
    expect(img.sizes).toBe('50vw')
  })

  it('sizes is 100vw by default when there is a srcSet, and absent without one', () => {
    expect(render(<Picture image={image} />).all[1].attributes.sizes).toBe('100vw')
    expect(render(<Picture image={image} />).img.sizes).toBe('100vw')
    const single = { ...webpOnly, srcSet: null, variants: [] }
    const { img } = render(<Picture image={single} sizes="300px" />)
    expect(img.srcset).toBeUndefined()
    expect(img.sizes).toBeUndefined()
    expect(img.src).toBe(image.url)
  })

  it('width and height come from the document', () => {
    const { img } = render(<Picture image={image} />)
    expect([img.width, img.height]).toEqual(['1024', '768'])
  })

  it('alt comes from the document, the alt prop overrides it, and it is alt="" when there is none', () => {
    expect(render(<Picture image={image} />).img.alt).toBe('Oak chair')
    expect(render(<Picture alt="A chair in oak" image={image} />).img.alt).toBe('A chair in oak')
    expect(render(<Picture alt="" image={image} />).img.alt).toBe('')
    const { img, markup } = render(<Picture image={{ ...image, alt: null }} />)
    expect(img.alt).toBe('')
    expect(markup).toContain('alt=""')
  })

  it('is lazy and decoded asynchronously by default, with no fetch priority', () => {
    const { img } = render(<Picture image={image} />)
    expect(img.loading).toBe('lazy')
    expect(img.decoding).toBe('async')
    expect(img.fetchpriority).toBeUndefined()
  })

  it('priority (the LCP image): loading="eager" and fetchpriority="high", never lazy', () => {
    const { img, markup } = render(<Picture image={image} priority />)
    expect(img.loading).toBe('eager')
    expect(img.fetchpriority).toBe('high')
    expect(markup).not.toContain('lazy')
  })

  it('the placeholder is the img background (cover, centred, not repeated), merged under the style prop', () => {
    const { img } = render(<Picture image={image} />)
    expect(img.style).toBe(
      `background-image:url("${PLACEHOLDER}");background-position:center;background-repeat:no-repeat;background-size:cover`,
    )
    const styled = render(
      <Picture image={image} style={{ backgroundPosition: 'top', width: '100%' }} />,
    ).img
    expect(styled.style).toBe(
      `background-image:url("${PLACEHOLDER}");background-position:top;background-repeat:no-repeat;background-size:cover;width:100%`,
    )
  })

  it('no placeholder background when the document has none or placeholder={false}', () => {
    expect(render(<Picture image={{ ...image, placeholder: null }} />).img.style).toBeUndefined()
    expect(render(<Picture image={image} placeholder={false} />).img.style).toBeUndefined()
    expect(
      render(<Picture image={image} placeholder={false} style={{ width: '100%' }} />).img.style,
    ).toBe('width:100%')
  })

  it('a placeholder cannot end the CSS url(): quotes and backslashes are escaped', () => {
    const { img } = render(<Picture image={{ ...image, placeholder: 'data:x");color:red;("\\' }} />)
    expect(img.style).toContain('background-image:url("data:x\\22 );color:red;(\\22 \\5c ")')
  })

  it('builds the srcSet from the variants and the main image when the document has no srcSet', () => {
    const { img } = render(<Picture image={{ ...webpOnly, srcSet: undefined }} />)
    expect(img.srcset).toBe(
      'https://cdn.test/a-320.webp 320w, https://cdn.test/a-640.webp 640w, https://cdn.test/a.webp 1024w',
    )
    expect(img.sizes).toBe('100vw')
  })

  it('no srcSet in proxy delivery, where the variants have no URL', () => {
    const proxied = {
      ...webpOnly,
      srcSet: null,
      url: '/api/product-images/file/a.webp',
      variants: image.variants.map(({ url: _url, ...variant }) => variant),
    }
    const { img, tags } = render(<Picture image={proxied} />)
    expect(tags).toEqual(['picture', 'img'])
    expect(img.src).toBe('/api/product-images/file/a.webp')
    expect(img.srcset).toBeUndefined()
  })

  it('className, style and any other prop go on the <img>; pictureProps on the <picture>', () => {
    const { all, img } = render(
      <Picture
        className="card"
        data-product="7"
        id="hero"
        image={image}
        pictureProps={{ className: 'frame' }}
        title="Oak"
      />,
    )
    expect(all[0].attributes).toEqual({ class: 'frame' })
    expect(img).toMatchObject({ class: 'card', 'data-product': '7', id: 'hero', title: 'Oak' })
  })

  it('shape: renders the named shape with its own size, srcSet and AVIF source; the main image when the document lacks it', () => {
    const square = {
      avif: [],
      avifSrcSet: 'https://cdn.test/s-300.avif 300w, https://cdn.test/s.avif 600w',
      filename: 's.webp',
      filesize: 3000,
      height: 600,
      srcSet: 'https://cdn.test/s-300.webp 300w, https://cdn.test/s.webp 600w',
      url: 'https://cdn.test/s.webp',
      variants: [],
      width: 600,
    }
    const { all, img } = render(
      <Picture image={{ ...image, shapes: { square } }} shape="square" sizes="300px" />,
    )
    expect(all[1].attributes).toMatchObject({ srcset: square.avifSrcSet, type: 'image/avif' })
    expect(img).toMatchObject({
      alt: 'Oak chair',
      height: '600',
      src: 'https://cdn.test/s.webp',
      srcset: square.srcSet,
      width: '600',
    })
    expect(img.style).toContain('background-image')
    // A document made before the shape was configured: its main image.
    const fallback = render(<Picture image={image} shape="square" />).img
    expect(fallback).toMatchObject({ src: image.url, width: '1024' })
  })

  it('renders nothing for a relationship that was not populated, or an image without url', () => {
    for (const unpopulated of [7, '7', null, undefined, { ...image, url: null }]) {
      expect(renderToStaticMarkup(<Picture image={unpopulated} />)).toBe('')
      expect(getImageProps(unpopulated)).toBeNull()
    }
  })
})

describe('getImageProps', () => {
  it('gives the <img> attributes as a plain object, and the AVIF srcSet beside them', () => {
    expect(getImageProps(image, { sizes: '300px' })).toEqual({
      avifSrcSet: image.avifSrcSet,
      props: {
        alt: 'Oak chair',
        decoding: 'async',
        fetchPriority: undefined,
        height: 768,
        loading: 'lazy',
        sizes: '300px',
        src: image.url,
        srcSet: image.srcSet,
        style: {
          backgroundImage: `url("${PLACEHOLDER}")`,
          backgroundPosition: 'center',
          backgroundRepeat: 'no-repeat',
          backgroundSize: 'cover',
        },
        width: 1024,
      },
    })
  })

  it('priority, alt and placeholder options', () => {
    const result = getImageProps(webpOnly, { alt: 'Chair', placeholder: false, priority: true })
    expect(result?.avifSrcSet).toBeUndefined()
    expect(result?.props).toMatchObject({ alt: 'Chair', fetchPriority: 'high', loading: 'eager' })
    expect(result?.props.style).toBeUndefined()
  })

  it('spread on an <img>, it renders the same img as Picture', () => {
    const { props } = getImageProps(webpOnly, { sizes: '300px' })!
    const own = renderToStaticMarkup(<img {...props} />)
    expect(renderToStaticMarkup(<Picture image={webpOnly} sizes="300px" />)).toBe(
      `<picture>${own}</picture>`,
    )
  })
})
