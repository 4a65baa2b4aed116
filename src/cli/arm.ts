/**
 * The CLI as a client of azid's ARM and Graph, as az is of Azure's: it signs in as the bootstrap administrator
 * (client credentials from the admin API) and sends the requests az sends.
 */
import { CliError, type Target, adminRequest, httpsRequest } from './client.ts'

/** Wire shape of GET /_azid/endpoints (type only; the CLI imports no server code). */
export interface EndpointsWire {
  tenantId: string
  tenantDomain: string
  subscriptionId: string
  authorityHost: string
  authority: string
  managementUrl: string
  graphUrl: string
  caCertPath: string
  bootstrap: { clientId: string; clientSecret: string | null; userPrincipalName: string; userPassword: string | null }
}

export type Json = Record<string, unknown>

export interface Session {
  target: Target
  endpoints: EndpointsWire
  subscription: string
  arm<T = Json>(method: string, path: string, apiVersion: string, body?: unknown): Promise<T>
  /** GET of a list, following nextLink. */
  armList(path: string, apiVersion: string): Promise<Json[]>
  graph<T = Json>(method: string, path: string, body?: unknown): Promise<T>
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isGuid = (s: string) => GUID.test(s)

function parse(text: string): Json | undefined {
  if (!text) return undefined
  try {
    return JSON.parse(text) as Json
  } catch {
    return undefined
  }
}

export async function openSession(target: Target, subscriptionFlag?: string): Promise<Session> {
  const endpoints = await adminRequest<EndpointsWire>(target, 'GET', '/_azid/endpoints')
  const b = endpoints.bootstrap
  if (!b.clientSecret)
    throw new CliError(
      "this azid's bootstrap secret is not known here (no bootstrap.json in the data directory): pass --data with the directory azid was started with",
    )
  const tokens = new Map<string, string>()
  const token = async (scope: string) => {
    const hit = tokens.get(scope)
    if (hit) return hit
    const r = await httpsRequest(target, 'POST', `${endpoints.authority}/oauth2/v2.0/token`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: b.clientId,
        client_secret: b.clientSecret as string,
        scope,
      }).toString(),
    })
    const j = parse(r.text) as { access_token?: string; error_description?: string } | undefined
    if (r.status !== 200 || !j?.access_token)
      throw new CliError(`could not sign in as the bootstrap administrator: ${j?.error_description ?? r.status}`)
    tokens.set(scope, j.access_token)
    return j.access_token
  }
  const call = async (scope: string, method: string, url: string, body?: unknown) => {
    const r = await httpsRequest(target, method, url, {
      headers: {
        authorization: `Bearer ${await token(scope)}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const j = parse(r.text)
    if (r.status >= 400) {
      const e = (j?.error ?? {}) as { code?: string; message?: string }
      throw new CliError(`(${e.code ?? r.status}) ${e.message ?? (r.text || `HTTP ${r.status}`)}`)
    }
    return j
  }
  const base = endpoints.managementUrl.replace(/\/$/, '')
  const arm = async <T>(method: string, path: string, apiVersion: string, body?: unknown) =>
    (await call(
      'https://management.azure.com/.default',
      method,
      `${base}${path}${path.includes('?') ? '&' : '?'}api-version=${apiVersion}`,
      body,
    )) as T
  let subscription = endpoints.subscriptionId
  if (subscriptionFlag) {
    const subs = (await arm<{ value: Json[] }>('GET', '/subscriptions', '2022-12-01')).value
    const hit = subs.find(
      (s) =>
        String(s.subscriptionId).toLowerCase() === subscriptionFlag.toLowerCase() ||
        String(s.displayName).toLowerCase() === subscriptionFlag.toLowerCase(),
    )
    if (!hit)
      throw new CliError(
        `subscription '${subscriptionFlag}' not found; known: ${subs.map((s) => `${s.displayName} (${s.subscriptionId})`).join(', ')}`,
      )
    subscription = String(hit.subscriptionId)
  }
  return {
    target,
    endpoints,
    subscription,
    arm,
    async armList(path, apiVersion) {
      const out: Json[] = []
      let page = await arm<{ value?: Json[]; nextLink?: string }>('GET', path, apiVersion)
      out.push(...(page.value ?? []))
      while (page.nextLink) {
        const next = new URL(page.nextLink)
        page = (await call(
          'https://management.azure.com/.default',
          'GET',
          `${base}${next.pathname}${next.search}`,
        )) as {
          value?: Json[]
          nextLink?: string
        }
        out.push(...(page.value ?? []))
      }
      return out
    },
    graph: async <T>(method: string, path: string, body?: unknown) =>
      (await call(
        'https://graph.microsoft.com/.default',
        method,
        `${endpoints.graphUrl.replace(/\/$/, '')}${path}`,
        body,
      )) as T,
  }
}

/** The SDK's view of an ARM resource, as az prints it: `properties` flattened, `resourceGroup` added. */
export function flatten(r: Json): Json {
  const { properties, ...rest } = r
  const out: Json = { ...rest, ...((properties as Json | undefined) ?? {}) }
  const id = typeof r.id === 'string' ? r.id : ''
  const rg = /\/resourcegroups\/([^/]+)/i.exec(id)?.[1]
  if (rg && out.resourceGroup === undefined) out.resourceGroup = rg
  return out
}
