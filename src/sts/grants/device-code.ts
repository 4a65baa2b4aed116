import { hashSecret } from '../../kernel/secrets.ts'
import type { Grant } from '../context.ts'
import { StsError } from '../errors.ts'
import { clientCapabilities, issueUserTokens } from '../issue.ts'
import { decodeRequest, resolveUserRequest } from '../scope-request.ts'

export const deviceCodeHash = (code: string) => hashSecret(code, 'dc')

/**
 * RFC 8628 device authorization grant. Both spellings of the grant type are accepted, and `code` as an alias of
 * `device_code` (MSAL Python sends both; clients.md §4.5).
 */
export const deviceCodeGrant: Grant = {
  types: ['device_code', 'urn:ietf:params:oauth:grant-type:device_code'],
  async handle(ctx) {
    const { req, deps, notes } = ctx
    const code = req.params.get('device_code') ?? req.params.get('code')
    if (!code) throw new StsError('missingParameter', { name: 'device_code' })
    const client = await ctx.authenticate({ requireConfidential: false })
    notes.clientId = client.clientId
    const hash = deviceCodeHash(code)
    const rec = await deps.state.getDeviceCode(hash)
    if (!rec) throw new StsError('deviceCodeInvalid')
    if (rec.clientId !== client.clientId) throw new StsError('grantOtherClient')
    const now = deps.clock.now()
    if (now >= rec.expiresAt) throw new StsError('deviceCodeExpired')
    if (rec.status === 'pending') {
      const last = rec.lastPollAt
      await deps.state.touchDeviceCodePoll(hash, now)
      // Entra does not send slow_down in practice and msal-node does not understand it: only clients that poll at
      // under half the interval get it.
      if (last !== null && now - last < (rec.intervalS * 1000) / 2) throw new StsError('slowDown')
      throw new StsError('authorizationPending')
    }
    if (rec.status === 'denied') throw new StsError('deviceCodeDeclined')
    if (rec.status !== 'approved' || !rec.userId || !rec.userTenantId) throw new StsError('deviceCodeInvalid')
    const won = await deps.state.setDeviceCodeStatus({ hash, fromStatus: 'approved', status: 'redeemed' })
    if (!won) throw new StsError('deviceCodeInvalid')

    const user = await deps.directory.store.getUser(rec.userId)
    const tenant = await deps.directory.store.getTenant(rec.userTenantId)
    if (!user || !tenant) throw new StsError('deviceCodeInvalid')
    notes.principalId = user.objectId
    notes.tenantId = tenant.id
    const stored = decodeRequest(rec.scope)
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
        familyId: null,
      },
      clientCapabilities(req.params.get('claims')),
    )
  },
}
