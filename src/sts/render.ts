import type { DomainError } from '../kernel/errors.ts'
import { STS_ERRORS, type StsErrorKey } from './errors.ts'
import type { TokenResult } from './context.ts'

/** Entra formats timestamps as `2016-01-09 02:02:12Z`. */
export function entraTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`
}

export interface ErrorContext {
  traceId: string
  correlationId: string
  nowMs: number
  /** Origin the client used, for `error_uri`. */
  origin: string
}

/** The Entra error body: description ends with the trace id, correlation id and timestamp lines. */
export function renderStsError(err: DomainError, ctx: ErrorContext): { status: number; body: Record<string, unknown> } {
  const entry = STS_ERRORS[err.code as StsErrorKey] ?? STS_ERRORS.serverError
  const ts = entraTimestamp(ctx.nowMs)
  const text = entry.text(err.args as Record<string, string>)
  return {
    status: entry.status,
    body: {
      error: entry.error,
      // Since late 2023 Entra separates the trace lines with a single space (docs/wire/sts-errors.md §1).
      error_description: `AADSTS${entry.code}: ${text} Trace ID: ${ctx.traceId} Correlation ID: ${ctx.correlationId} Timestamp: ${ts}`,
      error_codes: [entry.code],
      timestamp: ts,
      trace_id: ctx.traceId,
      correlation_id: ctx.correlationId,
      error_uri: `${ctx.origin}/error?code=${entry.code}`,
    },
  }
}

/**
 * The JSON of a token answer: the same text as JSON.stringify of the fields in Entra's order, written without running
 * the serializer over the access token (a JWT we just minted: base64url and dots, nothing to escape).
 */
export function tokenJson(r: TokenResult): string {
  const userFlow = r.refreshToken !== undefined
  const q = JSON.stringify
  let out = '{"token_type":"Bearer"'
  if (r.version === 1) {
    if (userFlow && r.scope !== undefined) out += `,"scope":${q(r.scope)}`
    out += `,"expires_in":"${r.expiresIn}","ext_expires_in":"${r.extExpiresIn}","expires_on":"${r.expiresOn}","not_before":"${r.notBefore}"`
    if (r.resource !== undefined) out += `,"resource":${q(r.resource)}`
  } else {
    if (userFlow) out += `,"scope":${q(r.scope ?? '')}`
    out += `,"expires_in":${r.expiresIn},"ext_expires_in":${r.extExpiresIn}`
  }
  out += `,"access_token":"${r.accessToken}"`
  if (r.refreshToken) out += `,"refresh_token":${q(r.refreshToken)}`
  if (r.idToken) out += `,"id_token":${q(r.idToken)}`
  if (r.version !== 1 && r.clientInfo) out += `,"client_info":${q(r.clientInfo)}`
  return `${out}}`
}
