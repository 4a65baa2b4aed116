import { timingSafeEqual, createHash } from 'node:crypto'
import { Hono } from 'hono'
import type { AccessControl } from '../arm/index.ts'
import { FaultRuleError, type Faults, FLAVOURS, type Flavour, parseFaultInput } from '../faults/index.ts'
import type { EndpointMode, ManagedIdentity } from './mi.ts'
import type { AuditLog, AuditQuery } from '../audit/index.ts'
import type { Config } from '../config/index.ts'
import { redactConfig } from '../config/index.ts'
import type { DirectoryService } from '../directory/index.ts'
import { isDomainError } from '../kernel/errors.ts'
import { parseDuration } from '../kernel/duration.ts'
import type { Logger } from '../kernel/log.ts'
import type { KeyService } from '../keys/index.ts'
import type { StsService } from '../sts/index.ts'
import { STS_ERRORS, type StsErrorKey } from '../sts/index.ts'

export interface Endpoints {
  tenantId: string
  tenantDomain: string
  subscriptionId: string
  authorityHost: string
  authority: string
  managementUrl: string
  graphUrl: string
  managedIdentity: { sharedEndpoint: string; sharedSocket: string }
  /**
   * Key Vault secrets. Loopback: a vault's URL is `loopbackVaultUrl` with `{vault}` replaced (clients must turn off
   * challenge-resource verification there); namespace mode: `namespaceVaultUrl`, as in Azure.
   */
  keyVault: { port: number; loopbackVaultUrl: string; namespaceVaultUrl: string }
  /**
   * Storage on loopback, path-style: `https://127.0.0.1:<port>` + `/<account>/…` (namespace mode:
   * `https://<account>.blob.core.windows.net`, `https://<account>.file.core.windows.net`).
   */
  storage: { blob: string; file: string }
  caCertPath: string
  bootstrap: { clientId: string; clientSecret: string | null; userPrincipalName: string; userPassword: string | null }
  health: string
  namespaceSocket: string
}

const sha = (s: string) => createHash('sha256').update(s).digest()

