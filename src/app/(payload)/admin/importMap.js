import { ImageUploadField as ImageUploadField_d4437dd87c36c98a65904e615ba939e5 } from 'payload-image-assets/client'
import { FramingPreview as FramingPreview_d4437dd87c36c98a65904e615ba939e5 } from 'payload-image-assets/client'
import { ImageFileCell as ImageFileCell_d4437dd87c36c98a65904e615ba939e5 } from 'payload-image-assets/client'
import { ImageSavings as ImageSavings_19d7d39ef063a6f0ce4079aaf60f5cf4 } from 'payload-image-assets/admin'
import { DirectUploadHandler as DirectUploadHandler_d4437dd87c36c98a65904e615ba939e5 } from 'payload-image-assets/client'
import { CollectionCards as CollectionCards_f9c02e79a4aed9a3924487c0cd4cafb1 } from '@payloadcms/next/rsc'

/** @type import('payload').ImportMap */
export const importMap = {
  "payload-image-assets/client#ImageUploadField": ImageUploadField_d4437dd87c36c98a65904e615ba939e5,
  "payload-image-assets/client#FramingPreview": FramingPreview_d4437dd87c36c98a65904e615ba939e5,
  "payload-image-assets/client#ImageFileCell": ImageFileCell_d4437dd87c36c98a65904e615ba939e5,
  "payload-image-assets/admin#ImageSavings": ImageSavings_19d7d39ef063a6f0ce4079aaf60f5cf4,
  "payload-image-assets/client#DirectUploadHandler": DirectUploadHandler_d4437dd87c36c98a65904e615ba939e5,
  "@payloadcms/next/rsc#CollectionCards": CollectionCards_f9c02e79a4aed9a3924487c0cd4cafb1
}
