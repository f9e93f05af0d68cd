'use client'
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
