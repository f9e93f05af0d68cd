'use client'
import { useFormFields } from '@payloadcms/ui'

type Shape = { height?: number; url?: string; width?: number }

const box = { border: '1px solid var(--theme-elevation-150)', display: 'block', maxWidth: '100%' }

/**
 * The edit view's sidebar: each shape as it is stored now (cut around the focal point, so moving
 * the focal point in the image editor and saving shows the new cut), and a warning when no
 * original is kept (a new crop or focal point is then applied to the stored WebP).
 */
export const FramingPreview = () => {
  const shapes = useFormFields(([fields]) => fields.shapes?.value) as
    null | Record<string, Shape> | undefined
  const filename = useFormFields(([fields]) => fields.filename?.value)
  const originalKey = useFormFields(([fields]) => fields.originalKey?.value)
  if (!filename) return null
  const entries = Object.entries(shapes ?? {}).filter(([, shape]) => shape?.url)
  return (
    <div className="image-assets-framing" style={{ marginBottom: 'var(--base)' }}>
      {entries.length > 0 && (
        <>
          <p className="field-label">Shapes</p>
          {entries.map(([name, shape]) => (
            <figure key={name} style={{ margin: '0 0 calc(var(--base) / 2)' }}>
              <img
                alt={`${name} shape`}
                data-shape={name}
                height={shape.height}
                src={shape.url}
                style={{ ...box, height: 'auto', width: 160 }}
                width={shape.width}
              />
              <figcaption style={{ fontSize: 12 }}>
                {name}: {shape.width} x {shape.height}
              </figcaption>
            </figure>
          ))}
        </>
      )}
      {!originalKey && (
        <p className="image-assets-framing__warning" style={{ fontSize: 12 }}>
          No original is kept for this image: a new crop or focal point is applied to the stored
          WebP, which loses a little quality each time, and a crop can only narrow it.
        </p>
      )}
    </div>
  )
}
