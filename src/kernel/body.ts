import type { IncomingMessage } from 'node:http'

/**
 * Reads a request body up to `limit` bytes; null when it is larger (a larger declared length is refused unread; the
 * rest of a larger chunked body is discarded). Served by @hono/node-server, the body is read from the Node request
 * itself (`env.incoming`): that skips the Web Request, its AbortSignal and its stream, a tenth of a token request's
 * CPU (docs/performance.md). Elsewhere (`app.request()` in tests) it reads the Web Request's stream.
 */
export async function readBodyLimited(req: Request, limit: number, env?: unknown): Promise<Buffer | null> {
  const declared = Number(req.headers.get('content-length') ?? '0')
  if (declared > limit) return null
  const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming
  if (incoming && typeof incoming.on === 'function' && !incoming.readableDidRead) return readIncoming(incoming, limit)
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

/** readBodyLimited for a bare Node request (the raw routes): a larger declared length is refused unread. */
export function readIncomingLimited(incoming: IncomingMessage, limit: number): Promise<Buffer | null> {
  if (Number(incoming.headers['content-length'] ?? '0') > limit) return Promise.resolve(null)
  return readIncoming(incoming, limit)
}

function readIncoming(incoming: IncomingMessage, limit: number): Promise<Buffer | null> {
  if (incoming.readableEnded) return Promise.resolve(Buffer.alloc(0))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (v: Buffer | null, err?: Error) => {
      incoming.off('data', onData)
      incoming.off('end', onEnd)
      incoming.off('error', onError)
      incoming.off('close', onClose)
      if (err) reject(err)
      else resolve(v)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        done(null)
        incoming.resume()
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => done(Buffer.concat(chunks, size))
    const onError = (err: Error) => done(null, err)
    const onClose = () => {
      if (!incoming.readableEnded) done(null, new Error('request aborted'))
    }
    incoming.on('data', onData)
    incoming.on('end', onEnd)
    incoming.on('error', onError)
    incoming.on('close', onClose)
  })
}
