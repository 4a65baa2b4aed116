import type { ServerResponse } from 'node:http'
import { KV_ERRORS, type KvError } from './errors.ts'

/** The one place Key Vault errors become responses: KeyVaultError JSON with the service's headers. */
export function renderKvError(res: ServerResponse, err: KvError, headers: Record<string, string>): void {
  const entry = KV_ERRORS[err.code]
  const args = err.args as Record<string, string>
  const error: Record<string, unknown> = { code: entry.code, message: entry.message(args) }
  if ('inner' in entry) error.innererror = { code: entry.inner }
  sendJson(res, entry.status, { error }, headers)
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const text = body === undefined ? '' : JSON.stringify(body)
  res.writeHead(status, {
    ...headers,
    ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    'content-length': String(Buffer.byteLength(text)),
  })
  res.end(text)
}
