'use client'
/** `payload-image-assets/client`: the plugin's client components for the Payload admin. */
export { DirectUploadHandler } from './DirectUploadHandler.js'
export { FramingPreview } from './FramingPreview.js'
