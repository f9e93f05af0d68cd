/**
 * `payload-image-assets/react`: render the plugin's image documents. No hooks and no
 * `'use client'`, so it works in React Server Components as well as on the client. See
 * docs/react.md.
 */
export { getImageProps, Picture } from './Picture.js'
export type {
  ImageOptions,
  PictureImage,
  PictureImgProps,
  PictureProps,
  PictureSource,
  PictureVersion,
} from './Picture.js'
