import type { ServerResponse } from 'node:http'
import { fastHead, httpDate } from '../kernel/fast-http.ts'
import { MiError, type MiErrorCode } from './errors.ts'
import type { MiToken } from './service.ts'

/**
 * Wire shapes of the managed-identity endpoints, per flavour (docs/wire/mi-endpoints.md). Bodies are compact JSON
 * with every number a string unless the flavour says otherwise; errors are JSON too (JS parses every body).
 */

export const IMDS_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', Server: 'IMDS/150.870.65.azid' }
/** Keep-alive of the managed-identity listeners (node:http's `keepAliveTimeout`; `Keep-Alive: timeout=65`). */
export const MI_KEEP_ALIVE_MS = 65_000
const IMDS_HEADER_LIST = Object.entries(IMDS_HEADERS).flat()

/** Whole 200 answers (head and body) by body, for the second of their Date header. */
const wires = new Map<string, Buffer>()
let wiresDate = ''

/** A 200 IMDS answer as node:http would write it with `send` (same headers, same order), for the fast lane. */
export function imdsWire(body: string): Buffer {
  const date = httpDate()
  if (date !== wiresDate) {
    wires.clear()
    wiresDate = date
  }
  let wire = wires.get(body)
  if (wire === undefined) {
    const head = fastHead('200 OK', IMDS_HEADER_LIST, Buffer.byteLength(body), MI_KEEP_ALIVE_MS / 1000)
    wire = Buffer.from(head + body, 'utf8')
    if (wires.size < RENDERED_MAX) wires.set(body, wire)
  }
  return wire
}

const IMDS_TEXT: Record<MiErrorCode, [number, string, string]> = {
  MissingMetadataHeader: [400, 'invalid_request', 'Required metadata header not specified'],
  ForwardedRequest: [400, 'invalid_request', 'Requests with an X-Forwarded-For header are not accepted'],
  MissingApiVersion: [400, 'invalid_request', "Required query variable 'api-version' is missing"],
  InvalidApiVersion: [400, 'invalid_request', "Invalid value for query variable 'api-version'"],
  MissingResource: [400, 'invalid_request', "Required query variable 'resource' is missing"],
  MultipleSelectors: [400, 'invalid_request', 'Only one of client_id, object_id and msi_res_id may be specified'],
  DuplicateParameter: [400, 'invalid_request', 'Duplicate query parameter'],
  InvalidSelector: [400, 'invalid_request', 'Identity not found'],
  IdentityNotFound: [400, 'invalid_request', 'Identity not found'],
  NoIdentity: [400, 'invalid_request', 'Identity not found'],
  AmbiguousIdentity: [
    400,
    'invalid_request',
    'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request',
  ],
  InvalidResource: [400, 'invalid_resource', ''],
  MethodNotAllowed: [405, 'invalid_request', "The HTTP method (verb) isn't supported on the endpoint"],
  NotFound: [404, 'invalid_request', 'Not found'],
  Unauthorized: [401, 'unknown_source', 'Unknown Source'],
  Throttled: [429, 'invalid_request', 'Temporarily throttled, too many requests'],
  TooManyIdentities: [400, 'invalid_request', 'Identity not found'],
  Internal: [
    500,
    'unknown',
    'Failed to retrieve token from the Active directory. For details see logs in the azid log',
  ],
}

/** `{"error","error_description"}`: IMDS, Arc, Cloud Shell and the VM extension. */
export function imdsError(err: MiError, ctx: { traceId: string; timestamp: string }): { status: number; body: string } {
  const [status, error, text] = IMDS_TEXT[err.code] ?? IMDS_TEXT.Internal
  let description = text
  if (err.code === 'InvalidResource') {
    // Entra's AADSTS500011 is passed through inside error_description (mi-endpoints §1.2).
    description = `AADSTS500011: The resource principal named ${err.args.resource} was not found in the tenant named ${err.args.tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.\r\nTrace ID: ${ctx.traceId}\r\nCorrelation ID: ${ctx.traceId}\r\nTimestamp: ${ctx.timestamp}`
  }
  if (err.code === 'InvalidApiVersion' && err.args.version) description = `${text}: '${err.args.version}'`
  if (err.code === 'DuplicateParameter' && err.args.name) description = `${text} '${err.args.name}'`
  return { status, body: JSON.stringify({ error, error_description: description }) }
}

/** Rendered bodies of cached tokens, by token: only `expires_in` changes, once a second. Bounded. */
const rendered = new Map<string, { second: number; body: string; resource: string; clientId: string }>()
const RENDERED_MAX = 4096

/** IMDS success body: keys in alphabetical order, every value a string (mi-endpoints §1.1, TOK-001/002). */
export function imdsBody(t: MiToken, nowMs: number, extra?: Record<string, string>): string {
  const second = Math.floor(nowMs / 1000)
  if (!extra) {
    const hit = rendered.get(t.accessToken)
    // The same token may be asked for with another spelling of its resource (echoed as asked): compare it too.
    if (hit && hit.second === second && hit.resource === t.resource && hit.clientId === t.clientId) return hit.body
    const body = renderImds(t, nowMs, {})
    if (!hit && rendered.size >= RENDERED_MAX) rendered.delete(rendered.keys().next().value as string)
    rendered.set(t.accessToken, { second, body, resource: t.resource, clientId: t.clientId })
    return body
  }
  return renderImds(t, nowMs, extra)
}

