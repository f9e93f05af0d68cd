import { AVATARS_SLUG } from 'payload-image-assets'
import type { CollectionConfig } from 'payload'

export const Users: CollectionConfig = {
  slug: 'users',
  admin: { defaultColumns: ['email', 'name', 'role', 'avatar'], useAsTitle: 'email' },
  auth: true,
  fields: [
    { name: 'name', type: 'text' },
    { name: 'avatar', type: 'upload', relationTo: AVATARS_SLUG },
    {
      // The image plugin shows its internal collections (pending deletions, re-optimizations)
      // to admins only; editors see the image collections and the dashboard panel.
      name: 'role',
      type: 'select',
      access: {
        update: ({ req }) => (req.user as { role?: string } | null)?.role === 'admin',
      },
      defaultValue: 'editor',
      options: ['admin', 'editor'],
    },
  ],
  hooks: {
    beforeChange: [
      // The first user (the one the admin's "create first user" screen makes) is an admin.
      async ({ data, operation, req }) =>
        operation === 'create' &&
        (await req.payload.count({ collection: 'users', req })).totalDocs === 0
          ? { ...data, role: 'admin' }
          : data,
    ],
  },
}
