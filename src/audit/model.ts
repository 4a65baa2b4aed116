/** One entry of the sign-in and activity log. */
export interface AuditEvent {
  id: string
  /** Sort key: milliseconds × 1000 + a per-process counter. */
  seq: number
  at: number
  /** token: a token issued or refused; authorization: an access decision; fault: an injected fault; admin: a change. */
  kind: 'token' | 'authorization' | 'fault' | 'admin'
  result: 'success' | 'failure'
  tenantId: string | null
  clientId: string | null
  principalId: string | null
  /** ARM id of the emulated host a request came from, when known. */
  host: string | null
  audience: string | null
  grantType: string | null
  /** Human-readable reason, never a token or secret. */
  reason: string | null
  errorCode: string | null
  requestId: string | null
  details: Record<string, unknown> | null
}

export interface AuditQuery {
  kind?: AuditEvent['kind']
  result?: AuditEvent['result']
  principalId?: string
  clientId?: string
  host?: string
  audience?: string
  tenantId?: string
  /** Only events with seq greater than this (for live tailing). */
  afterSeq?: number
  sinceMs?: number
  limit?: number
  /** Newest first (default) or oldest first. */
  order?: 'desc' | 'asc'
}