function renderImds(t: MiToken, nowMs: number, extra: Record<string, string>): string {
  const expiresIn = Math.max(0, t.expiresOn - Math.floor(nowMs / 1000))
  const lifetime = String(t.expiresOn - t.notBefore - 300 - 1)
  const body: Record<string, string> = {
    access_token: t.accessToken,
    client_id: t.clientId,
    expires_in: String(expiresIn),
    expires_on: String(t.expiresOn),
    ext_expires_in: lifetime,
    not_before: String(t.notBefore),
    // The seed's sample carries an empty refresh_token (TOK-001: "not used by managed identities").
    refresh_token: '',
    resource: t.resource,
    token_type: 'Bearer',
    ...extra,
  }
  return JSON.stringify(body)
}

/** App Service 2019-08-01 success: `client_id` last (mi-endpoints §3.1). */
export function appServiceBody(t: MiToken): string {
  return JSON.stringify({
    access_token: t.accessToken,
    expires_on: String(t.expiresOn),
    resource: t.resource,
    token_type: 'Bearer',
    client_id: t.clientId,
  })
}

/** `MM/dd/yyyy HH:mm:ss +00:00`, the Linux form of App Service 2017 (az parses only this one). */
export function appService2017Date(epochS: number): string {
  const d = new Date(epochS * 1000)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +00:00`
}

export function appService2017Body(t: MiToken): string {
  return JSON.stringify({
    access_token: t.accessToken,
    expires_on: appService2017Date(t.expiresOn),
    resource: t.resource,
    token_type: 'Bearer',
    client_id: t.clientId,
  })
}

/** App Service error envelope: `{"statusCode","message","correlationId"}` (mi-endpoints §3.1). */
export function appServiceError(err: MiError, correlationId: string): { status: number; body: string } {
  const status =
    err.code === 'Unauthorized'
      ? 401
      : err.code === 'MethodNotAllowed'
        ? 405
        : err.code === 'Throttled'
          ? 429
          : err.code === 'Internal'
            ? 500
            : 400
  const message =
    err.code === 'Unauthorized'
      ? 'The request is missing the X-IDENTITY-HEADER or it is not valid for this resource.'
      : err.code === 'MissingResource'
        ? "The parameter 'resource' should not be null or empty string."
        : err.code === 'InvalidApiVersion' || err.code === 'MissingApiVersion'
          ? `The HTTP resource that matches the request URI does not support the API version '${err.args.version ?? ''}'.`
          : err.code === 'InvalidResource'
            ? `AADSTS500011: The resource principal named ${err.args.resource} was not found in the tenant named ${err.args.tenant}.`
            : err.code === 'Internal'
              ? 'An error occurred.'
              : 'Unable to load the proper Managed Identity.'
  return { status, body: JSON.stringify({ statusCode: status, message, correlationId }) }
}

/** Service Fabric: success with a numeric `expires_on`; errors `{"error":{"correlationId","code","message"}}` (§5). */
export function serviceFabricBody(t: MiToken): string {
  return JSON.stringify({
    token_type: 'Bearer',
    access_token: t.accessToken,
    expires_on: t.expiresOn,
    resource: t.resource,
  })
}

export function serviceFabricError(err: MiError, correlationId: string): { status: number; body: string } {
  const map: Partial<Record<MiErrorCode, [number, string, string]>> = {
    Unauthorized: [401, 'SecretHeaderNotFound', 'Secret is not found in the request headers.'],
    IdentityNotFound: [
      404,
      'ManagedIdentityNotFound',
      'Managed identity not found for the specified application host.',
    ],
    NoIdentity: [404, 'ManagedIdentityNotFound', 'Managed identity not found for the specified application host.'],
    MissingResource: [400, 'ArgumentNullOrEmpty', "The parameter 'resource' should not be null or empty string."],
    MissingApiVersion: [
      400,
      'InvalidApiVersion',
      `The api-version '' is not supported. Supported version is '2019-07-01-preview'.`,
    ],
    InvalidApiVersion: [
      400,
      'InvalidApiVersion',
      `The api-version '${err.args.version ?? ''}' is not supported. Supported version is '2019-07-01-preview'.`,
    ],
  }
  const [status, code, message] = map[err.code] ?? [
    err.code === 'InvalidResource' ? 400 : 500,
    err.code === 'InvalidResource' ? 'InvalidResource' : 'InternalServerError',
    err.code === 'InvalidResource'
      ? `The resource '${err.args.resource}' was not found in the tenant.`
      : 'An error occurred.',
  ]
  return { status, body: JSON.stringify({ error: { correlationId, code, message } }) }
}

/** Azure ML: App Service 2017's fields with an integer `expires_on` (§6). */
export function azureMlBody(t: MiToken): string {
  return JSON.stringify({
    access_token: t.accessToken,
    expires_on: t.expiresOn,
    resource: t.resource,
    token_type: 'Bearer',
    client_id: t.clientId,
  })
}

export function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string | number> = IMDS_HEADERS,
): void {
  if (res.headersSent || res.destroyed) return
  // A flat [name, value, …] list, built once per header set: node:http takes it as it is (the IMDS path is hot).
  let list = headerLists.get(headers)
  if (!list) {
    list = Object.entries(headers).flatMap(([k, v]) => [k, String(v)])
    headerLists.set(headers, list)
  }
  res.writeHead(status, [...list, 'Content-Length', String(Buffer.byteLength(body))])
  res.end(body)
}
const headerLists = new WeakMap<object, string[]>()

export { MiError }
