import type { Jwk } from '../keys/index.ts'
import { v1Issuer, v2Issuer } from './claims.ts'
import type { TenantRef } from './tenants.ts'

const MICROSOFT_CLOUD_METADATA = [
  {
    preferred_network: 'login.microsoftonline.com',
    preferred_cache: 'login.windows.net',
    aliases: ['login.microsoftonline.com', 'login.windows.net', 'login.microsoft.com', 'sts.windows.net'],
  },
]

/**
 * `GET /common/discovery/instance`: MSAL's instance discovery. The tenant discovery endpoint is derived from the
 * `authorization_endpoint` the client sent, so it points back at whatever host and port the client uses (clients.md §4.1).
 */
export function instanceDiscovery(q: { authorizationEndpoint: string | null; apiVersion: string; origin: string }) {
  let host = new URL(q.origin).host
  let tenant = 'common'
  let origin = q.origin
  if (q.authorizationEndpoint) {
    try {
      const u = new URL(q.authorizationEndpoint)
      if (u.protocol === 'https:') {
        host = u.host
        origin = `${u.protocol}//${u.host}`
        tenant = u.pathname.split('/').filter(Boolean)[0] ?? 'common'
      }
    } catch {
      // keep the request's own origin
    }
  }
  const metadata =
    host.toLowerCase() === 'login.microsoftonline.com'
      ? MICROSOFT_CLOUD_METADATA
      : [{ preferred_network: host, preferred_cache: host, aliases: [host] }]
  return {
    tenant_discovery_endpoint: `${origin}/${tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': q.apiVersion === '1.0' ? '1.0' : '1.1',
    metadata,
  }
}

/** The tenant's OpenID Connect discovery document, v2 or v1 (api-shapes §8.5). */
export function openidConfiguration(q: { version: 1 | 2; tenant: TenantRef; origin: string }) {
  const { origin } = q
  const seg = q.tenant.kind === 'tenant' ? q.tenant.tenant.id : q.tenant.alias
  const tid = q.tenant.kind === 'tenant' ? q.tenant.tenant.id : '{tenantid}'
  const v2 = q.version === 2
  const oauth = v2 ? `${origin}/${seg}/oauth2/v2.0` : `${origin}/${seg}/oauth2`
  const doc: Record<string, unknown> = {
    token_endpoint: `${oauth}/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: v2 ? `${origin}/${seg}/discovery/v2.0/keys` : `${origin}/common/discovery/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', v2 ? 'id_token token' : 'token id_token', 'token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: v2 ? v2Issuer(origin, tid) : tid === '{tenantid}' ? 'https://sts.windows.net/{tenantid}/' : v1Issuer(tid),
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${oauth}/authorize`,
    device_authorization_endpoint: `${oauth}/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${oauth}/logout`,
    claims_supported: [
      'sub',
      'iss',
      'cloud_instance_name',
      'cloud_instance_host_name',
      'cloud_graph_host_name',
      'msgraph_host',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    kerberos_endpoint: `${origin}/${seg}/kerberos`,
    tenant_region_scope: 'NA',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  }
  if (!v2) {
    doc.check_session_iframe = `${origin}/${seg}/oauth2/checksession`
    doc.microsoft_multi_refresh_token = true
  }
  return doc
}

/** JWKS: v2 key sets carry the issuer template, v1 sets do not (api-shapes §8.6). */
export function jwksDocument(keys: readonly Jwk[], q: { version: 1 | 2; origin: string; tenantId: string | null }) {
  return {
    keys: keys.map((k) => (q.version === 2 ? { ...k, issuer: v2Issuer(q.origin, q.tenantId ?? '{tenantid}') } : k)),
  }
}
