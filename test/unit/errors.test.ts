/**
 * Failures are told apart by what they are: a driver's SQLSTATE, a system error, a lost race.
 * (The hook is internal; the test imports it from the package's internal subpath.)
 */
import { describe, expect, it } from 'vitest'

import { databaseDownHook, messages } from 'payload-image-assets/internal'

const call = (error: unknown) => {
  const req = { responseHeaders: undefined as Headers | undefined }
  const result = databaseDownHook({
    collection: { labels: { plural: 'Media', singular: 'Medium' }, slug: 'media' },
    context: {},
    error,
    req,
  } as never)
  return {
    result: result as
      undefined | { response: { errors: Array<{ message: string }> }; status: number },
    retryAfter: req.responseHeaders?.get('Retry-After'),
  }
}

const withCode = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`failure ${code}`), { code, ...extra })

describe('databaseDownHook', () => {
  it('a system error with a five-letter code (EPERM, EBUSY) is not "the database refused"', () => {
    expect(call(withCode('EPERM', { errno: -1, syscall: 'open' })).result).toBeUndefined()
    expect(call(withCode('EBUSY', { errno: -16, syscall: 'rmdir' })).result).toBeUndefined()
  })

  it('a SQLSTATE the database answered (a constraint, a raised exception) is a plain 500', () => {
    for (const code of ['23505', '23502', 'P0001', 'XX000']) {
      expect(
        call({ cause: withCode(code), message: 'Failed query', name: 'Error' }).result,
      ).toEqual({
        response: {
          errors: [
            {
              message:
                "The database refused to save the change, so nothing was saved. Try again; if it keeps happening, tell the site's administrator.",
            },
          ],
        },
        status: 500,
      })
    }
  })

  it('a connection failure is a 503 with Retry-After', () => {
    const { result, retryAfter } = call({ cause: withCode('08006'), message: 'Failed query' })
    expect(result).toEqual({
      response: {
        errors: [
          { message: 'The database is unavailable, so nothing was saved. Try again in a moment.' },
        ],
      },
      status: 503,
    })
    expect(retryAfter).toBe('5')
    // No connection free in the pool within its `connectionTimeoutMillis` (node-postgres).
    const busy = call(new Error('timeout exceeded when trying to connect'))
    expect([busy.result?.status, busy.retryAfter]).toEqual([503, '5'])
  })

  it('a deadlock or serialization failure with a concurrent write is a 409 with the conflict message', () => {
    for (const code of ['40P01', '40001']) {
      expect(call({ cause: withCode(code), message: 'Failed query' }).result).toEqual({
        response: {
          errors: [
            {
              message:
                'This image was changed by another request while yours was being processed, so yours was not saved to Media. Reload the document and try again.',
            },
          ],
        },
        status: 409,
      })
    }
  })

  it('errors that already have a status are left alone', () => {
    expect(call(Object.assign(new Error('nope'), { status: 400 })).result).toBeUndefined()
  })
})

describe('refusals over a limit', () => {
  it('say how much over, in bytes or pixels when rounding would make size and limit read the same', () => {
    const avatars = { label: 'Avatars', maxBytes: 15 * 1024 * 1024 }
    expect(messages.upload('FILE_TOO_LARGE', { ...avatars, bytes: 16 * 1024 * 1024 })).toBe(
      'The file is 16 MB; Avatars accepts files up to 15 MB. Upload a smaller file.',
    )
    expect(messages.upload('FILE_TOO_LARGE', { ...avatars, bytes: 15 * 1024 * 1024 + 1 })).toBe(
      'The file is 15,728,641 bytes; Avatars accepts files up to 15,728,640 bytes. Upload a smaller file.',
    )
    const media = { label: 'Media', maxPixels: 64_000_000 }
    expect(messages.upload('IMAGE_TOO_LARGE', { ...media, height: 8000, width: 9000 })).toBe(
      'The image is 9000 x 8000 pixels (72 megapixels); Media accepts at most 64 megapixels. Upload a smaller image.',
    )
    expect(
      messages.upload('FORM_TOO_LARGE', {
        label: 'Media',
        maxBytes: 25 * 1024 * 1024,
        requestBytes: 50 * 1024 * 1024,
      }),
    ).toBe(
      'The upload\'s request is larger than 50 MB, the most this server reads. Nothing was saved to Media; send one file of at most 25 MB and the document\'s fields in "_payload".',
    )
    expect(messages.upload('IMAGE_TOO_LARGE', { ...media, height: 8001, width: 8000 })).toBe(
      'The image is 8000 x 8001 pixels (64,008,000 pixels); Media accepts at most 64,000,000 pixels. Upload a smaller image.',
    )
  })
})
