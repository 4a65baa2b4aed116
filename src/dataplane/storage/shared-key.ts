import { createHmac, timingSafeEqual } from 'node:crypto'
import type { QueryParam } from './http.ts'

/**
 * Shared Key and Shared Key Lite for the Blob and File services ("Authorize with Shared Key", Storage REST). The
 * string-to-sign is rebuilt from the request as received: the path exactly as sent on the wire, query parameters
 * decoded, `x-ms-*` headers sorted. Clients disagree on details the specification leaves open (header order, query
 * parameters with empty values), so a few spellings are tried — each one a client really produces:
 * - header order: the service's own (emulated by azure-storage-blob for Python with a weight alphabet, and by
 *   @azure/storage-blob with .NET en-US sort keys), and plain ordinal order (Go, older clients);
 * - @azure/storage-blob leaves out query parameters without a value;
 * - path-style URLs (`https://127.0.0.1:port/account/…`): with and without the account repeated.
 * Signatures are compared in constant time.
 */

export interface SignedRequest {
  method: string
  /** Lower-case header names present on the request. */
  headerNames: readonly string[]
  header(name: string): string | undefined
  rawPath: string
  params: readonly QueryParam[]
  version: string | null
}

export interface SharedKeyAuthorization {
  scheme: 'SharedKey' | 'SharedKeyLite'
  account: string
  signature: string
}

/** `Authorization: SharedKey account:signature`; undefined when the header is not a Shared Key one. */
export function parseSharedKeyHeader(value: string): SharedKeyAuthorization | undefined {
  const m = /^(SharedKey|SharedKeyLite)\s+([^:\s]+):(\S+)$/.exec(value.trim())
  if (!m) return undefined
  return { scheme: m[1] as SharedKeyAuthorization['scheme'], account: m[2] as string, signature: m[3] as string }
}

// -- header orders

const ordinal = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

// The service's order as azure-storage-blob (Python) writes it down: a weight per character.
const PY_WEIGHTS = '-!#$%&*.^_|~+"\'(),/`~0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]abcdefghijklmnopqrstuvwxyz{}'
function pythonOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const wa = PY_WEIGHTS.indexOf(a[i] as string)
    const wb = PY_WEIGHTS.indexOf(b[i] as string)
    if (wa !== wb) return wa - wb
  }
  return a.length - b.length
}

// .NET en-US culture order over header-name characters: hyphen and apostrophe are ignored at the first level and
// only break ties at the last; the remaining punctuation sorts before digits, digits before letters.
const CULTURE_PRIMARY = '!#$%&*.^_`|~+0123456789abcdefghijklmnopqrstuvwxyz'
const primaryWeight = (c: string) => {
  const lower = c.toLowerCase()
  const i = CULTURE_PRIMARY.indexOf(lower)
  return i < 0 ? 0 : i + 1
}
function cultureOrder(a: string, b: string): number {
  const strip = (s: string) => [...s].filter((c) => primaryWeight(c) > 0)
  const pa = strip(a)
  const pb = strip(b)
  const n = Math.min(pa.length, pb.length)
  for (let i = 0; i < n; i++) {
    const d = primaryWeight(pa[i] as string) - primaryWeight(pb[i] as string)
    if (d !== 0) return d
  }
  if (pa.length !== pb.length) return pa.length - pb.length
  return ordinal(a, b)
}

const ORDERS = [pythonOrder, cultureOrder, ordinal] as const

// -- string-to-sign pieces

function canonicalHeaders(r: SignedRequest, order: (a: string, b: string) => number): string {
  const names = r.headerNames.filter((n) => n.startsWith('x-ms-')).sort(order)
  let out = ''
  for (const n of names) out += `${n}:${(r.header(n) ?? '').trimStart()}\n`
  return out
}

function canonicalQuery(params: readonly QueryParam[], dropEmpty: boolean): string {
  const byName = new Map<string, string[]>()
  for (const p of params) {
    if (dropEmpty && (p.rawValue === null || p.rawValue === '' || p.rawValue.includes('='))) continue
    const k = p.name.toLowerCase()
    const list = byName.get(k)
    if (list) list.push(p.value)
    else byName.set(k, [p.value])
  }
  return [...byName.keys()]
    .sort(ordinal)
    .map((k) => `\n${k}:${(byName.get(k) as string[]).sort(ordinal).join(',')}`)
    .join('')
}

