'use client'
/**
 * `payload-image-assets/client`: the plugin's client components for the Payload admin, in one
 * module (an app that lists the plugin in `serverExternalPackages` loads this entry as it is).
 */
import { RenderDefaultCell, UploadField, useConfig, useFormFields } from '@payloadcms/ui'
import { createClientUploadHandler } from '@payloadcms/plugin-cloud-storage/client'
import type { DefaultCellComponentProps, UploadFieldClientProps } from 'payload'
import { useEffect } from 'react'

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

/** Where Payload's upload card shows a related document's `filename` (Payload 3.90). */
const SHOWN_NAME = '.upload-relationship-details__filename'
/** On a swapped name: the stored key it stands for, and the name put in its place. */
const KEY_ATTRIBUTE = 'data-image-assets-key'
const SHOWN_ATTRIBUTE = 'data-image-assets-shown'

/**
 * Payload's upload field, for fields that point at the plugin's image collections, showing each
 * image by the name it was uploaded with. Payload's card shows the document's `filename`, which is
 * the object key (`<hash>-<random>.webp`); this renders Payload's own field, unchanged in
 * everything else (choose, upload, drag and drop, edit, remove), and puts the `originalFilename`
 * in place of the key once it is known (one read of the shown documents, by key, with the
 * editor's own access). Where a name cannot be found, the key stays. The plugin sets it on upload
 * fields without a `Field` component of their own (admin/uploadFields.ts).
 */
export const ImageUploadField = (props: UploadFieldClientProps & { imageSlugs?: string[] }) => {
  const { imageSlugs = [], ...fieldProps } = props
  const {
    config: {
      routes: { api },
      serverURL,
    },
  } = useConfig()
  const relationTo = fieldProps.field.relationTo
  const slugList = (Array.isArray(relationTo) ? relationTo : [relationTo])
    .filter((slug) => imageSlugs.includes(slug))
    .join(',')
  // The id Payload's upload input gives its root element.
  const fieldId = `field-${fieldProps.path.replace(/\./g, '__')}`

  useEffect(() => {
    if (!slugList) return
    const names = new Map<string, string>()
    const asked = new Set<string>()
    const controller = new AbortController()

    const show = () => {
      const field = document.getElementById(fieldId)
      if (!field) return
      const unknown: string[] = []
      for (const shown of Array.from(field.querySelectorAll(SHOWN_NAME))) {
        const target = shown.querySelector('a') ?? shown
        const text = target.firstChild
        if (!text || text.nodeType !== Node.TEXT_NODE) continue
        const current = text.nodeValue ?? ''
        // Still the name put there (by this effect or an earlier run of it): its key is kept.
        const key =
          current === target.getAttribute(SHOWN_ATTRIBUTE)
            ? (target.getAttribute(KEY_ATTRIBUTE) ?? current)
            : current
        const original = names.get(key)
        if (original) {
          if (current === original) continue
          target.setAttribute(KEY_ATTRIBUTE, key)
          target.setAttribute(SHOWN_ATTRIBUTE, original)
          target.setAttribute('title', key)
          text.nodeValue = original
          continue
        }
        if (key === current && target.hasAttribute(KEY_ATTRIBUTE)) {
          // Payload wrote another document's key into a swapped card: nothing of the old swap stays.
          for (const name of [KEY_ATTRIBUTE, SHOWN_ATTRIBUTE, 'title']) target.removeAttribute(name)
        }
        if (key && !asked.has(key)) unknown.push(key)
      }
      if (unknown.length > 0) void lookUp(unknown)
    }

    const lookUp = async (keys: string[]) => {
      for (const key of keys) asked.add(key)
      await Promise.all(
        slugList.split(',').map(async (slug) => {
          const query = new URLSearchParams({ depth: '0', limit: String(keys.length) })
          keys.forEach((key, i) => query.append(`where[filename][in][${i}]`, key))
          query.append('select[filename]', 'true')
          query.append('select[originalFilename]', 'true')
          try {
            const response = await fetch(`${serverURL}${api}/${slug}?${query}`, {
              credentials: 'include',
              signal: controller.signal,
            })
            if (!response.ok) return
            const { docs = [] } = (await response.json()) as {
              docs?: Array<{ filename?: string; originalFilename?: null | string }>
            }
            for (const doc of docs) {
              if (doc.filename && doc.originalFilename)
                names.set(doc.filename, doc.originalFilename)
            }
          } catch {
            // Aborted or offline: the key stays shown.
          }
        }),
      )
      if (!controller.signal.aborted) show()
    }

    // The field's own subtree is watched; its parent only for the field's element being replaced.
    const inside = new MutationObserver(show)
    const around = new MutationObserver(() => watch())
    let watched: HTMLElement | null = null
    const watch = () => {
      const field = document.getElementById(fieldId)
      if (field === watched) return
      inside.disconnect()
      around.disconnect()
      watched = field
      if (!field) return
      inside.observe(field, { characterData: true, childList: true, subtree: true })
      if (field.parentElement) around.observe(field.parentElement, { childList: true })
      show()
    }
    watch()
    return () => {
      inside.disconnect()
      around.disconnect()
      controller.abort()
    }
  }, [api, fieldId, serverURL, slugList])

  return <UploadField {...fieldProps} />
}

/**
 * The list's (and the "choose from existing" drawer's) file column of an image collection:
 * Payload's own cell (thumbnail, link to the image, select in a drawer) with the name the image
 * was uploaded with instead of its stored key.
 */
export const ImageFileCell = (props: DefaultCellComponentProps) => {
  const original = (props.rowData as { originalFilename?: null | string } | undefined)
    ?.originalFilename
  return (
    <RenderDefaultCell
      clientProps={{ ...props, cellData: original || props.cellData }}
      columnIndex={0}
      isLinkedColumn={props.link === true}
    />
  )
}
