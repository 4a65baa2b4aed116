import type { IncomingMessage } from 'node:http'
import { badHeader, badQuery, storageError } from './errors.ts'

/** Oldest service version azid accepts; bearer tokens need 2017-11-09 or later (api-shapes §6.4). */
export const MIN_VERSION = '2009-09-19'
export const BEARER_MIN_VERSION = '2017-11-09'
const VERSION_RE = /^\d{4}-\d{2}-\d{2}$/

/** One raw query parameter: name and value as sent (still percent-encoded) and decoded. */
export interface QueryParam {
  rawName: string
  rawValue: string | null
  name: string
  value: string
}

/** What every storage handler knows about a request once its URL and headers are parsed. */
export interface StorageRequest {
  req: IncomingMessage
  method: string
  /** The path as sent on the wire (percent-encoded), without the query. */
  rawPath: string
  /** Query parameters in order of appearance. */
  params: readonly QueryParam[]
  /** First value of each query parameter, decoded; names as sent (Azure's names are lower case). */
  query: ReadonlyMap<string, string>
  requestId: string
  /** `x-ms-version`, validated; null when absent. */
  version: string | null
  /** When the request was received (epoch ms). */
  receivedAt: number
  /** Client address (namespace-forwarded requests come over a Unix socket and report 127.0.0.1). */
  clientIp: string
  /** Header value (lower-case name); duplicates joined with ', ' by node. */
  header(name: string): string | undefined
}

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    throw storageError('InvalidUri', { detail: `malformed percent-encoding: ${s.slice(0, 80)}` })
  }
}

/** Splits a raw query string; `+` stays `+` (the SDKs percent-encode everything they mean). */
export function parseQuery(raw: string): QueryParam[] {
  if (raw === '') return []
  const out: QueryParam[] = []
  for (const part of raw.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const rawName = eq < 0 ? part : part.slice(0, eq)
    const rawValue = eq < 0 ? null : part.slice(eq + 1)
    out.push({ rawName, rawValue, name: decode(rawName), value: rawValue === null ? '' : decode(rawValue) })
  }
  return out
}

export function createStorageRequest(
  req: IncomingMessage,
  q: { requestId: string; receivedAt: number; url?: string },
): StorageRequest {
  const url = q.url ?? req.url ?? '/'
  const qi = url.indexOf('?')
  const rawPath = qi < 0 ? url : url.slice(0, qi)
  const params = parseQuery(qi < 0 ? '' : url.slice(qi + 1))
  const query = new Map<string, string>()
  for (const p of params) if (!query.has(p.name)) query.set(p.name, p.value)
  const versionHeader = req.headers['x-ms-version']
  const v = Array.isArray(versionHeader) ? versionHeader[0] : versionHeader
  let version: string | null = null
  if (v !== undefined) {
    if (!VERSION_RE.test(v) || v < MIN_VERSION) throw badHeader('x-ms-version', v)
    version = v
  }
  const remote = req.socket.remoteAddress ?? '127.0.0.1'
  return {
    req,
    method: (req.method ?? 'GET').toUpperCase(),
    rawPath,
    params,
    query,
    requestId: q.requestId,
    version,
    receivedAt: q.receivedAt,
    clientIp: remote.startsWith('::ffff:') ? remote.slice(7) : remote,
    header(name) {
      const h = req.headers[name]
      return Array.isArray(h) ? h.join(', ') : h
    },
  }
}

// -- times

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

/** RFC 1123 (`Date`, `Last-Modified`): `Mon, 01 Jan 2024 00:00:00 GMT`. */
export const httpDate = (ms: number): string => new Date(ms).toUTCString()

/** ISO 8601 with seven fractional digits, as Storage writes times in bodies and error messages. */
export function isoTime7(ms: number): string {
  const d = new Date(ms)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}0000Z`
}

/** ISO 8601 without fractions (`SignedStart`, SAS times). */
export const isoSeconds = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`

/** Parses an RFC 1123 date header; NaN when malformed. */
export function parseHttpDate(s: string): number {
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(s.trim())) return Number.NaN
  return Date.parse(s)
}

/** ISO 8601 as SAS fields carry it: a date, or date and time with optional fraction, UTC `Z`. */
export function parseIsoTime(s: string): number {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?Z)?$/.test(s)) return Number.NaN
  return Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s)
}

// -- metadata

/** C# identifiers (Azure's rule for metadata names). */
const META_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const META_LIMIT = 8 * 1024

/** `x-ms-meta-*` headers with the names' case as sent (node lowercases `headers`; rawHeaders keep it). */
export function parseMetadata(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  const seen = new Map<string, string>()
  let size = 0
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length < 10 || name.slice(0, 10).toLowerCase() !== 'x-ms-meta-') continue
    const key = name.slice(10)
    const value = (raw[i + 1] as string).trim()
    if (key === '') throw storageError('EmptyMetadataKey', { details: [['HeaderName', name]] })
    if (!META_NAME.test(key)) throw storageError('InvalidMetadata', { details: [['HeaderName', name]] })
    const lower = key.toLowerCase()
    const prior = seen.get(lower)
    if (prior !== undefined) {
      // Repeated headers combine, as HTTP allows (Azure joins them with a comma).
      out[prior] = `${out[prior]},${value}`
      size += value.length + 1
    } else {
      seen.set(lower, key)
      out[key] = value
      size += key.length + value.length
    }
  }
  if (size > META_LIMIT) throw storageError('MetadataTooLarge')
  return out
}

