/** Presigned S3 URLs (the `signed` delivery mode): what they say about themselves, and when they stop working. */

/** When a presigned URL was signed (X-Amz-Date, to the second) and until when it works (plus X-Amz-Expires). */
export const signatureOf = (url: string) => {
  const params = new URL(url).searchParams
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(params.get('X-Amz-Date') ?? '')
  if (!date) throw new Error(`not a presigned URL: ${url}`)
  const [year, month, day, hour, minute, second] = date.slice(1).map(Number)
  const signedAt = Date.UTC(year, month - 1, day, hour, minute, second)
  const expiresIn = Number(params.get('X-Amz-Expires'))
  return { expiresAt: signedAt + expiresIn * 1000, expiresIn, signedAt }
}

type Answer = { after: number; before: number; body: string; status: number }

/**
 * GETs `url` over and over until the S3 server stops answering 200 (an expired URL), and returns
 * every answer with when its request began and ended. Throws if it still works at `deadline`.
 */
export const fetchUntilRefused = async (
  url: string,
  { deadline, intervalMs = 100 }: { deadline: number; intervalMs?: number },
): Promise<{ refused: Answer; worked: Answer[] }> => {
  const worked: Answer[] = []
  for (;;) {
    const before = Date.now()
    const response = await fetch(url)
    const body = response.ok ? '' : await response.text()
    if (response.ok) await response.arrayBuffer()
    const answer = { after: Date.now(), before, body, status: response.status }
    if (!response.ok) return { refused: answer, worked }
    worked.push(answer)
    if (answer.after > deadline)
      throw new Error(`${url} still worked at ${new Date(answer.after).toISOString()}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
