/** Reads a request body up to `limit` bytes; returns null when it is larger (the rest is not read). */
export async function readBodyLimited(req: Request, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers.get('content-length') ?? '0')
  if (declared > limit) return null
  if (!req.body) return Buffer.alloc(0)
  const reader = req.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      return null
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}
