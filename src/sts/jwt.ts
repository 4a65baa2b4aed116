import { StsError } from './errors.ts'

export interface DecodedJwt {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signingInput: string
  signature: Buffer
}

/** Decodes a compact JWS without verifying it; malformed input is AADSTS50027. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.')
  if (parts.length !== 3) throw new StsError('assertionMalformed', {}, 'not a compact JWS')
  const [h, p, s] = parts as [string, string, string]
  const parse = (seg: string): Record<string, unknown> => {
    let v: unknown
    try {
      v = JSON.parse(Buffer.from(seg, 'base64url').toString('utf8'))
    } catch {
      throw new StsError('assertionMalformed', {}, 'segments are not base64url JSON')
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new StsError('assertionMalformed', {}, 'segments are not JSON objects')
    return v as Record<string, unknown>
  }
  return { header: parse(h), payload: parse(p), signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') }
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
