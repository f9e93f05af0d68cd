import { ImageSavings as ImageSavings_19d7d39ef063a6f0ce4079aaf60f5cf4 } from 'payload-image-assets/admin'
import { CollectionCards as CollectionCards_f9c02e79a4aed9a3924487c0cd4cafb1 } from '@payloadcms/next/rsc'

/** @type import('payload').ImportMap */
export const importMap = {
  "payload-image-assets/admin#ImageSavings": ImageSavings_19d7d39ef063a6f0ce4079aaf60f5cf4,
  "@payloadcms/next/rsc#CollectionCards": CollectionCards_f9c02e79a4aed9a3924487c0cd4cafb1
}
