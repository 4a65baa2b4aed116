import { AUDIENCES, AuthError, type AuthErrorCode, type TokenVerifier, type VerifiedToken } from '../../auth/index.ts'
import type { Clock } from '../../kernel/clock.ts'
import type { CheckKind } from '../../rbac/index.ts'
import type { DataAccess } from './access.ts'
import { authFailed, isStorageError, storageError } from './errors.ts'
import { BEARER_MIN_VERSION, parseHttpDate, type StorageRequest } from './http.ts'
import type { StorageAccount } from './ports.ts'
import { type SasGrant, type SasRequirement, type SasTarget, isSasQuery, sasAllows, verifySas } from './sas.ts'
import { parseSharedKeyHeader, verifySharedKey } from './shared-key.ts'

/** Who is calling, once authenticated. */
export type Caller =
  | { kind: 'sharedKey' }
  | { kind: 'sas'; grant: SasGrant }
  | { kind: 'bearer'; token: VerifiedToken }
  | { kind: 'anonymous' }

/** What one operation needs from each kind of caller. */
export interface OperationAuth {
  /** Name in logs and audit (`GetBlob`, `PutBlockList`, …). */
  operation: string
  /** SAS permissions; null when no SAS may call it. */
  sas: SasRequirement | null
  /** RBAC for bearer tokens (and the principal behind a user delegation SAS): any one action suffices; null: none may. */
  rbac: { actions: readonly { action: string; kind: CheckKind }[]; scope: string } | null
  /** Shared Key may call it (everything but Get User Delegation Key). */
  sharedKey: boolean
  /** Anonymous callers may, when the container is public (decided by the service). */
  anonymous: boolean
}

/** The unquoted challenge Storage sends with 401s (api-shapes §6.7). */
export const storageChallenge = (tenantId: string) =>
  `Bearer authorization_uri=https://login.microsoftonline.com/${tenantId}/oauth2/authorize resource_id=https://storage.azure.com`

/** Azure's AuthenticationErrorDetail for each way a token fails (api-shapes §6.7). */
const TOKEN_DETAIL: Record<AuthErrorCode, string> = {
  MissingToken: 'The access token is missing.',
  InvalidScheme: 'The access token is not a bearer token.',
  MalformedToken: 'The access token is not well formed.',
  UnsupportedAlgorithm: 'Signature validation failed. The signing algorithm is not supported.',
  UnknownKey: 'Signature validation failed. The signing key is not known.',
  InvalidSignature: 'Signature validation failed. Signature is invalid.',
  Expired: 'Lifetime validation failed. The token is expired.',
  NotYetValid: 'Lifetime validation failed. The token is not yet valid.',
  WrongAudience: 'Audience validation failed. Audience did not match.',
  WrongIssuer: 'Issuer validation failed. Issuer did not match.',
  UnknownTenant: 'Issuer validation failed. Issuer did not match.',
}

const invalidToken = (detail: string, log?: string) =>
  storageError('InvalidAuthenticationInfo', {
    details: [['AuthenticationErrorDetail', detail]],
    ...(log ? { detail: log } : {}),
  })

/** Shared Key requests must be dated within 15 minutes of the server's clock. */
const DATE_WINDOW_MS = 15 * 60_000

export interface Authenticator {
  /**
   * Authenticates the request (Shared Key, SAS, bearer, or nobody). Throws StorageError: 401 with the challenge for
   * missing or bad tokens, 403 AuthenticationFailed for bad signatures.
   */
  authenticate(
    r: StorageRequest,
    q: { account: StorageAccount; target: SasTarget; pathStyle: boolean },
  ): Promise<Caller>
  /**
   * Decides whether `caller` may run `op`: SAS permissions and resource types, RBAC for bearer tokens and for the
   * principal of a user delegation SAS. Throws AuthorizationPermissionMismatch & co; returns false for an anonymous
   * caller (the service then decides on public access or answers NoAuthenticationInformation).
   */
  authorize(r: StorageRequest, caller: Caller, op: OperationAuth): boolean
}

