import type { Clock } from '../kernel/clock.ts'
import { base64url, type Ids } from '../kernel/ids.ts'
import type { TokenMinter } from './tokens.ts'

/** The audience Entra expects in federated assertions (workload identity). */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange'

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

/** azid's own OIDC issuer for workloads (like an AKS cluster's): `<origin>/oidc/<tenant>`. */
export const workloadIssuer = (origin: string, tenantId: string) => `${origin}/oidc/${tenantId}`

export function isWorkloadIssuer(issuer: string, origins: readonly string[]): boolean {
  const m = new RegExp(`^(https://[^/]+)/oidc/${GUID}$`, 'i').exec(issuer)
  return m !== null && origins.some((o) => o.toLowerCase() === (m[1] as string).toLowerCase())
}

/** Mints the service-account token a workload presents as `client_assertion` (AZURE_FEDERATED_TOKEN_FILE). */
export async function mintWorkloadToken(
  deps: { minter: TokenMinter; clock: Clock; ids: Ids },
  q: { issuer: string; subject: string; audience?: string; lifetimeMs: number },
): Promise<{ token: string; expiresOn: number }> {
  const now = Math.floor(deps.clock.now() / 1000)
  const exp = now + Math.floor(q.lifetimeMs / 1000)
  const claims = {
    aud: [q.audience ?? TOKEN_EXCHANGE_AUDIENCE],
    exp,
    iat: now,
    iss: q.issuer,
    jti: base64url(deps.ids.bytes(16)),
    nbf: now,
    sub: q.subject,
  }
  return { token: await deps.minter.mint(claims, { version: 2 }), expiresOn: exp }
}

export function workloadDiscovery(issuer: string) {
  return {
    issuer,
    jwks_uri: `${issuer}/keys`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  }
}
