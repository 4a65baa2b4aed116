/**
 * `azid export`: the current world as a world document that `azid apply` accepts. Ids of identities, principals,
 * applications, users, custom roles and role assignments are kept, so applying an export to a fresh azid gives the
 * same world. The bootstrap administrator, the default tenant and the default subscription belong to every azid and
 * are left out. Secrets are exported as salted hashes, passwords as scrypt hashes: never in clear text.
 */
import type { Resource } from '../../arm/index.ts'
import { HOST_TYPE_NAMES } from '../../arm/index.ts'
import type { FaultEffect } from '../../faults/index.ts'
import { nameGuid } from '../../kernel/ids.ts'
import { idKey, parseResourceId } from '../../kernel/resource-id.ts'
import { createArmStore, createFaultStore } from '../../store/index.ts'
import { READ_ONLY_HOST_PROPS, UAMI_TYPE } from './apply.ts'
import type { WorldDeps } from './context.ts'
import type { World } from './document.ts'

const lc = (s: string) => s.toLowerCase()
const iso = (ms: number) => new Date(ms).toISOString()

function effectText(e: FaultEffect): string | number {
  switch (e.kind) {
    case 'status':
      return e.status
    case 'delay':
      return `delay:${e.ms}`
    default:
      return e.kind
  }
}

