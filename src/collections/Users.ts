import { AVATARS_SLUG } from 'payload-image-assets'
import type { CollectionConfig } from 'payload'

export const Users: CollectionConfig = {
  slug: 'users',
  admin: { defaultColumns: ['email', 'name', 'avatar'], useAsTitle: 'email' },
  auth: true,
  fields: [
    { name: 'name', type: 'text' },
    { name: 'avatar', type: 'upload', relationTo: AVATARS_SLUG },
  ],
}
