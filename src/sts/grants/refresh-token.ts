import type { Grant } from '../context.ts'
import { StsError } from '../errors.ts'
import { required } from '../form.ts'
import { clientCapabilities, issueUserTokens, refreshTokenHash } from '../issue.ts'
import { type StoredRequest, decodeRequest, resolveUserRequest } from '../scope-request.ts'

const o7 = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z')

/** Refresh tokens are multi-resource, as Entra's: one sign-in yields tokens for any resource the client asks for. */
export const refreshTokenGrant: Grant = {
  types: ['refresh_token'],
  async handle(ctx) {
    const { req, deps, notes, tenant: ref } = ctx
    const token = required(req.params, 'refresh_token')
    const client = await ctx.authenticate({ requireConfidential: false })
    notes.clientId = client.clientId
    const rec = await deps.state.getRefreshToken(refreshTokenHash(token))
    if (!rec) throw new StsError('grantMalformed')
    if (rec.clientId !== client.clientId) throw new StsError('grantOtherClient')
    const now = deps.clock.now()
    if (rec.revokedAt !== null)
      throw new StsError('refreshTokenRevoked', { issued: o7(rec.createdAt), validFrom: o7(rec.revokedAt) })
    if (now >= rec.expiresAt)
      throw new StsError('refreshTokenExpired', {
        issued: o7(rec.createdAt),
        inactive: `${Math.floor((now - rec.createdAt) / 86_400_000)}.00:00:00`,
      })
    const user = await deps.directory.store.getUser(rec.userId)
    if (!user) throw new StsError('grantMalformed', {}, 'user deleted')
    notes.principalId = user.objectId
    if (ref.kind === 'tenant' && ref.tenant.id !== user.tenantId)
      throw new StsError('userNotInTenant', { user: user.userPrincipalName, tenant: ref.tenant.domain })
    const tenant = ref.kind === 'tenant' ? ref.tenant : await deps.directory.store.getTenant(user.tenantId)
    if (!tenant) throw new StsError('grantMalformed', {}, 'tenant deleted')
    notes.tenantId = tenant.id

    let stored: StoredRequest = decodeRequest(rec.scope)
    if (req.version === 2) {
      const scope = req.params.get('scope')
      if (scope) stored = { version: 2, scope }
    } else {
      const resource = req.params.get('resource')
      if (resource) stored = { version: 1, resource }
    }
    const ur = await resolveUserRequest(deps, tenant, stored)
    notes.audience = ur.resource.audience
    return issueUserTokens(
      {
        deps,
        req,
        tenant,
        client,
        user,
        resource: ur.resource,
        scope: ur.scope,
        wantIdToken: ur.openid,
        nonce: null,
        familyId: rec.familyId,
      },
      clientCapabilities(req.params.get('claims')),
    )
  },
}
