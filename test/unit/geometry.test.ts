/** Crop and focal-point arithmetic (percent coordinates) and the shape options. */
import { describe, expect, it } from 'vitest'

import { ImageAssetsConfigError } from 'payload-image-assets'
import {
  composeCrop,
  cropPixels,
  cropWithin,
  focalRegion,
  focalWithin,
  parseCrop,
  parseFocal,
  resolveOptions,
} from 'payload-image-assets/internal'

describe('crop', () => {
  it('parses numbers and the query-string form, and treats the whole picture as no crop', () => {
    expect(parseCrop({ height: '50', unit: '%', width: '25', x: '10', y: '0' })).toEqual({
      height: 50,
      width: 25,
      x: 10,
      y: 0,
    })
    expect(parseCrop({ height: 100, unit: '%', width: 100, x: 0, y: 0 })).toBeNull()
    expect(parseCrop(null)).toBeNull()
    expect(parseCrop(undefined)).toBeNull()
  })

  it('refuses what is not a rectangle inside the picture', () => {
    for (const bad of [
      { height: 50, width: 80, x: 40, y: 0 },
      { height: 0, width: 50, x: 0, y: 0 },
      { height: 50, width: 50, x: -1, y: 0 },
      { height: 50, width: 50, x: 0, y: 0, unit: 'px' },
      { height: 'a', width: 50, x: 0, y: 0 },
      'left half',
    ])
      expect(() => parseCrop(bad), JSON.stringify(bad)).toThrow(/crop/)
  })

  it('composes a crop drawn on the cropped picture, and expresses one inside another', () => {
    const half = { height: 100, width: 50, x: 50, y: 0 }
    const inner = { height: 50, width: 50, x: 0, y: 50 }
    const composed = composeCrop(half, inner)
    expect(composed).toEqual({ height: 50, width: 25, x: 50, y: 50 })
    expect(cropWithin(half, composed)).toEqual(inner)
    expect(cropWithin(half, half)).toBeNull()
    // Reaching outside the current crop: only possible from the original.
    expect(cropWithin(half, null)).toBeUndefined()
    expect(cropWithin(half, { height: 100, width: 50, x: 0, y: 0 })).toBeUndefined()
    // A crop of a crop never gets thinner than a write may give (it must read back).
    const thin = composeCrop({ height: 100, width: 10, x: 95, y: 0 }, inner)
    expect(thin).toEqual({ height: 50, width: 5, x: 95, y: 50 })
    const sliver = composeCrop(
      { height: 100, width: 1, x: 99.5, y: 0 },
      { height: 100, width: 4, x: 96, y: 0 },
    )
    expect(sliver).toEqual({ height: 100, width: 0.5, x: 99.5, y: 0 })
    expect(parseCrop(sliver)).toEqual(sliver)
  })

  it('gives pixel rectangles inside the picture', () => {
    expect(cropPixels({ height: 50, width: 50, x: 50, y: 50 }, 201, 101)).toEqual({
      height: 50,
      left: 101,
      top: 51,
      width: 100,
    })
  })
})

describe('focal point', () => {
  it('parses two coordinates from 0 to 100 and refuses the rest', () => {
    expect(parseFocal('15.5', 50)).toEqual({ x: 15.5, y: 50 })
    expect(parseFocal(undefined, null)).toBeUndefined()
    expect(() => parseFocal(101, 50)).toThrow(/focal/)
    expect(() => parseFocal(50, undefined)).toThrow(/focal/)
  })

  it('moves into a crop, clamped to it', () => {
    expect(focalWithin({ height: 100, width: 50, x: 0, y: 0 }, { x: 15, y: 50 })).toEqual({
      x: 30,
      y: 50,
    })
    expect(focalWithin({ height: 100, width: 50, x: 50, y: 0 }, { x: 15, y: 50 }).x).toBe(0)
  })

  it('places the cover-fit region around the focal point, within the edges', () => {
    // A 1000 x 500 picture, a square: 500 x 500, as far left or right as the focal point asks.
    expect(focalRegion(1000, 500, 600, 600, { x: 10, y: 50 })).toEqual({
      height: 500,
      left: 0,
      top: 0,
      width: 500,
    })
    expect(focalRegion(1000, 500, 600, 600, { x: 60, y: 50 }).left).toBe(350)
    expect(focalRegion(1000, 500, 600, 600, { x: 95, y: 50 }).left).toBe(500)
    // A wide shape in a tall picture: full width, steered vertically.
    expect(focalRegion(600, 1200, 1200, 630, { x: 50, y: 0 })).toEqual({
      height: 315,
      left: 0,
      top: 0,
      width: 600,
    })
  })
})

describe('shape options', () => {
  const env = { S3_BUCKET: 'media' }
  it('resolves shapes with the collection quality by default and drops variants not smaller', () => {
    const media = resolveOptions(
      {
        collections: {
          media: { shapes: { social: { height: 630, quality: 60, width: 1200 } } },
          'product-images': {
            shapes: { square: { height: 600, variants: [300, 600, 900], width: 600 } },
          },
        },
      },
      env,
    ).collections
    expect(media.find((c) => c.slug === 'product-images')?.shapes).toEqual([
      { height: 600, name: 'square', quality: 75, variantWidths: [300], width: 600 },
    ])
    expect(media.find((c) => c.slug === 'media')?.shapes[0]).toMatchObject({ quality: 60 })
    expect(media.find((c) => c.slug === 'avatars')?.shapes).toEqual([])
  })

  it('refuses bad shape names, sizes and keys with the option path', () => {
    const resolve = (shapes: unknown) => () =>
      resolveOptions({ collections: { media: { shapes: shapes as never } } }, env)
    expect(resolve({ 'og-image': { height: 630, width: 1200 } })).toThrow(
      /collections\.media\.shapes\.og-image/,
    )
    expect(resolve({ square: { width: 600 } })).toThrow(
      /collections\.media\.shapes\.square\.height/,
    )
    expect(resolve({ square: { height: 600, qualty: 80, width: 600 } })).toThrow(
      ImageAssetsConfigError,
    )
    expect(resolve([])).toThrow(/collections\.media\.shapes/)
  })
})
