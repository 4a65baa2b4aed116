// The portal's server side: serves the static files under src/ui/public (plain ES modules and CSS, no build step).
// Everything the portal shows it fetches itself from ARM, Graph and the admin API, as the Azure portal does.
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { extname, join, relative } from 'node:path'

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
}

/** No inline script or style anywhere; the page talks only to its own origin. */
export const PORTAL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': PORTAL_CSP,
  'X-Content-Type-Options': 'nosniff',
  // The sign-in answer carries the authorization code in the query: never send the URL elsewhere.
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
}

interface Asset {
  body: Buffer
  type: string
  etag: string
}

export interface Portal {
  fetch(req: Request): Response
  /** The path prefix of this build's assets, `/portal/assets/<hash>/`. */
  readonly assetBase: string
}

function walk(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else out.push(p)
  }
  return out
}

const etagOf = (b: Buffer | string) => `"${createHash('sha256').update(b).digest('base64url').slice(0, 22)}"`

/**
 * Reads the files once, when the portal is created. Assets are served under a path named by a hash of all of them,
 * cached for a year; `index.html` is revalidated on every load, so a new build is picked up at once.
 */
export function createPortal(opts: { root?: string } = {}): Portal {
  const root = opts.root ?? join(import.meta.dirname, 'public')
  const assets = new Map<string, Asset>()
  const whole = createHash('sha256')
  let template = ''
  for (const file of walk(root)) {
    const rel = relative(root, file).split('\\').join('/')
    if (rel === 'index.html') {
      template = readFileSync(file, 'utf8')
      continue
    }
    const type = TYPES[extname(file)]
    if (!type) continue
    const body = readFileSync(file)
    whole.update(rel).update(body)
    assets.set(rel, { body, type, etag: etagOf(body) })
  }
  const hash = whole.digest('hex').slice(0, 16)
  const assetBase = `/portal/assets/${hash}/`
  // Every module is preloaded in parallel: no import waterfall before the first paint.
  const preloads = [...assets.keys()]
    .filter((k) => k.endsWith('.js'))
    .map((k) => `<link rel="modulepreload" href="${assetBase}${k}">`)
    .join('\n')
  const html = Buffer.from(template.replaceAll('{{ASSETS}}', assetBase).replace('{{PRELOADS}}', preloads))
  const htmlEtag = etagOf(html)

  const headers = (extra: Record<string, string>) => new Headers({ ...SECURITY_HEADERS, ...extra })
  const plain = (status: number, text: string, extra: Record<string, string> = {}) =>
    new Response(text, { status, headers: headers({ 'Content-Type': 'text/plain; charset=utf-8', ...extra }) })

  function send(req: Request, body: Buffer, type: string, etag: string, cache: string): Response {
    const h = headers({ 'Content-Type': type, ETag: etag, 'Cache-Control': cache })
    if (req.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers: h })
    h.set('Content-Length', String(body.length))
    return new Response(req.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers: h })
  }

  return {
    assetBase,
    fetch(req) {
      const path = new URL(req.url).pathname
      if (req.method !== 'GET' && req.method !== 'HEAD') return plain(405, 'Method Not Allowed', { Allow: 'GET, HEAD' })
      if (path === '/') return new Response(null, { status: 302, headers: headers({ Location: '/portal/' }) })
      if (path === '/portal' || path === '/portal/')
        return send(req, html, 'text/html; charset=utf-8', htmlEtag, 'no-cache')
      if (path.startsWith(assetBase)) {
        const a = assets.get(path.slice(assetBase.length))
        if (a) return send(req, a.body, a.type, a.etag, 'public, max-age=31536000, immutable')
      }
      return plain(404, 'Not Found', { 'Cache-Control': 'no-store' })
    },
  }
}
