import sharp from 'sharp'

/** libvips loader classes for everything but JPEG, PNG and WebP (unknown names are ignored). */
const OTHER_LOADERS = [
  'Analyze',
  'Csv',
  'Fits',
  'Gif',
  'Heif',
  'Jp2k',
  'Jxl',
  'Magick',
  'Mat',
  'Matrix',
  'Nifti',
  'Nsgif',
  'Openexr',
  'Openslide',
  'Pdf',
  'Ppm',
  'Rad',
  'Raw',
  'Svg',
  'Tiff',
  'Vips',
]

/**
 * Blocks libvips loaders with `sharp.block` (process-wide): `'memory'` blocks the other formats'
 * buffer and stream loaders, the way uploads reach libvips, and leaves files on disk alone; `'all'`
 * leaves only the JPEG, PNG and WebP loaders. Calling it again with the same mode changes nothing.
 */
export const blockDecoders = (mode: 'all' | 'memory' | false): void => {
  if (mode === 'all') {
    sharp.block({ operation: ['VipsForeignLoad'] })
    sharp.unblock({
      operation: [
        'VipsForeignLoadJpeg',
        'VipsForeignLoadPng',
        'VipsForeignLoadWebp',
        'VipsForeignLoadUhdr',
      ],
    })
  } else if (mode === 'memory') {
    sharp.block({
      operation: OTHER_LOADERS.flatMap((name) => [
        `VipsForeignLoad${name}Buffer`,
        `VipsForeignLoad${name}Source`,
      ]),
    })
  }
}
