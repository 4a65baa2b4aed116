import type { ServerResponse } from 'node:http'
import type { StorageError } from './errors.ts'
import { httpDate, isoTime7 } from './http.ts'
import { XML_DECL, escapeXml } from './xml.ts'

/** What every storage response carries, success or error (api-shapes §6.7). */
export interface ResponseBasics {
  requestId: string
  /** Echoed `x-ms-version` (or the SAS `sv`); omitted when the request had none. */
  version: string | null
  clientRequestId: string | undefined
  now: number
  /** `Server` header, e.g. `Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0`. */
  server: string
}

export function basicHeaders(b: ResponseBasics): Record<string, string> {
  const h: Record<string, string> = {
    Server: b.server,
    'x-ms-request-id': b.requestId,
    Date: httpDate(b.now),
  }
  if (b.version) h['x-ms-version'] = b.version
  if (b.clientRequestId !== undefined && /^[\x20-\x7e]{0,1024}$/.test(b.clientRequestId))
    h['x-ms-client-request-id'] = b.clientRequestId
  return h
}

/** The XML error body: `<Error><Code/><Message>…\nRequestId:…\nTime:…</Message>[details]</Error>`. */
export function errorBody(err: StorageError, b: Pick<ResponseBasics, 'requestId' | 'now'>): string {
  const details = err.details.map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('')
  return `${XML_DECL}<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(
    `${err.message}\nRequestId:${b.requestId}\nTime:${isoTime7(b.now)}`,
  )}</Message>${details}</Error>`
}

/**
 * The one place a storage error becomes a response: status with Azure's reason phrase, `x-ms-error-code`, the
 * XML body (not for HEAD), and `WWW-Authenticate` for 401s when a challenge is given.
 */
export function sendError(
  res: ServerResponse,
  err: StorageError,
  b: ResponseBasics & { head: boolean; challenge?: string },
): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = b.head ? '' : errorBody(err, b)
  const headers: Record<string, string> = {
    ...basicHeaders(b),
    'x-ms-error-code': err.code,
    'Content-Type': 'application/xml',
    'Content-Length': String(Buffer.byteLength(body)),
    ...err.headers,
  }
  if (err.status === 401 && b.challenge) headers['WWW-Authenticate'] = b.challenge
  // Azure's status line carries the message ("HTTP/1.1 403 Server failed to authenticate the request. …").
  const reason = err.message.replace(/[^\x20-\x7e]/g, ' ').slice(0, 512)
  res.writeHead(err.status, reason, headers)
  res.end(body)
}
