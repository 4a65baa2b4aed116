import { request } from 'node:https'

export interface HttpResult {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json<T = Record<string, unknown>>(): T
}

/** An HTTPS request that trusts `ca` (node's fetch cannot take a CA per request). */
export function httpsRequest(
  url: string,
  opts: { ca: string; method?: string; headers?: Record<string, string>; body?: string | Buffer; servername?: string },
): Promise<HttpResult> {
  return new Promise((res, rej) => {
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body)
    const req = request(
      url,
      {
        method: opts.method ?? (body ? 'POST' : 'GET'),
        ca: opts.ca,
        ...(opts.servername ? { servername: opts.servername } : {}),
        headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...opts.headers },
      },
      (r) => {
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => chunks.push(c))
        r.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          res({ status: r.statusCode ?? 0, headers: r.headers, text, json: <T>() => JSON.parse(text) as T })
        })
        r.on('error', rej)
      },
    )
    req.on('error', rej)
    if (body) req.write(body)
    req.end()
  })
}

/** POST an x-www-form-urlencoded body. */
export function postForm(url: string, ca: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  return httpsRequest(url, {
    ca,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  })
}

export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, p] = token.split('.')
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')),
    claims: JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')),
  }
}