function pemOf(derBase64: string): string {
  const b64 = derBase64.match(/.{1,64}/g)?.join('\n') ?? derBase64
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`
}

export async function exportWorld(deps: WorldDeps): Promise<World> {
  const store = createArmStore(deps.database.db, deps.database.dialect)
  const dir = store.directory
  const b = deps.bootstrap
  const defaultSub = lc(deps.defaultSubscriptionId)
  const out: World = { version: 1 }

  const tenants = await dir.listTenants()
  const tenantRef = (id: string) => (id === b.tenantId ? undefined : (tenants.find((t) => t.id === id)?.domain ?? id))
  const extraTenants = tenants.filter((t) => t.id !== b.tenantId)
  if (extraTenants.length > 0)
    out.tenants = extraTenants.map((t) => ({ domain: t.domain, id: t.id, displayName: t.displayName }))

  const subs = await store.listSubscriptions()
  const extraSubs = subs.filter((s) => s.id !== defaultSub)
  if (extraSubs.length > 0)
    out.subscriptions = extraSubs.map((s) => ({
      id: s.id,
      displayName: s.displayName,
      ...(tenantRef(s.tenantId) ? { tenant: tenantRef(s.tenantId) as string } : {}),
    }))
  const subRef = (id: string) => (lc(id) === defaultSub ? {} : { subscription: lc(id) })

  // -- directory
  const apps: NonNullable<World['applications']> = []
  const users: NonNullable<World['users']> = []
  const appNames = new Map<string, number>()
  for (const t of tenants) {
    for (const a of await dir.listApplications(t.id)) {
      if (a.appId === b.clientId) continue
      appNames.set(a.displayName, (appNames.get(a.displayName) ?? 0) + 1)
      const sp = await dir.getServicePrincipalByAppId(a.tenantId, a.appId)
      const secrets = await dir.listPasswordCredentials(a.appId)
      const certs = await dir.listKeyCredentials(a.appId)
      const fics = (await dir.listFederatedCredentials(a.appId)).filter((f) => f.resourceId === null)
      apps.push({
        displayName: a.displayName,
        appId: a.appId,
        objectId: a.objectId,
        ...(sp ? { servicePrincipalId: sp.objectId } : {}),
        ...(tenantRef(a.tenantId) ? { tenant: tenantRef(a.tenantId) as string } : {}),
        ...(a.isPublicClient ? { publicClient: true } : {}),
        ...(a.accessTokenVersion !== 1 ? { accessTokenVersion: a.accessTokenVersion } : {}),
        ...(a.identifierUris.length > 0 ? { identifierUris: [...a.identifierUris] } : {}),
        ...(a.redirectUris.length > 0 ? { redirectUris: [...a.redirectUris] } : {}),
        ...(a.appRoles.length > 0
          ? {
              appRoles: a.appRoles.map((r) => ({
                id: r.id,
                value: r.value,
                displayName: r.displayName,
                description: r.description,
                allowedMemberTypes: [...r.allowedMemberTypes],
              })),
            }
          : {}),
        ...(secrets.length > 0
          ? {
              secrets: secrets.map((s) => ({
                displayName: s.displayName,
                keyId: s.keyId,
                hint: s.hint,
                hash: `sha256:${s.salt}:${s.hash}`,
                endDateTime: iso(s.endAt),
              })),
            }
          : {}),
        ...(certs.length > 0
          ? { certificates: certs.map((c) => ({ displayName: c.displayName, keyId: c.keyId, pem: pemOf(c.certDer) })) }
          : {}),
        ...(fics.length > 0
          ? {
              federatedCredentials: fics.map((f) => ({
                name: f.name,
                issuer: f.issuer,
                subject: f.subject,
                audiences: [...f.audiences],
                ...(f.description ? { description: f.description } : {}),
              })),
            }
          : {}),
      })
    }
    for (const u of await dir.listUsers(t.id)) {
      if (u.objectId === b.userId) continue
      users.push({
        userPrincipalName: u.userPrincipalName,
        displayName: u.displayName,
        objectId: u.objectId,
        ...(tenantRef(u.tenantId) ? { tenant: tenantRef(u.tenantId) as string } : {}),
        ...(u.passwordHash ? { passwordHash: u.passwordHash } : {}),
      })
    }
  }
  if (apps.length > 0) out.applications = apps
  if (users.length > 0) out.users = users

  // -- ARM
  const groups: NonNullable<World['resourceGroups']> = []
  const identities: NonNullable<World['identities']> = []
  const hosts: NonNullable<World['hosts']> = []
  const uamis: Resource[] = []
  const hostResources: Resource[] = []
  for (const s of subs) {
    for (const g of await store.listResourceGroups(s.id))
      groups.push({
        name: g.name,
        location: g.location,
        ...subRef(s.id),
        ...(Object.keys(g.tags).length > 0 ? { tags: g.tags } : {}),
      })
    for (const r of await store.listResources({ subscriptionId: s.id, type: UAMI_TYPE })) {
      uamis.push(r)
      const p = r.properties as { principalId: string; clientId: string }
      const fics = await store.listResources({ parentId: r.id })
      identities.push({
        name: r.name,
        resourceGroup: r.resourceGroup ?? '',
        ...subRef(s.id),
        location: r.location ?? '',
        ...(Object.keys(r.tags).length > 0 ? { tags: r.tags } : {}),
        principalId: p.principalId,
        clientId: p.clientId,
        ...(fics.length > 0
          ? {
              federatedCredentials: fics.map((f) => {
                const fp = f.properties as { issuer: string; subject: string; audiences: string[] }
                return { name: f.name, issuer: fp.issuer, subject: fp.subject, audiences: fp.audiences }
              }),
            }
          : {}),
      })
    }
    for (const type of HOST_TYPE_NAMES.filter((t) => t.split('/').length === 2))
      hostResources.push(...(await store.listResources({ subscriptionId: s.id, type })))
  }
  const uamiRef = (id: string, hostSub: string) => {
    const p = parseResourceId(id)
    const name = id.split('/').at(-1) as string
    if (lc(p.subscriptionId ?? '') !== lc(hostSub)) return id
    const sameName = uamis.filter((u) => lc(u.name) === lc(name) && lc(u.subscriptionId) === lc(hostSub))
    return sameName.length === 1 ? name : `${p.resourceGroup}/${name}`
  }
  for (const r of hostResources) {
    const props = Object.fromEntries(
      Object.entries(r.properties).filter(([k]) => !k.startsWith('__') && !READ_ONLY_HOST_PROPS.has(k)),
    )
    const sys = r.identity?.system
    const user = r.identity?.user ?? []
    hosts.push({
      name: r.name,
      type: r.type,
      resourceGroup: r.resourceGroup ?? '',
      ...subRef(r.subscriptionId),
      location: r.location ?? '',
      ...(Object.keys(r.tags).length > 0 ? { tags: r.tags } : {}),
      ...(r.extra.sku !== undefined ? { sku: r.extra.sku } : {}),
      ...(typeof r.extra.kind === 'string' ? { kind: r.extra.kind } : {}),
      ...(Object.keys(props).length > 0 ? { properties: props } : {}),
      ...(sys ? { systemAssigned: { principalId: sys.principalId, clientId: sys.clientId } } : {}),
      ...(user.length > 0 ? { userAssigned: user.map((u) => uamiRef(u.id, r.subscriptionId)) } : {}),
    })
  }
  if (groups.length > 0) out.resourceGroups = groups

  const custom = await store.listRoleDefinitions()
  if (custom.length > 0)
    out.customRoles = custom.map((d) => {
      const p = d.permissions[0] ?? { actions: [], notActions: [], dataActions: [], notDataActions: [] }
      return {
        name: d.roleName,
        id: d.id,
        ...(d.description ? { description: d.description } : {}),
        ...(p.actions.length > 0 ? { actions: [...p.actions] } : {}),
        ...(p.notActions.length > 0 ? { notActions: [...p.notActions] } : {}),
        ...(p.dataActions.length > 0 ? { dataActions: [...p.dataActions] } : {}),
        ...(p.notDataActions.length > 0 ? { notDataActions: [...p.notDataActions] } : {}),
        assignableScopes: [...d.assignableScopes],
      }
    })
  if (identities.length > 0) out.identities = identities
  if (hosts.length > 0) out.hosts = hosts

  // -- role assignments, with readable assignees where they are unambiguous
  const bootstrapOwners = new Set(
    subs.flatMap((s) => [b.servicePrincipalId, b.userId].map((p) => nameGuid('azid-bootstrap-owner', `${s.id}/${p}`))),
  )
  const roleName = (id: string) =>
    deps.access.role(id)?.roleName ?? custom.find((d) => lc(d.id) === lc(id))?.roleName ?? id
  const assignments: NonNullable<World['roleAssignments']> = []
  for (const a of (await store.listRoleAssignments()).sort((x, y) => x.createdAt - y.createdAt)) {
    if (bootstrapOwners.has(lc(a.id))) continue
    const sp = await dir.getServicePrincipal(a.principalId)
    let assignee = a.principalId
    const asSub = parseResourceId(a.scope).subscriptionId ?? defaultSub
    if (sp?.type === 'ManagedIdentity' && sp.managedIdentityResourceId) {
      const mi = sp.managedIdentityResourceId
      const uami = uamis.find((u) => idKey(u.id) === idKey(mi))
      const host = hostResources.find((h) => idKey(h.id) === idKey(mi))
      if (uami) assignee = `identity:${uamiRef(uami.id, asSub)}`
      else if (host) {
        const sameName = hostResources.filter((h) => lc(h.name) === lc(host.name) && lc(h.subscriptionId) === lc(asSub))
        assignee =
          sameName.length === 1 && lc(host.subscriptionId) === lc(asSub)
            ? `host:${host.name}`
            : `host:${lc(host.subscriptionId) === lc(asSub) ? `${host.resourceGroup}/${host.name}` : host.id}`
      }
    } else if (sp?.type === 'Application') {
      const app = apps.find((x) => x.appId === sp.appId)
      if (app && appNames.get(app.displayName) === 1) assignee = `app:${app.displayName}`
      else if (sp.appId === b.clientId) assignee = `app:${sp.displayName}`
    } else {
      const u = await dir.getUser(a.principalId)
      if (u) assignee = u.userPrincipalName
    }
    const p = parseResourceId(a.scope)
    const rgOnly = p.subscriptionId && p.resourceGroup && p.providers.length === 0 && p.rest.length === 0
    const subOnly = p.subscriptionId && !p.resourceGroup && p.providers.length === 0 && p.rest.length === 0
    assignments.push({
      assignee,
      role: roleName(a.roleDefinitionId),
      ...(rgOnly
        ? { resourceGroup: p.resourceGroup as string, ...subRef(p.subscriptionId as string) }
        : subOnly
          ? subRef(p.subscriptionId as string)
          : { scope: a.scope }),
      id: a.id,
      ...(a.description ? { description: a.description } : {}),
    })
  }
  if (assignments.length > 0) out.roleAssignments = assignments

  const rules = await createFaultStore(deps.database.db).listFaultRules()
  if (rules.length > 0)
    out.faults = rules.map((r) => ({
      ...(r.description ? { name: r.description } : {}),
      effect: effectText(r.effect),
      ...(r.match.host ? { host: r.match.host } : {}),
      ...(r.match.flavour ? { flavour: r.match.flavour } : {}),
      ...(r.match.path ? { path: r.match.path } : {}),
      ...(r.match.identity ? { identity: r.match.identity } : {}),
      ...(r.remaining !== null ? { count: r.remaining } : {}),
      ...(r.probability < 1 ? { probability: r.probability } : {}),
      ...(r.effect.kind === 'status' && r.effect.retryAfter !== undefined && r.effect.status !== 429
        ? { retryAfter: r.effect.retryAfter }
        : r.effect.kind === 'status' && r.effect.status === 429 && r.effect.retryAfter !== 1
          ? { retryAfter: r.effect.retryAfter as number }
          : {}),
    }))
  return out
}
