import type { CollectionConfig } from 'payload'

export type IsAdmin = (user: Record<string, unknown>) => boolean

/**
 * One of the plugin's own record collections: written only by the plugin (through the database
 * adapter), read-only in the admin, and visible and readable to administrators only (`isAdmin`),
 * in the "Image maintenance" group.
 */
export const internalCollection = (
  isAdmin: IsAdmin,
  config: Omit<CollectionConfig, 'access' | 'admin'> & {
    admin: { defaultColumns: string[]; description: string; useAsTitle: string }
  },
): CollectionConfig => ({
  ...config,
  access: {
    create: () => false,
    delete: () => false,
    read: ({ req }) => Boolean(req.user && isAdmin(req.user)),
    update: () => false,
  },
  admin: {
    ...config.admin,
    group: 'Image maintenance',
    hidden: ({ user }) => !user || !isAdmin(user),
  },
})