/** The admin API under /_azid: health (open), everything else behind the admin key. */
export function createAdminApp(deps: {
  mintWorkloadToken: (q: {
    subject: string
    audience?: string
    lifetimeMs: number
  }) => Promise<{ token: string; expiresOn: number; issuer: string }>
  faults: Faults
  managedIdentity: ManagedIdentity
  access: AccessControl
  config: Config
  adminKey: string
  endpoints: () => Endpoints
  keys: KeyService
  audit: AuditLog
  sts: StsService
  directory: DirectoryService
  logger: Logger
  version: string
  dialect: string
}): Hono {
  const app = new Hono()
  const expected = sha(deps.adminKey)

  app.onError((err, c) => {
    if (err instanceof FaultRuleError)
      return c.json({ error: { code: 'InvalidFaultRule', message: String(err.args.message ?? err.detail) } }, 400)
    if (isDomainError(err)) {
      const entry = STS_ERRORS[err.code as StsErrorKey]
      const message = entry ? `AADSTS${entry.code}: ${entry.text(err.args as Record<string, string>)}` : err.code
      return c.json({ error: { code: err.code, message } }, 400)
    }
    deps.logger.error('admin API error', { err })
    return c.json({ error: { code: 'InternalError', message: 'internal error; see the azid log' } }, 500)
  })

  app.get('/_azid/health', (c) => c.json({ status: 'ok', version: deps.version, store: deps.dialect }))

  app.use('/_azid/*', async (c, next) => {
    const given = c.req.header('x-azid-admin-key') ?? ''
    if (!timingSafeEqual(sha(given), expected))
      return c.json({ error: { code: 'Unauthorized', message: 'missing or wrong x-azid-admin-key' } }, 401)
    await next()
    return undefined
  })

  app.get('/_azid/endpoints', (c) => c.json(deps.endpoints()))
  app.get('/_azid/config', (c) => c.json(redactConfig(deps.config)))

  app.post('/_azid/keys/rotate', async (c) => c.json(await deps.keys.rotate()))
  app.get('/_azid/keys', async (c) => c.json({ keys: await deps.keys.jwks() }))

  app.get('/_azid/logs', async (c) => {
    const q = c.req.query()
    const query: AuditQuery = {}
    if (q.kind) query.kind = q.kind as AuditQuery['kind']
    if (q.result) query.result = q.result as AuditQuery['result']
    if (q.principal) query.principalId = q.principal
    if (q.client) query.clientId = q.client
    if (q.host) query.host = q.host
    if (q.audience) query.audience = q.audience
    if (q.after) query.afterSeq = Number(q.after)
    if (q.since) query.sinceMs = Number(q.since)
    query.limit = q.limit ? Math.min(Number(q.limit), 10_000) : 100
    if (q.order === 'asc') query.order = 'asc'
    return c.json({ value: await deps.audit.query(query) })
  })

  app.get('/_azid/access/explain', (c) => {
    const q = c.req.query()
    if (!q.principal || !q.action || !q.scope)
      return c.json({ error: { code: 'BadRequest', message: 'principal, action and scope are required' } }, 400)
    const d = deps.access.explain({
      principalId: q.principal,
      action: q.action,
      scope: q.scope,
      kind: q.dataAction === 'true' ? 'dataAction' : 'action',
    })
    return c.json({
      allowed: d.allowed,
      principalId: d.principalId,
      action: d.action,
      scope: d.scope,
      kind: d.kind,
      grant: d.grant
        ? {
            assignmentId: d.grant.assignment.id,
            assignmentScope: d.grant.assignment.scope,
            roleDefinitionId: d.grant.role.id,
            roleName: d.grant.role.roleName,
            permission: d.grant.pattern,
          }
        : null,
      considered: (d.considered ?? []).map((x) => ({
        assignmentId: x.assignment.id,
        assignmentScope: x.assignment.scope,
        roleName: x.roleName,
        reason: x.reason,
      })),
    })
  })

  // -- hosts: what a process needs to act as a host (azid env --host, azid run, startAzid().env(host))
  app.get('/_azid/hosts', async (c) => {
    const hosts = await deps.managedIdentity.listHosts()
    return c.json({
      value: hosts.map((h) => ({
        id: h.id,
        name: h.name,
        type: h.type,
        systemAssigned: h.identity?.system ?? null,
        userAssigned: h.identity?.user ?? [],
      })),
    })
  })
  app.post('/_azid/hosts/endpoint', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { host?: string; flavour?: string; mode?: string }
    if (!body.host)
      return c.json({ error: { code: 'BadRequest', message: 'host is required (a resource id or a name)' } }, 400)
    if (body.flavour !== undefined && !(FLAVOURS as readonly string[]).includes(body.flavour))
      return c.json({ error: { code: 'BadRequest', message: `flavour must be one of ${FLAVOURS.join(', ')}` } }, 400)
    const mode: EndpointMode = body.mode === 'namespace' ? 'namespace' : 'loopback'
    const found = await deps.managedIdentity.findHost(body.host)
    if ('error' in found) return c.json({ error: { code: 'HostNotFound', message: found.error } }, 404)
    const e = await deps.managedIdentity.endpoint({
      host: found,
      mode,
      ...(body.flavour ? { flavour: body.flavour as Flavour } : {}),
    })
    return c.json({
      host: { id: e.host.id, name: e.host.name, type: e.host.type, extensionPort: e.host.extensionPort },
      flavour: e.flavour,
      env: e.env,
      hostUrl: e.hostUrl,
      hostSocket: e.hostSocket,
      sharedSocket: e.sharedSocket,
      httpsSocket: deps.endpoints().namespaceSocket,
    })
  })

  // -- workload identity: a federated token from azid's own issuer (AZURE_FEDERATED_TOKEN_FILE)
  app.post('/_azid/workload/token', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { subject?: unknown; audience?: unknown; lifetime?: unknown }
    if (typeof body.subject !== 'string' || body.subject.trim() === '')
      return c.json(
        { error: { code: 'BadRequest', message: 'subject is required, e.g. system:serviceaccount:default:app' } },
        400,
      )
    let lifetimeMs = 3_600_000
    if (body.lifetime !== undefined) {
      try {
        lifetimeMs = parseDuration(body.lifetime as string)
      } catch {
        return c.json({ error: { code: 'BadRequest', message: 'lifetime must be a duration such as 1h or 90m' } }, 400)
      }
    }
    const t = await deps.mintWorkloadToken({
      subject: body.subject,
      lifetimeMs,
      ...(typeof body.audience === 'string' ? { audience: body.audience } : {}),
    })
    return c.json(t)
  })

  // -- fault rules
  app.get('/_azid/faults', async (c) => c.json({ value: await deps.faults.list() }))
  app.post('/_azid/faults', async (c) => {
    const raw = await c.req.json().catch(() => null)
    const rules = Array.isArray(raw) ? raw : [raw]
    const inputs = rules.map((r) => parseFaultInput(r))
    const added = []
    for (const i of inputs) added.push(await deps.faults.add(i))
    return c.json({ value: added }, 201)
  })
  app.delete('/_azid/faults', async (c) => c.json({ removed: await deps.faults.clear() }))
  app.delete('/_azid/faults/:id', async (c) =>
    (await deps.faults.remove(c.req.param('id')))
      ? c.json({ removed: 1 })
      : c.json({ error: { code: 'NotFound', message: `no fault rule ${c.req.param('id')}` } }, 404),
  )

  app.get('/_azid/device', async (c) => c.json({ value: await deps.sts.pendingDeviceCodes() }))
  app.post('/_azid/device/:code/:decision{approve|deny}', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { user?: string }
    const tenantDomain = deps.config.tenant.domain
    const upn = body.user ?? `admin@${tenantDomain}`
    const user = await deps.directory.store.getUserByUpn(upn)
    if (!user) return c.json({ error: { code: 'UserNotFound', message: `no directory user '${upn}'` } }, 404)
    const rec = await deps.sts.decideDeviceCode({
      userCode: c.req.param('code'),
      user,
      approve: c.req.param('decision') === 'approve',
    })
    return c.json({ userCode: rec.userCode, clientId: rec.clientId, status: rec.status, user: user.userPrincipalName })
  })

  return app
}
