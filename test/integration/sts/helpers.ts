// Shared assertions for the token-service integration tests (not a test file: the runner picks only *.test.ts).
import assert from 'node:assert/strict'
import { createLocalJWKSet, type JSONWebKeySet } from 'jose'
import type { AuditEvent } from '../../../src/audit/index.ts'
import type { StsErrorKey } from '../../../src/sts/index.ts'
import { type HttpResult, httpsRequest, postForm } from '../../support/https.ts'
import type { TestServer } from '../../support/server.ts'

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
/** Microsoft Azure CLI, a first-party public client. */
export const AZ_CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
/** AzCopy, another first-party public client. */
export const AZCOPY = '579a7132-0e58-4d80-b1e1-7a1e2d337859'
export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
export const ENTRA_TS_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/
export const CP1_CLAIMS = '{"access_token":{"xms_cc":{"values":["CP1"]}}}'

export const v2TokenUrl = (s: TestServer, tenant: string = s.tenantId) => `${s.base}/${tenant}/oauth2/v2.0/token`
export const v1TokenUrl = (s: TestServer, tenant: string = s.tenantId) => `${s.base}/${tenant}/oauth2/token`

/** client_credentials with the bootstrap secret (overridable). */
export function clientCredentials(
  s: TestServer,
  form: Record<string, string>,
  q: { version?: 1 | 2; tenant?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const url = q.version === 1 ? v1TokenUrl(s, q.tenant) : v2TokenUrl(s, q.tenant)
  return postForm(
    url,
    s.ca,
    { grant_type: 'client_credentials', client_id: s.clientId, client_secret: s.clientSecret, ...form },
    q.headers,
  )
}

export async function jwksBody(s: TestServer, path = '/common/discovery/keys'): Promise<JSONWebKeySet> {
  const r = await httpsRequest(`${s.base}${path}`, { ca: s.ca })
  assert.equal(r.status, 200, r.text)
  return r.json<JSONWebKeySet>()
}

/** The server's published keys, fetched now, as a jose key set. */
export async function localJwks(s: TestServer, path = '/common/discovery/keys') {
  return createLocalJWKSet(await jwksBody(s, path))
}

export function adminRequest(s: TestServer, path: string, opts: { method?: string; body?: unknown } = {}) {
  return httpsRequest(`${s.base}${path}`, {
    ca: s.ca,
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    headers: {
      'x-azid-admin-key': s.adminKey,
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  })
}

/** The audit event a request left (found by its x-ms-request-id). */
export async function auditEventFor(s: TestServer, requestId: string, result: 'success' | 'failure') {
  const r = await adminRequest(s, `/_azid/logs?kind=token&result=${result}&limit=10000`)
  assert.equal(r.status, 200, r.text)
  const events = r.json<{ value: AuditEvent[] }>().value
  return events.find((e) => e.requestId === requestId)
}

export interface ExpectedError {
  status: number
  error: string
  code: number
  /** The exact text between `AADSTS<code>: ` and ` Trace ID:`. */
  text?: string | RegExp
  /** Catalogue key the audit event records as errorCode; omit to skip the audit check. */
  audit?: StsErrorKey
  /** Expected correlation id (from client-request-id). */
  correlationId?: string
}

/**
 * Asserts an Entra error body (docs/wire/sts-errors.md §1): field order, status, `error`, `error_codes`,
 * `error_description` = `AADSTS<code>: <text> Trace ID: … Correlation ID: … Timestamp: …`, `trace_id` equal to the
 * `x-ms-request-id` header, no-store headers, and (when `audit` is given) a failure event in the audit log.
 */
export async function expectStsError(s: TestServer, r: HttpResult, exp: ExpectedError) {
  assert.equal(r.status, exp.status, r.text)
  assert.match(String(r.headers['content-type']), /^application\/json/)
  const body = r.json<Record<string, unknown>>()
  assert.deepEqual(Object.keys(body), [
    'error',
    'error_description',
    'error_codes',
    'timestamp',
    'trace_id',
    'correlation_id',
    'error_uri',
  ])
  assert.equal(body.error, exp.error)
  assert.deepEqual(body.error_codes, [exp.code])
  const requestId = r.headers['x-ms-request-id']
  assert.equal(typeof requestId, 'string')
  assert.match(requestId as string, GUID_RE)
  assert.equal(body.trace_id, requestId)
  assert.match(String(body.correlation_id), GUID_RE)
  if (exp.correlationId) assert.equal(body.correlation_id, exp.correlationId)
  assert.match(String(body.timestamp), ENTRA_TS_RE)
  assert.equal(body.error_uri, `${s.base}/error?code=${exp.code}`)
  const m = /^AADSTS(\d+): (.*) Trace ID: (\S+) Correlation ID: (\S+) Timestamp: (.+)$/s.exec(
    String(body.error_description),
  )
  assert.ok(m, `error_description has the Entra shape: ${String(body.error_description)}`)
  assert.equal(Number(m[1]), exp.code)
  assert.equal(m[3], body.trace_id)
  assert.equal(m[4], body.correlation_id)
  assert.equal(m[5], body.timestamp)
  if (typeof exp.text === 'string') assert.equal(m[2], exp.text)
  else if (exp.text) assert.match(m[2] as string, exp.text)
  if (exp.audit) {
    const ev = await auditEventFor(s, requestId as string, 'failure')
    assert.ok(ev, `a failure audit event for request ${String(requestId)}`)
    assert.equal(ev.kind, 'token')
    assert.equal(ev.result, 'failure')
    assert.equal(ev.errorCode, exp.audit)
  }
  return body
}

/** Asserts the no-store headers every token-endpoint answer carries. */
export function assertNoStore(r: HttpResult) {
  assert.equal(r.headers['cache-control'], 'no-store, no-cache')
  assert.equal(r.headers.pragma, 'no-cache')
}

export const b64urlJson = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
