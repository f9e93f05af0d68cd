import { describe, expect, it } from 'vitest'
import type { Config, Field } from 'payload'
import { withImageUploadFields } from 'payload-image-assets/internal'

const COMPONENT = 'payload-image-assets/client#ImageUploadField'

/** The `Field` component path an upload field ends up with, or undefined. */
const componentOf = (field: Field | undefined): string | undefined => {
  const custom = (field as { admin?: { components?: { Field?: unknown } } } | undefined)?.admin
    ?.components?.Field
  return typeof custom === 'string' ? custom : (custom as { path?: string } | undefined)?.path
}

describe('upload fields pointing at image collections show original names', () => {
  const image: Field = { name: 'image', type: 'upload', relationTo: 'product-images' }
  const config = {
    blocks: [{ slug: 'hero', fields: [{ ...image, name: 'hero' }] }],
    collections: [
      {
        slug: 'products',
        fields: [
          image,
          { name: 'manual', type: 'upload', relationTo: 'docs' },
          {
            name: 'own',
            type: 'upload',
            admin: { components: { Field: './MyField#MyField' } },
            relationTo: 'product-images',
          },
          {
            type: 'tabs',
            tabs: [
              {
                fields: [
                  {
                    name: 'gallery',
                    type: 'array',
                    fields: [
                      {
                        type: 'row',
                        fields: [
                          {
                            name: 'either',
                            type: 'upload',
                            relationTo: ['docs', 'media'],
                          },
                        ],
                      },
                    ],
                  },
                ],
                label: 'Gallery',
              },
            ],
          },
          {
            name: 'layout',
            type: 'blocks',
            blocks: [{ slug: 'banner', fields: [{ ...image, name: 'banner' }] }],
          },
          {
            name: 'sections',
            type: 'blocks',
            blockReferences: ['hero', { slug: 'card', fields: [{ ...image, name: 'card' }] }],
            blocks: [],
          },
        ],
      },
    ],
    globals: [{ slug: 'site', fields: [{ type: 'group', name: 'seo', fields: [image] }] }],
  } as unknown as Config

  const out = withImageUploadFields(config, ['product-images', 'media'])
  const products = out.collections![0].fields as any[]

  it('gives them the plugin’s field, with the image slugs as client props, at any depth', () => {
    expect(componentOf(products[0])).toBe(COMPONENT)
    expect((products[0].admin.components.Field as { clientProps: unknown }).clientProps).toEqual({
      imageSlugs: ['product-images', 'media'],
    })
    const either = products[3].tabs[0].fields[0].fields[0].fields[0]
    expect(componentOf(either)).toBe(COMPONENT)
    expect(componentOf(products[4].blocks[0].fields[0])).toBe(COMPONENT)
    // Inline blocks among the references; a referenced slug stays a slug.
    expect(products[5].blockReferences[0]).toBe('hero')
    expect(componentOf(products[5].blockReferences[1].fields[0])).toBe(COMPONENT)
    expect(componentOf((out.globals![0].fields[0] as any).fields[0])).toBe(COMPONENT)
    expect(componentOf(out.blocks![0].fields[0])).toBe(COMPONENT)
  })

  it('leaves other upload fields and fields with their own component alone', () => {
    expect(componentOf(products[1])).toBeUndefined()
    expect(componentOf(products[2])).toBe('./MyField#MyField')
    // The input config is not changed.
    expect(componentOf((config.collections![0].fields as Field[])[0])).toBeUndefined()
  })
})
