import { createHash } from 'node:crypto'
import { hashSecret } from '../../kernel/secrets.ts'
import type { Grant } from '../context.ts'
import { StsError } from '../errors.ts'
import { required } from '../form.ts'
import { clientCapabilities, issueUserTokens } from '../issue.ts'
import { type StoredRequest, decodeRequest, resolveUserRequest } from '../scope-request.ts'

export const authorizationCodeHash = (code: string) => hashSecret(code, 'ac')

/** OAuth 2.0 authorization code with PKCE (RFC 7636): what `az login` and MSAL's interactive flows redeem. */
export const authorizationCodeGrant: Grant = {
  types: ['authorization_code'],
  async handle(ctx) {
    const { req, deps, notes } = ctx
    const code = required(req.params, 'code')
    const client = await ctx.authenticate({ requireConfidential: false })
    notes.clientId = client.clientId
    const rec = await deps.state.consumeAuthorizationCode(authorizationCodeHash(code), deps.clock.now())
    if (rec === undefined) throw new StsError('grantMalformed')
    if (rec === 'used') throw new StsError('codeRedeemed')
    if (rec.clientId !== client.clientId) throw new StsError('grantOtherClient')
    if (deps.clock.now() >= rec.expiresAt) throw new StsError('codeExpired')
    const redirectUri = req.params.get('redirect_uri') ?? ''
    if (redirectUri !== rec.redirectUri)
      throw new StsError('redirectUriMismatch', { redirectUri, expected: rec.redirectUri })
    if (rec.codeChallenge !== null) {
      const verifier = req.params.get('code_verifier') ?? ''
      const computed =
        rec.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier
      if (verifier === '' || computed !== rec.codeChallenge) throw new StsError('pkceMismatch')
    }
    const user = await deps.directory.store.getUser(rec.userId)
    const tenant = await deps.directory.store.getTenant(rec.tenantId)
    if (!user || !tenant) throw new StsError('grantMalformed', {}, 'user or tenant deleted')
    notes.principalId = user.objectId
    notes.tenantId = tenant.id

    let stored: StoredRequest = decodeRequest(rec.scope)
    if (req.version === 2) {
      const scope = req.params.get('scope')
      if (scope !== undefined) {
        if (scope.trim() === '') throw new StsError('emptyScopeAtRedemption')
        stored = { version: 2, scope }
      }
    } else if (req.params.get('resource')) stored = { version: 1, resource: req.params.get('resource') as string }
    const ur = await resolveUserRequest(deps, tenant, stored)
    notes.audience = ur.resource.audience
    const wantsOpenid = decodeRequest(rec.scope).version === 1 || /(^|\s)openid(\s|$)/i.test(rec.scope)
    return issueUserTokens(
      {
        deps,
        req,
        tenant,
        client,
        user,
        resource: ur.resource,
        scope: ur.scope,
        wantIdToken: wantsOpenid,
        nonce: rec.nonce,
        familyId: null,
      },
      clientCapabilities(req.params.get('claims')),
    )
  },
}
