import { StsError } from './errors.ts'

/** Parameters of a form or query string, with duplicates refused (RFC 6749 §3.1: "parameters MUST NOT be included more than once"). */
export type Params = ReadonlyMap<string, string>

export function parseFormStrict(body: string): Params {
  const out = new Map<string, string>()
  if (body.length === 0) return out
  for (const part of body.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const rawK = eq < 0 ? part : part.slice(0, eq)
    const rawV = eq < 0 ? '' : part.slice(eq + 1)
    let k: string
    let v: string
    try {
      k = decodeURIComponent(rawK.replaceAll('+', ' '))
      v = decodeURIComponent(rawV.replaceAll('+', ' '))
    } catch {
      // An undecodable pair is ignored, as Entra does: the request then fails on the parameter it lacks.
      continue
    }
    if (out.has(k)) throw new StsError('duplicateParameter', { name: k })
    out.set(k, v)
  }
  return out
}

export function queryParams(search: URLSearchParams): Params {
  const out = new Map<string, string>()
  for (const [k, v] of search) {
    if (out.has(k)) throw new StsError('duplicateParameter', { name: k })
    out.set(k, v)
  }
  return out
}

export function required(p: Params, name: string): string {
  const v = p.get(name)
  if (v === undefined || v.trim() === '') throw new StsError('missingParameter', { name })
  return v
}
