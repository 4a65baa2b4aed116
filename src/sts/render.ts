import type { DomainError } from '../kernel/errors.ts'
import { STS_ERRORS, type StsErrorKey } from './errors.ts'

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
