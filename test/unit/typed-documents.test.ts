/**
 * The generated types give the plugin's `variants` and `avif` their real shape: frontend code
 * reads them without casts. `npm test` type-checks this file (tsc --noEmit) before vitest runs it.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'

import type { Media, Product, ProductImage } from '../../src/payload-types'

/** What a storefront writes: the smallest variant's URL, the AVIF widths. */
const smallestURL = (image: ProductImage): string | undefined => image.variants?.[0]?.url
const avifWidths = (image: ProductImage): number[] => image.avif?.map((v) => v.width) ?? []

describe('typed documents', () => {
  it('types variants and avif as lists of stored versions', () => {
    type Version = NonNullable<ProductImage['variants']>[number]
    expectTypeOf<Version>().toEqualTypeOf<{
      filename: string
      filesize: number
      height: number
      url: string
      width: number
    }>()
    expectTypeOf<NonNullable<Media['avif']>[number]>().toEqualTypeOf<Version>()
    expectTypeOf<NonNullable<Product['image']>>().toEqualTypeOf<number | ProductImage>()
  })

  it('reads them without casts', () => {
    const image = {
      avif: [{ filename: 'a.avif', filesize: 10, height: 240, url: '/a.avif', width: 320 }],
      variants: [{ filename: 'a.webp', filesize: 20, height: 240, url: '/a.webp', width: 320 }],
    } as Pick<ProductImage, 'avif' | 'variants'> as ProductImage
    expect(smallestURL(image)).toBe('/a.webp')
    expect(avifWidths(image)).toEqual([320])
  })
})
