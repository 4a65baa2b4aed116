import type { Grant } from '../context.ts'
import { StsError } from '../errors.ts'
import { required } from '../form.ts'
import { clientCapabilities, issueAppToken } from '../issue.ts'
import { type ResolvedResource, parseScope, resolveResource } from '../resources.ts'

/** Without `resource`, the v1 endpoint issues a Microsoft Graph token (docs/wire/sts-errors.md §2). */
const V1_DEFAULT_RESOURCE = 'https://graph.microsoft.com'

/** OAuth 2.0 client credentials: an app-only token for the client's own service principal. */
export const clientCredentialsGrant: Grant = {
  types: ['client_credentials'],
  async handle(ctx) {
    const { req, tenant, deps, notes } = ctx
    if (tenant.kind !== 'tenant') throw new StsError('noTenantForClientCredentials')
    const client = await ctx.authenticate({ requireConfidential: true })
    notes.clientId = client.clientId
    const sp = client.servicePrincipal
    if (!sp) throw new StsError('clientNotFound', { clientId: client.clientId, tenant: tenant.tenant.displayName })
    notes.principalId = sp.objectId

    let resource: ResolvedResource
    const base = { store: deps.directory.store, tenantId: tenant.tenant.id, tenantName: tenant.path }
    if (req.version === 1) {
      resource = await resolveResource({ ...base, resource: req.params.get('resource') ?? V1_DEFAULT_RESOURCE })
    } else {
      if (req.params.has('resource')) throw new StsError('resourceOnV2')
      const raw = required(req.params, 'scope')
      let parsed: ReturnType<typeof parseScope>
      try {
        parsed = parseScope(raw)
      } catch (e) {
        // Two resources in a client-credentials request: Entra answers with the generic 70011.
        if (e instanceof StsError && e.code === 'multipleResources') throw new StsError('invalidScope', { scope: raw })
        throw e
      }
      if (!parsed.isDefault || parsed.resource === null)
        throw new StsError('clientCredentialsNeedDefault', { scope: raw })
      resource = await resolveResource({ ...base, resource: parsed.resource, permissions: parsed.permissions })
    }
    notes.audience = resource.audience
    const result = await issueAppToken(deps, {
      tenant: tenant.tenant,
      principal: sp,
      clientAuth: client.acr === '1' ? '1' : '2',
      resource,
      origin: req.origin,
      lifetimeMs: deps.settings.accessTokenLifetimeMs,
      capabilities: clientCapabilities(req.params.get('claims')),
    })
    return { ...result, version: req.version }
  },
}
