import type { AuditLog } from '../audit/index.ts'
import type { DirectoryService, ServicePrincipal, Tenant, User } from '../directory/index.ts'
import type { Clock } from '../kernel/clock.ts'
import type { Ids } from '../kernel/ids.ts'
import type { KeyService } from '../keys/index.ts'
import type { AuthenticatedClient } from './client-auth.ts'
import type { FederatedVerifier } from './federated.ts'
import type { Params } from './form.ts'
import type { StsStateStore } from './ports.ts'
import type { ResolvedResource } from './resources.ts'
import type { TenantRef } from './tenants.ts'
import type { TokenMinter } from './tokens.ts'

export interface StsSettings {
  accessTokenLifetimeMs: number
  refreshTokenLifetimeMs: number
  idTokenLifetimeMs: number
  deviceCodeLifetimeMs: number
  deviceCodeIntervalS: number
  authorizationCodeLifetimeMs: number
  clockSkewMs: number
}

export interface StsDeps {
  directory: DirectoryService
  state: StsStateStore
  keys: KeyService
  minter: TokenMinter
  audit: AuditLog
  clock: Clock
  ids: Ids
  federated: FederatedVerifier
  settings: StsSettings
  /** Origins azid answers token requests on besides the request's own (e.g. https://login.microsoftonline.com). */
  knownOrigins: readonly string[]
}

export interface TokenRequest {
  version: 1 | 2
  tenantSegment: string
  params: Params
  basic: { clientId: string; secret: string } | null
  /** Scheme, host and port the client used. */
  origin: string
  requestId: string
  /** The emulated host the request came from, when the listener knows it. */
  host: string | null
}

export interface TokenResult {
  version: 1 | 2
  accessToken: string
  expiresIn: number
  extExpiresIn: number
  expiresOn: number
  notBefore: number
  /** v1: the resource as requested. */
  resource: string
  /** v2 and user flows: granted scopes. */
  scope?: string
  refreshToken?: string
  idToken?: string
  clientInfo?: string
}

/** What a grant learns as it runs; recorded in the audit event whether it succeeds or fails. */
export interface AuditNotes {
  tenantId?: string
  clientId?: string
  principalId?: string
  audience?: string
}

export interface GrantContext {
  deps: StsDeps
  req: TokenRequest
  tenant: TenantRef
  notes: AuditNotes
  /** Authenticates the client; confidential-only grants pass `requireConfidential`. */
  authenticate(opts: { requireConfidential: boolean }): Promise<AuthenticatedClient>
}

export interface Grant {
  /** grant_type values this handler serves. */
  types: readonly string[]
  handle(ctx: GrantContext): Promise<TokenResult>
}

export interface UserTokenRequest {
  deps: StsDeps
  req: Pick<TokenRequest, 'version' | 'origin'>
  tenant: Tenant
  client: AuthenticatedClient
  user: User
  resource: ResolvedResource
  /** Scope string granted (v2 echo). */
  scope: string
  wantIdToken: boolean
  nonce: string | null
  /** Refresh-token family to continue, or null for a new sign-in. */
  familyId: string | null
}

export type { ServicePrincipal }
