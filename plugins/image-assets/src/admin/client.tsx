'use client'
/**
 * `payload-image-assets/client`: the plugin's client components for the Payload admin, in one
 * module (an app that lists the plugin in `serverExternalPackages` loads this entry as it is).
 */
import { useFormFields } from '@payloadcms/ui'
import { createClientUploadHandler } from '@payloadcms/plugin-cloud-storage/client'

/**
 * The admin's half of direct-to-bucket uploads (upload/direct.ts): for each collection with
 * `directUploads`, Payload's upload field hands the chosen file to this handler, which asks the
 * app for a presigned PUT, sends the file straight to the bucket's staging prefix, and returns the
 * reference the form then submits instead of the bytes. A refusal (access, extension, size) is
 * the app's own message.
 */
export const DirectUploadHandler = createClientUploadHandler({
  handler: async ({ apiRoute, collectionSlug, file, serverURL }) => {
    const presign = await fetch(`${serverURL}${apiRoute}/${collectionSlug}/upload-url`, {
      body: JSON.stringify({ filename: file.name, mimeType: file.type, size: file.size }),
      credentials: 'include',
      headers: { 'Content-Type': 'application/json' },
      method: 'POST',
    })
    const answer = (await presign.json().catch(() => ({}))) as {
      errors?: Array<{ message?: string }>
      headers?: Record<string, string>
      key?: string
      url?: string
    }
    if (!presign.ok || !answer.url || !answer.key) {
      throw new Error(
        answer.errors?.[0]?.message ?? `The upload was refused (HTTP ${presign.status}).`,
      )
    }
    const put = await fetch(answer.url, { body: file, headers: answer.headers, method: 'PUT' })
    if (!put.ok) {
      throw new Error(
        `The storage service refused the upload (HTTP ${put.status}); nothing was saved. Try again in a moment.`,
      )
    }
    return { key: answer.key }
  },
})

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