// -- ranges

export interface ByteRange {
  start: number
  /** Inclusive. */
  end: number
}

/**
 * `x-ms-range` (wins) or `Range`: `bytes=start-[end]`. Returns undefined for no range. A malformed `x-ms-range` is
 * 400 InvalidHeaderValue; a malformed `Range` is ignored (the whole resource is returned), as HTTP allows.
 * A start at or past the end is 416 InvalidRange.
 */
export function parseRange(r: StorageRequest, size: number): ByteRange | undefined {
  const xms = r.header('x-ms-range')
  const plain = r.header('range')
  const value = xms ?? plain
  if (value === undefined) return undefined
  const m = /^bytes=(\d+)-(\d*)$/.exec(value.trim())
  if (!m) {
    if (xms !== undefined) throw badHeader('x-ms-range', xms)
    return undefined
  }
  const start = Number(m[1])
  const end = m[2] === '' ? Number.POSITIVE_INFINITY : Number(m[2])
  if (!Number.isSafeInteger(start) || end < start) {
    if (xms !== undefined) throw badHeader('x-ms-range', xms)
    return undefined
  }
  if (start >= size)
    throw storageError('InvalidRange', {
      headers: { 'Content-Range': `bytes */${size}` },
      detail: `range ${value} of ${size} bytes`,
    })
  return { start, end: Math.min(end, size - 1) }
}

// -- conditional headers

export interface Validators {
  exists: boolean
  etag: string
  lastModified: number
}

/**
 * Evaluates If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since (RFC 7232 order). Reads answer 304 where
 * HTTP says so; everything else that fails is 412 ConditionNotMet. Returns 304 or undefined.
 */
export function checkConditions(r: StorageRequest, v: Validators, q: { read: boolean }): 304 | undefined {
  const ifMatch = r.header('if-match')
  const ifNoneMatch = r.header('if-none-match')
  const ifModifiedSince = r.header('if-modified-since')
  const ifUnmodifiedSince = r.header('if-unmodified-since')
  const etags = (h: string) => h.split(',').map((s) => s.trim())
  const sameSecond = (t: number) => Math.floor(t / 1000) * 1000
  const date = (name: string, value: string) => {
    const t = parseHttpDate(value)
    if (Number.isNaN(t)) throw badHeader(name, value)
    return t
  }
  const notMet = () => storageError('ConditionNotMet', { detail: 'conditional headers' })
  if (ifMatch !== undefined) {
    const list = etags(ifMatch)
    if (!v.exists || !(list.includes('*') || list.includes(v.etag))) throw notMet()
  } else if (ifUnmodifiedSince !== undefined) {
    const t = date('If-Unmodified-Since', ifUnmodifiedSince)
    if (v.exists && sameSecond(v.lastModified) > t) throw notMet()
  }
  if (ifNoneMatch !== undefined) {
    const list = etags(ifNoneMatch)
    if (v.exists && (list.includes('*') || list.includes(v.etag))) {
      if (q.read) return 304
      throw notMet()
    }
  } else if (ifModifiedSince !== undefined) {
    const t = date('If-Modified-Since', ifModifiedSince)
    if (v.exists && sameSecond(v.lastModified) <= t) {
      if (q.read) return 304
      throw notMet()
    }
  }
  return undefined
}

/** A positive integer query parameter (maxresults, timeout), or the default. */
export function intParam(r: StorageRequest, name: string, q: { min: number; max?: number; dflt: number }): number {
  const v = r.query.get(name)
  if (v === undefined) return q.dflt
  if (!/^\d{1,10}$/.test(v) || Number(v) < q.min) throw badQuery(name, v)
  return q.max !== undefined ? Math.min(Number(v), q.max) : Number(v)
}

/**
 * `include=` of a listing, lower case, blanks dropped; a value not in `allowed` (when given) is
 * InvalidQueryParameterValue.
 */
export function includeParam(r: StorageRequest, allowed?: ReadonlySet<string>): string[] {
  const include = (r.query.get('include') ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
  if (allowed) for (const i of include) if (!allowed.has(i)) throw badQuery('include', i)
  return include
}

/** Content-Length as a number; null when absent (chunked or none). Refuses nonsense. */
export function contentLength(r: StorageRequest): number | null {
  const v = r.header('content-length')
  if (v === undefined) return null
  if (!/^\d{1,15}$/.test(v)) throw badHeader('Content-Length', v)
  return Number(v)
}

/** A base64 MD5 header (16 bytes), or undefined. */
export function md5Header(r: StorageRequest, name: string): Buffer | undefined {
  const v = r.header(name)
  if (v === undefined || v === '') return undefined
  const b = Buffer.from(v, 'base64')
  if (b.length !== 16 || b.toString('base64') !== v)
    throw storageError('InvalidMd5', {
      details: [
        ['HeaderName', name],
        ['HeaderValue', v],
      ],
    })
  return b
}

/** A base64 CRC-64 header (8 bytes), or undefined. */
export function crc64Header(r: StorageRequest, name: string): Buffer | undefined {
  const v = r.header(name)
  if (v === undefined || v === '') return undefined
  const b = Buffer.from(v, 'base64')
  if (b.length !== 8 || b.toString('base64') !== v) throw badHeader(name, v)
  return b
}
