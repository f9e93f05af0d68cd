import { CATEGORY_IMAGES_SLUG } from 'payload-image-assets'
import type { CollectionConfig } from 'payload'

export const Categories: CollectionConfig = {
  slug: 'categories',
  access: { read: () => true },
  admin: { defaultColumns: ['name', 'image'], useAsTitle: 'name' },
  fields: [
    { name: 'name', type: 'text', required: true },
    { name: 'image', type: 'upload', relationTo: CATEGORY_IMAGES_SLUG },
  ],
}
