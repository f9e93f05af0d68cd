import { PRODUCT_IMAGES_SLUG } from 'payload-image-assets'
import type { CollectionConfig } from 'payload'

export const Products: CollectionConfig = {
  slug: 'products',
  access: { read: () => true },
  admin: { defaultColumns: ['name', 'category', 'price', 'image'], useAsTitle: 'name' },
  fields: [
    { name: 'name', type: 'text', required: true },
    { name: 'description', type: 'textarea' },
    { name: 'price', type: 'number', min: 0 },
    { name: 'image', type: 'upload', relationTo: PRODUCT_IMAGES_SLUG },
    { name: 'category', type: 'relationship', relationTo: 'categories' },
  ],
}