function standardHeaders(r: SignedRequest): string {
  const h = (n: string) => r.header(n) ?? ''
  let length = h('content-length')
  // From 2015-02-21 a zero Content-Length signs as the empty string.
  if (length === '0' && (r.version === null || r.version >= '2015-02-21')) length = ''
  return [
    r.method,
    h('content-encoding'),
    h('content-language'),
    length,
    h('content-md5'),
    h('content-type'),
    h('date'),
    h('if-modified-since'),
    h('if-match'),
    h('if-none-match'),
    h('if-unmodified-since'),
    h('range'),
  ].join('\n')
}

/** Every string-to-sign azid accepts for this request, the specification's spelling first. */
export function sharedKeyStringsToSign(
  r: SignedRequest,
  q: { account: string; scheme: SharedKeyAuthorization['scheme']; pathStyle: boolean },
): string[] {
  const resources = [`/${q.account}${r.rawPath}`]
  if (q.pathStyle) {
    const prefix = `/${q.account}`
    const stripped = r.rawPath.startsWith(`${prefix}/`) || r.rawPath === prefix ? r.rawPath.slice(prefix.length) : null
    if (stripped !== null) resources.push(`/${q.account}${stripped || '/'}`)
  }
  const headerVariants = [...new Set(ORDERS.map((o) => canonicalHeaders(r, o)))]
  const out = new Set<string>()
  if (q.scheme === 'SharedKeyLite') {
    // Lite: VERB, Content-MD5, Content-Type, Date, headers, resource with only `comp`.
    const comp = r.params.find((p) => p.name.toLowerCase() === 'comp')
    const head = [r.method, r.header('content-md5') ?? '', r.header('content-type') ?? '', r.header('date') ?? ''].join(
      '\n',
    )
    for (const hv of headerVariants)
      for (const res of resources) out.add(`${head}\n${hv}${res}${comp ? `?comp=${comp.value}` : ''}`)
    return [...out]
  }
  const head = standardHeaders(r)
  const queries = [...new Set([canonicalQuery(r.params, false), canonicalQuery(r.params, true)])]
  for (const hv of headerVariants)
    for (const res of resources) for (const qv of queries) out.add(`${head}\n${hv}${res}${qv}`)
  return [...out]
}

export const hmacBase64 = (key: Buffer, s: string): string =>
  createHmac('sha256', key).update(s, 'utf8').digest('base64')

/** Constant-time equality of two base64 signatures. */
export function signaturesEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8')
  const b = Buffer.from(expected, 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Verifies a Shared Key signature against the account's keys. Returns null when one of them signs one of the
 * accepted strings, else the specification's string-to-sign (Azure quotes it in AuthenticationErrorDetail). The
 * specification's spelling is tried first; the variants only when it does not match. Each comparison is constant
 * time.
 */
export function verifySharedKey(
  r: SignedRequest,
  auth: SharedKeyAuthorization,
  q: { account: string; keys: readonly Buffer[]; pathStyle: boolean },
): { ok: true } | { ok: false; stringToSign: string } {
  const matches = (s: string) => q.keys.some((key) => signaturesEqual(auth.signature, hmacBase64(key, s)))
  const primary = primaryStringToSign(r, { account: q.account, scheme: auth.scheme })
  if (matches(primary)) return { ok: true }
  for (const s of sharedKeyStringsToSign(r, { account: q.account, scheme: auth.scheme, pathStyle: q.pathStyle }))
    if (s !== primary && matches(s)) return { ok: true }
  return { ok: false, stringToSign: primary }
}

/** The specification's string-to-sign (service header order, every query parameter, the path as sent). */
function primaryStringToSign(
  r: SignedRequest,
  q: { account: string; scheme: SharedKeyAuthorization['scheme'] },
): string {
  const headers = canonicalHeaders(r, pythonOrder)
  const resource = `/${q.account}${r.rawPath}`
  if (q.scheme === 'SharedKeyLite') {
    const comp = r.params.find((p) => p.name.toLowerCase() === 'comp')
    const head = [r.method, r.header('content-md5') ?? '', r.header('content-type') ?? '', r.header('date') ?? ''].join(
      '\n',
    )
    return `${head}\n${headers}${resource}${comp ? `?comp=${comp.value}` : ''}`
  }
  return `${standardHeaders(r)}\n${headers}${resource}${canonicalQuery(r.params, false)}`
}