export function createAuthenticator(deps: {
  service: 'blob' | 'file'
  verifier: TokenVerifier
  access: DataAccess
  clock: Clock
  /** Secret behind user delegation keys. */
  delegationSecret: Buffer
}): Authenticator {
  const audiencesFor = (account: string) => [
    ...AUDIENCES.storage,
    `https://${account}.${deps.service}.core.windows.net`,
  ]

  async function bearer(r: StorageRequest, authorization: string, account: StorageAccount): Promise<Caller> {
    // Tokens need x-ms-version 2017-11-09 or later; Azure answers 403 AuthenticationFailed otherwise.
    if (r.version === null || r.version < BEARER_MIN_VERSION)
      throw authFailed('Authentication scheme Bearer is not supported in this version.')
    let token: VerifiedToken
    try {
      token = await deps.verifier.verify(authorization, { audiences: audiencesFor(account.name) })
    } catch (e) {
      if (e instanceof AuthError) {
        deps.access.refused({
          requestId: r.requestId,
          method: r.method,
          code: 'InvalidAuthenticationInfo',
          reason: `bearer token refused: ${e.code}`,
        })
        throw invalidToken(TOKEN_DETAIL[e.code], `${e.code}: ${e.detail ?? ''}`)
      }
      throw e
    }
    if (token.tenantId !== account.tenantId.toLowerCase()) {
      deps.access.refused({
        requestId: r.requestId,
        method: r.method,
        code: 'InvalidAuthenticationInfo',
        reason: `token of tenant ${token.tenantId} for an account of tenant ${account.tenantId}`,
        tenantId: token.tenantId,
        principalId: token.principalId,
        clientId: token.appId,
      })
      throw invalidToken('Issuer validation failed. Issuer did not match.', 'foreign tenant')
    }
    return { kind: 'bearer', token }
  }

  function sharedKey(r: StorageRequest, header: string, account: StorageAccount, pathStyle: boolean): Caller {
    const auth = parseSharedKeyHeader(header)
    if (!auth) throw authFailed('The authorization header is not in a supported format.')
    if (!account.allowSharedKeyAccess) throw storageError('KeyBasedAuthenticationNotPermitted')
    if (auth.account !== account.name)
      throw authFailed(
        `The account name ${auth.account} in the authorization header does not match the account ${account.name}.`,
      )
    const dated = r.header('x-ms-date') ?? r.header('date')
    if (dated === undefined) throw authFailed('Request date header not specified.')
    const t = parseHttpDate(dated)
    if (Number.isNaN(t)) throw authFailed(`The date header '${dated}' is not a valid RFC 1123 date.`)
    const now = deps.clock.now()
    if (t < now - DATE_WINDOW_MS) throw authFailed(`Request date header too old: '${dated}'`)
    if (t > now + DATE_WINDOW_MS) throw authFailed(`Request date header too far in the future: '${dated}'`)
    const result = verifySharedKey(
      {
        method: r.method,
        headerNames: Object.keys(r.req.headers),
        header: (n) => r.header(n),
        rawPath: r.rawPath,
        params: r.params,
        version: r.version,
      },
      auth,
      { account: account.name, keys: account.keys, pathStyle },
    )
    if (!result.ok) {
      deps.access.refused({
        requestId: r.requestId,
        method: r.method,
        code: 'AuthenticationFailed',
        reason: 'Shared Key signature mismatch',
      })
      throw authFailed(
        `The MAC signature found in the HTTP request '${auth.signature}' is not the same as any computed signature. Server used following string to sign: '${result.stringToSign}'.`,
      )
    }
    return { kind: 'sharedKey' }
  }

  return {
    async authenticate(r, q) {
      const authorization = r.header('authorization')
      const sas = isSasQuery(r.query)
      if (authorization !== undefined && authorization.trim() !== '') {
        if (sas) throw authFailed('A request may carry a shared access signature or an Authorization header, not both.')
        const scheme = authorization.trim().split(/\s+/, 1)[0]?.toLowerCase()
        if (scheme === 'bearer') return bearer(r, authorization, q.account)
        return sharedKey(r, authorization, q.account, q.pathStyle)
      }
      if (sas) {
        try {
          const grant = verifySas(
            { query: r.query, header: (n) => r.header(n), clientIp: r.clientIp, protocol: 'https' },
            q.target,
            {
              keys: q.account.keys,
              now: deps.clock.now(),
              delegationSecret: deps.delegationSecret,
              tenantId: q.account.tenantId,
            },
          )
          if (grant.kind !== 'userDelegation' && !q.account.allowSharedKeyAccess)
            throw storageError('KeyBasedAuthenticationNotPermitted')
          return { kind: 'sas', grant }
        } catch (e) {
          if (isStorageError(e))
            deps.access.refused({
              requestId: r.requestId,
              method: r.method,
              code: e.code,
              reason: `shared access signature refused: ${e.detail ?? e.code}`,
            })
          throw e
        }
      }
      return { kind: 'anonymous' }
    },

    authorize(r, caller, op) {
      if (caller.kind === 'anonymous') return false
      if (caller.kind === 'sharedKey') {
        if (!op.sharedKey) throw authFailed(`Only bearer tokens may call ${op.operation}.`)
        return true
      }
      const deny = () => storageError('AuthorizationPermissionMismatch', { detail: op.operation })
      if (caller.kind === 'sas') {
        if (!op.sas) throw storageError('AuthorizationFailure', { detail: `${op.operation} with a SAS` })
        sasAllows(caller.grant, op.sas)
        const who = caller.grant.delegatedPrincipal
        if (who) {
          // A user delegation SAS acts with the signer's RBAC permissions at the time of use.
          if (!op.rbac)
            throw storageError('AuthorizationFailure', { detail: `${op.operation} with a user delegation SAS` })
          const ok = deps.access.allowed({
            principalId: who.objectId,
            tenantId: who.tenantId,
            appId: '',
            actions: op.rbac.actions,
            scope: op.rbac.scope,
            requestId: r.requestId,
            method: r.method,
            via: 'user delegation SAS',
          })
          if (!ok) throw deny()
        }
        return true
      }
      if (!op.rbac) throw storageError('AuthorizationFailure', { detail: `${op.operation} with a bearer token` })
      const t = caller.token
      const ok = deps.access.allowed({
        principalId: t.principalId,
        tenantId: t.tenantId,
        appId: t.appId,
        actions: op.rbac.actions,
        scope: op.rbac.scope,
        requestId: r.requestId,
        method: r.method,
        via: 'bearer token',
      })
      if (!ok) throw deny()
      return true
    },
  }
}
