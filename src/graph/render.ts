import { GRAPH_ERRORS, type GraphError, type GraphErrorCode } from './errors.ts'

/** Graph's `innerError.date`: UTC to the second, no `Z`, no fraction (docs/wire/arm-errors.md §9). */
export const graphErrorDate = (ms: number): string => new Date(ms).toISOString().slice(0, 19)

/**
 * The one place a Graph error becomes a response: `{"error":{"code","message","innerError":{"date","request-id",
 * "client-request-id"}}}` in that order (docs/wire/arm-errors.md §9). 401s carry a bearer challenge.
 */
export function renderGraphError(
  err: GraphError,
  q: { requestId: string; clientRequestId: string; now: number },
): { status: number; body: unknown; headers: Record<string, string> } {
  const entry = GRAPH_ERRORS[err.code as GraphErrorCode] ?? GRAPH_ERRORS.InternalServerError
  const headers: Record<string, string> = {}
  if (entry.status === 401)
    // Seen verbatim on a 2024 Graph 401 (Microsoft365DSC/Microsoft365DSC#4427); arm-errors.md §9 still lists it UNVERIFIED.
    headers['WWW-Authenticate'] =
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
  return {
    status: entry.status,
    body: {
      error: {
        code: entry.code,
        message: entry.message(err.args as Record<string, string>),
        innerError: {
          date: graphErrorDate(q.now),
          'request-id': q.requestId,
          'client-request-id': q.clientRequestId,
        },
      },
    },
    headers,
  }
}
