/**
 * `azid apply`: brings the world to what a file declares, in one store transaction. Items are keyed by their natural
 * names (tenant domain, application id or name, UPN, resource ids, role name, (scope, role, principal)); an item
 * that already matches is left alone, a different one is updated, a missing one created. Nothing is pruned: what the
 * file does not mention stays (as `az deployment … --mode Incremental`). Any error rolls everything back.
 */
import { X509Certificate, createHash } from 'node:crypto'
import { type ArmStore, HOST_TYPE_NAMES, type Resource } from '../../arm/index.ts'
import type { DirectoryStore, ServicePrincipal } from '../../directory/index.ts'
import { createDirectoryService } from '../../directory/index.ts'
import { parseFaultInput, type FaultRule, FaultRuleError } from '../../faults/index.ts'
import { isGuid, nameGuid } from '../../kernel/ids.ts'
import { canonicalSegments, idKey, isWithinScope, parseResourceId } from '../../kernel/resource-id.ts'
import { hashPassword, hashSecret, verifyPassword } from '../../kernel/secrets.ts'
import type { RoleDefinition } from '../../rbac/index.ts'
import { createArmStore, createFaultStore } from '../../store/index.ts'
import { OWNER_ROLE_ID } from '../bootstrap.ts'
import { API, ArmCallError, type TxArm, type WorldDeps, newDeferred, publishDeferred, txArm } from './context.ts'
import {
  type ApplyResult,
  type Change,
  type DocIssue,
  type DocPath,
  HOST_ALIASES,
  type World,
  type WorldFic,
  formatPath,
  parseWorld,
} from './document.ts'

export const UAMI_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities'
const TWO_YEARS_MS = 2 * 365 * 86_400_000
/** Server-computed host properties: never compared, never exported. */
export const READ_ONLY_HOST_PROPS = new Set([
  'vmId',
  'uniqueId',
  'timeCreated',
  'provisioningState',
  'instanceView',
  'state',
  'defaultHostName',
  'hostNames',
  'status',
])

/** The file is invalid or could not be applied; nothing was changed. */
export class WorldError extends Error {
  readonly issues: DocIssue[]
  constructor(issues: DocIssue[]) {
    super(issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('\n'))
    this.issues = issues
  }
}

/** An item could not be applied; the message names what to do. */
class ItemError extends Error {
  readonly sub: DocPath
  constructor(message: string, sub: DocPath = []) {
    super(message)
    this.sub = sub
  }
}

class Rollback extends Error {}

const lc = (s: string) => s.toLowerCase()
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)
const sameSet = (a: readonly string[], b: readonly string[]) => same([...a].map(lc).sort(), [...b].map(lc).sort())

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number
    d[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] as number
      d[j] = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return d[b.length] as number
}

export function hostTypeOf(raw: string): string | undefined {
  const t = HOST_ALIASES[lc(raw)] ?? raw
  return HOST_TYPE_NAMES.find((h) => lc(h) === lc(t) && h.split('/').length === 2)
}

/** Looks things up in the store as the transaction sees it; shared by apply and export. */
export function resolver(deps: WorldDeps, store: ArmStore) {
  const dir = store.directory
  const r = {
    async tenant(ref: string | undefined): Promise<string> {
      if (!ref) return deps.bootstrap.tenantId
      const t = await dir.getTenant(ref)
      if (!t) throw new ItemError(`unknown tenant '${ref}': declare it under tenants or use an existing id or domain`)
      return t.id
    },
    async subscription(ref: string | undefined): Promise<string> {
      if (!ref) return deps.defaultSubscriptionId
      const byId = isGuid(ref) ? await store.getSubscription(ref) : undefined
      if (byId) return byId.id
      const byName = (await store.listSubscriptions()).filter((s) => lc(s.displayName) === lc(ref))
      if (byName.length === 1) return (byName[0] as { id: string }).id
      throw new ItemError(
        byName.length > 1
          ? `${byName.length} subscriptions are named '${ref}': give the id`
          : `unknown subscription '${ref}': declare it under subscriptions`,
      )
    },
    /** A user-assigned identity by resource id, `rg/name` or `name` (unique in the subscription). */
    async identity(ref: string, sub: string, preferRg?: string): Promise<Resource> {
      let found: Resource[]
      if (ref.startsWith('/')) {
        const x = await store.getResource(canonicalSegments(ref))
        found = x && lc(x.type) === lc(UAMI_TYPE) ? [x] : []
      } else {
        const parts = ref.split('/')
        const all = (await store.listResources({ subscriptionId: sub, type: UAMI_TYPE })).filter(
          (x) => lc(x.name) === lc(parts.at(-1) as string),
        )
        found = parts.length === 2 ? all.filter((x) => lc(x.resourceGroup ?? '') === lc(parts[0] as string)) : all
        if (found.length > 1 && preferRg) {
          const mine = found.filter((x) => lc(x.resourceGroup ?? '') === lc(preferRg))
          if (mine.length === 1) found = mine
        }
      }
      if (found.length === 1) return found[0] as Resource
      if (found.length === 0)
        throw new ItemError(
          `unknown user-assigned identity '${ref}': declare it under identities (or give resourceGroup/name)`,
        )
      throw new ItemError(`${found.length} user-assigned identities are named '${ref}': write resourceGroup/name`)
    },
    /** A host by resource id, `rg/name` or `name`. */
    async host(ref: string, sub: string): Promise<Resource> {
      let found: Resource[] = []
      if (ref.startsWith('/')) {
        const x = await store.getResource(canonicalSegments(ref))
        found = x ? [x] : []
      } else {
        const parts = ref.split('/')
        for (const type of HOST_TYPE_NAMES.filter((t) => t.split('/').length === 2)) {
          const all = await store.listResources({ subscriptionId: sub, type })
          found.push(
            ...all.filter(
              (x) =>
                lc(x.name) === lc(parts.at(-1) as string) &&
                (parts.length === 1 || lc(x.resourceGroup ?? '') === lc(parts[0] as string)),
            ),
          )
        }
      }
      if (found.length === 1) return found[0] as Resource
      if (found.length === 0) throw new ItemError(`unknown host '${ref}': declare it under hosts`)
      throw new ItemError(`${found.length} hosts are named '${ref}': write the resource id`)
    },
    /** The principal an assignee string names (as az's --assignee, plus identity:/host:/app: forms). */
    async principal(ref: string, sub: string): Promise<{ id: string; type: 'ServicePrincipal' | 'User' }> {
      const m = /^(identity|host|app|user):(.+)$/i.exec(ref.trim())
      if (m) {
        const kind = lc(m[1] as string)
        const v = (m[2] as string).trim()
        if (kind === 'identity') {
          const x = await r.identity(v, sub)
          return { id: String((x.properties as { principalId: string }).principalId), type: 'ServicePrincipal' }
        }
        if (kind === 'host') {
          const h = await r.host(v, sub)
          const p = h.identity?.system?.principalId
          if (!p) throw new ItemError(`host '${v}' has no system-assigned identity: set systemAssigned: true on it`)
          return { id: p, type: 'ServicePrincipal' }
        }
        if (kind === 'user') return r.principal(v, sub)
        const sp = await r.appPrincipal(v)
        return { id: sp.objectId, type: 'ServicePrincipal' }
      }
      if (ref.includes('@')) {
        const u = await dir.getUserByUpn(lc(ref))
        if (!u) throw new ItemError(`unknown user '${ref}': declare it under users`)
        return { id: u.objectId, type: 'User' }
      }
      if (isGuid(ref)) {
        const sp = await dir.getServicePrincipal(ref)
        if (sp) return { id: sp.objectId, type: 'ServicePrincipal' }
        const u = await dir.getUser(ref)
        if (u) return { id: u.objectId, type: 'User' }
        for (const t of await dir.listTenants()) {
          const byApp = await dir.getServicePrincipalByAppId(t.id, ref)
          if (byApp) return { id: byApp.objectId, type: 'ServicePrincipal' }
        }
        throw new ItemError(`no service principal or user has object id or app id '${ref}'`)
      }
      return { id: (await r.appPrincipal(ref)).objectId, type: 'ServicePrincipal' }
    },
    async appPrincipal(ref: string): Promise<ServicePrincipal> {
      for (const t of await dir.listTenants()) {
        if (isGuid(ref)) {
          const sp = await dir.getServicePrincipalByAppId(t.id, ref)
          if (sp) return sp
          continue
        }
        const apps = (await dir.listApplications(t.id)).filter((a) => a.displayName === ref)
        if (apps.length > 1) throw new ItemError(`${apps.length} applications are named '${ref}': use the app id`)
        const a = apps[0]
        if (a) {
          const sp = await dir.getServicePrincipalByAppId(a.tenantId, a.appId)
          if (sp) return sp
        }
      }
      throw new ItemError(
        `unknown principal '${ref}': give an object id, app id, user principal name, app:NAME, identity:[rg/]NAME or host:[rg/]NAME`,
      )
    },
    role(ref: string, roles: readonly RoleDefinition[]): RoleDefinition {
      const byId = isGuid(ref) ? roles.find((d) => lc(d.id) === lc(ref)) : undefined
      const byName = roles.find((d) => lc(d.roleName) === lc(ref))
      const hit = byId ?? byName
      if (hit) return hit
      const best = roles.map((d) => ({ d, n: distance(lc(d.roleName), lc(ref)) })).sort((a, b) => a.n - b.n)[0]
      const hint = best && best.n <= Math.max(2, ref.length / 3) ? ` (did you mean '${best.d.roleName}'?)` : ''
      throw new ItemError(`unknown role '${ref}'${hint}`)
    },
    scope(a: { scope?: string | undefined; resourceGroup?: string | undefined }, sub: string): string {
      if (a.scope) {
        const s = canonicalSegments(a.scope.trim().replace(/\/+$/, ''))
        return s === '' ? '/' : s
      }
      if (a.resourceGroup) return `/subscriptions/${sub}/resourceGroups/${a.resourceGroup}`
      return `/subscriptions/${sub}`
    },
  }
  return r
}

/** Replaces a managed identity's generated object and client ids with the ones the file names (export keeps them). */
async function reassignPrincipal(
  dir: DirectoryStore,
  current: { principalId: string; clientId: string },
  want: { principalId?: string | undefined; clientId?: string | undefined },
): Promise<{ principalId: string; clientId: string }> {
  const principalId = lc(want.principalId ?? current.principalId)
  const clientId = lc(want.clientId ?? current.clientId)
  if (principalId === current.principalId && clientId === current.clientId) return current
  if (
    principalId !== current.principalId &&
    ((await dir.getServicePrincipal(principalId)) || (await dir.getUser(principalId)))
  )
    throw new ItemError(`principal id ${principalId} is already used by another principal`)
  const sp = await dir.getServicePrincipal(current.principalId)
  if (!sp) throw new ItemError(`the service principal ${current.principalId} is missing`)
  await dir.deleteServicePrincipal(sp.objectId)
  await dir.putServicePrincipal({
    ...sp,
    objectId: principalId,
    appId: clientId,
    servicePrincipalNames: [clientId, ...sp.servicePrincipalNames.slice(1)],
  })
  return { principalId, clientId }
}

function certificateOf(pem: string) {
  let x: X509Certificate
  try {
    x = new X509Certificate(pem)
  } catch (e) {
    throw new ItemError(`not a PEM certificate: ${(e as Error).message}`, ['pem'])
  }
  const der = x.raw
  return {
    der,
    sha1Hex: createHash('sha1').update(der).digest('hex').toUpperCase(),
    sha256Hex: createHash('sha256').update(der).digest('hex').toUpperCase(),
    startAt: Date.parse(x.validFrom),
    endAt: Date.parse(x.validTo),
  }
}

/** Applies a world document. Throws WorldError (nothing changed) when the file is invalid or an item fails. */
export async function applyWorld(
  deps: WorldDeps,
  raw: unknown,
  opts: { dryRun?: boolean; onProgress?: (done: number, total: number, what: string) => void } = {},
): Promise<ApplyResult> {
  const t0 = performance.now()
  const parsed = parseWorld(raw)
  if (!parsed.world) throw new WorldError(parsed.issues)
  const world: World = parsed.world
  const issues: DocIssue[] = []
  const changes: Change[] = []
  const generatedSecrets: ApplyResult['generatedSecrets'] = []
  const deferred = newDeferred()
  const now = deps.clock.now()
  const total =
    (world.tenants?.length ?? 0) +
    (world.subscriptions?.length ?? 0) +
    (world.applications?.length ?? 0) +
    (world.users?.length ?? 0) +
    (world.resourceGroups?.length ?? 0) +
    (world.customRoles?.length ?? 0) +
    (world.identities?.length ?? 0) +
    (world.hosts?.length ?? 0) +
    (world.roleAssignments?.length ?? 0) +
    (world.faults?.length ?? 0)
  let done = 0

  // Duplicate keys in the file are an error of the file, not of the world.
  const dupCheck = (list: string, items: readonly unknown[] | undefined, key: (x: never) => string) => {
    const seen = new Map<string, number>()
    items?.forEach((x, i) => {
      const k = lc(key(x as never))
      const prev = seen.get(k)
      if (prev !== undefined)
        issues.push({ path: [list, i], message: `duplicate of ${list}[${prev}] ('${key(x as never)}')` })
      else seen.set(k, i)
    })
  }
  dupCheck('tenants', world.tenants, (t: { domain: string }) => t.domain)
  dupCheck('subscriptions', world.subscriptions, (s: { id: string }) => s.id)
  dupCheck('users', world.users, (u: { userPrincipalName: string }) => u.userPrincipalName)
  dupCheck(
    'resourceGroups',
    world.resourceGroups,
    (g: { name: string; subscription?: string }) => `${g.subscription ?? ''}/${g.name}`,
  )
  dupCheck('customRoles', world.customRoles, (c: { name: string }) => c.name)
  dupCheck(
    'identities',
    world.identities,
    (x: { name: string; resourceGroup: string; subscription?: string }) =>
      `${x.subscription ?? ''}/${x.resourceGroup}/${x.name}`,
  )
  dupCheck(
    'hosts',
    world.hosts,
    (x: { name: string; type: string; resourceGroup: string; subscription?: string }) =>
      `${x.subscription ?? ''}/${x.resourceGroup}/${hostTypeOf(x.type) ?? x.type}/${x.name}`,
  )
  if (issues.length > 0) throw new WorldError(issues)

  try {
    await deps.database.db.transaction().execute(async (trx) => {
      const store = createArmStore(trx, deps.database.dialect, true)
      const dir = store.directory
      const directory = createDirectoryService({ store: dir, clock: deps.clock, ids: deps.ids })
      const faultStore = createFaultStore(trx)
      const arm: TxArm = txArm(deps, store, deferred)
      const res = resolver(deps, store)

      const item = async (
        path: DocPath,
        kind: string,
        name: string,
        fn: () => Promise<Change['action'] | [Change['action'], string]>,
      ) => {
        opts.onProgress?.(++done, total, `${kind} ${name}`)
        try {
          const out = await fn()
          const [action, detail] = Array.isArray(out) ? out : [out, undefined]
          changes.push({ path, kind, name, action, ...(detail ? { detail } : {}) })
        } catch (e) {
          if (e instanceof ItemError) issues.push({ path: [...path, ...e.sub], message: e.message })
          else if (e instanceof ArmCallError) issues.push({ path, message: `${e.code}: ${e.message}` })
          else if (e instanceof FaultRuleError)
            issues.push({ path, message: String((e.args as { message?: string }).message ?? e.detail) })
          else throw e
        }
      }

      // -- tenants
      for (const [i, t] of (world.tenants ?? []).entries()) {
        await item(['tenants', i], 'tenant', t.domain, async () => {
          const byDomain = await dir.getTenant(lc(t.domain))
          const byId = t.id ? await dir.getTenant(t.id) : undefined
          if (byId && byDomain && byId.id !== byDomain.id)
            throw new ItemError(`tenant id ${t.id} belongs to the domain '${byId.domain}'`, ['id'])
          const existing = byDomain ?? byId
          if (existing) {
            if (t.id && lc(t.id) !== existing.id)
              throw new ItemError(`the tenant '${t.domain}' exists with id ${existing.id}; tenant ids cannot change`, [
                'id',
              ])
            if (lc(existing.domain) !== lc(t.domain))
              throw new ItemError(`tenant ${existing.id} has the domain '${existing.domain}'; domains cannot change`, [
                'domain',
              ])
            if (t.displayName !== undefined && t.displayName !== existing.displayName) {
              await dir.putTenant({ ...existing, displayName: t.displayName })
              return 'updated'
            }
            return 'unchanged'
          }
          await dir.putTenant({
            id: lc(t.id ?? deps.ids.uuid()),
            domain: lc(t.domain),
            displayName: t.displayName ?? t.domain,
            isDefault: false,
            createdAt: now,
          })
          return 'created'
        })
      }

      // -- subscriptions (the bootstrap administrator owns each new one, as the default)
      for (const [i, s] of (world.subscriptions ?? []).entries()) {
        await item(['subscriptions', i], 'subscription', s.id, async () => {
          const tenantId = await res.tenant(s.tenant).catch((e) => {
            throw new ItemError(e.message, ['tenant'])
          })
          const existing = await store.getSubscription(s.id)
          if (existing) {
            const next = { ...existing, displayName: s.displayName ?? existing.displayName, tenantId }
            if (same(next, existing)) return 'unchanged'
            await store.putSubscription(next)
            return 'updated'
          }
          const id = lc(s.id)
          await store.putSubscription({
            id,
            tenantId,
            displayName: s.displayName ?? id,
            state: 'Enabled',
            createdAt: now,
          })
          const b = deps.bootstrap
          for (const [principalId, principalType] of [
            [b.servicePrincipalId, 'ServicePrincipal'],
            [b.userId, 'User'],
          ] as const) {
            const aid = nameGuid('azid-bootstrap-owner', `${id}/${principalId}`)
            await store.putRoleAssignment({
              id: aid,
              scope: `/subscriptions/${id}`,
              roleDefinitionId: OWNER_ROLE_ID,
              principalId,
              principalType,
              description: 'azid bootstrap administrator',
              condition: null,
              conditionVersion: null,
              createdAt: now,
              updatedAt: now,
              createdBy: null,
              updatedBy: null,
            })
            deferred.assignments.add(aid)
          }
          return 'created'
        })
      }

      // -- applications, their service principals and credentials
      for (const [i, a] of (world.applications ?? []).entries()) {
        await item(['applications', i], 'application', a.displayName, async () => {
          const tenantId = await res.tenant(a.tenant).catch((e) => {
            throw new ItemError(e.message, ['tenant'])
          })
          let existing = a.appId ? await dir.getApplicationByAppId(a.appId) : undefined
          if (!a.appId) {
            const named = (await dir.listApplications(tenantId)).filter((x) => x.displayName === a.displayName)
            if (named.length > 1)
              throw new ItemError(`${named.length} applications are named '${a.displayName}': add appId to pick one`)
            existing = named[0]
          }
          if (existing?.appId === deps.bootstrap.clientId)
            throw new ItemError('the bootstrap administrator application is managed by azid itself')
          const desired = {
            displayName: a.displayName,
            isPublicClient: a.publicClient ?? existing?.isPublicClient ?? false,
            accessTokenVersion: a.accessTokenVersion ?? existing?.accessTokenVersion ?? 1,
            identifierUris: a.identifierUris ?? existing?.identifierUris ?? [],
            redirectUris: a.redirectUris ?? existing?.redirectUris ?? [],
            appRoles:
              a.appRoles?.map((r) => ({
                id: lc(r.id),
                value: r.value,
                displayName: r.displayName ?? r.value,
                description: r.description ?? '',
                allowedMemberTypes: r.allowedMemberTypes ?? ['Application'],
                isEnabled: true,
              })) ??
              existing?.appRoles ??
              [],
          }
          let action: Change['action'] = 'unchanged'
          const details: string[] = []
          let appId: string
          if (existing) {
            if (a.objectId && lc(a.objectId) !== existing.objectId)
              throw new ItemError(`the application exists with object id ${existing.objectId}; ids cannot change`, [
                'objectId',
              ])
            if (existing.tenantId !== tenantId)
              throw new ItemError(`the application exists in tenant ${existing.tenantId}`, ['tenant'])
            appId = existing.appId
            const next = { ...existing, ...desired }
            if (!same(next, existing)) {
              await dir.putApplication(next)
              const sp = await dir.getServicePrincipalByAppId(tenantId, appId)
              if (sp)
                await dir.putServicePrincipal({
                  ...sp,
                  displayName: next.displayName,
                  servicePrincipalNames: [appId, ...next.identifierUris],
                })
              action = 'updated'
            }
            const sp = await dir.getServicePrincipalByAppId(tenantId, appId)
            if (a.servicePrincipalId && sp && lc(a.servicePrincipalId) !== sp.objectId)
              throw new ItemError(`the service principal exists with object id ${sp.objectId}; ids cannot change`, [
                'servicePrincipalId',
              ])
          } else {
            appId = lc(a.appId ?? deps.ids.uuid())
            for (const [k, id] of [
              ['objectId', a.objectId],
              ['servicePrincipalId', a.servicePrincipalId],
            ] as const)
              if (
                id &&
                ((await dir.getApplication(id)) || (await dir.getServicePrincipal(id)) || (await dir.getUser(id)))
              )
                throw new ItemError(`object id ${id} is already used by another directory object`, [k])
            await dir.putApplication({
              tenantId,
              objectId: lc(a.objectId ?? deps.ids.uuid()),
              appId,
              ...desired,
              createdAt: now,
            })
            await dir.putServicePrincipal({
              tenantId,
              objectId: lc(a.servicePrincipalId ?? deps.ids.uuid()),
              appId,
              displayName: a.displayName,
              type: 'Application',
              appOwnerTenantId: tenantId,
              servicePrincipalNames: [appId, ...desired.identifierUris],
              alternativeNames: [],
              managedIdentityResourceId: null,
              accountEnabled: true,
              createdAt: now,
            })
            action = 'created'
          }
          const touched = () => {
            if (action === 'unchanged') action = 'updated'
          }
          // Secrets: keyed by keyId or display name.
          const creds = await dir.listPasswordCredentials(appId)
          for (const [j, s] of (a.secrets ?? []).entries()) {
            const sub = ['secrets', j]
            if (s.value && s.hash) throw new ItemError('give either value or hash, not both', sub)
            const match = creds.find((c) => (s.keyId ? lc(c.keyId) === lc(s.keyId) : c.displayName === s.displayName))
            const endAt = s.endDateTime ? Date.parse(s.endDateTime) : (match?.endAt ?? now + TWO_YEARS_MS)
            if (s.value) {
              if (match && hashSecret(s.value, match.salt) === match.hash && match.endAt === endAt) continue
              if (match) await dir.deletePasswordCredential(match.keyId)
              const salt = deps.ids.bytes(16).toString('base64url')
              await dir.putPasswordCredential({
                keyId: lc(s.keyId ?? match?.keyId ?? deps.ids.uuid()),
                tenantId,
                appId,
                displayName: s.displayName,
                hint: s.value.slice(0, 3),
                salt,
                hash: hashSecret(s.value, salt),
                startAt: now,
                endAt,
                createdAt: now,
              })
              details.push(`secret '${s.displayName}' ${match ? 'replaced' : 'added'}`)
              touched()
            } else if (s.hash) {
              const [, salt, hash] = s.hash.split(':') as [string, string, string]
              if (match && match.salt === salt && match.hash === hash && match.endAt === endAt) continue
              if (match) await dir.deletePasswordCredential(match.keyId)
              await dir.putPasswordCredential({
                keyId: lc(s.keyId ?? match?.keyId ?? deps.ids.uuid()),
                tenantId,
                appId,
                displayName: s.displayName,
                hint: s.hint ?? '',
                salt,
                hash,
                startAt: match?.startAt ?? now,
                endAt,
                createdAt: now,
              })
              details.push(`secret '${s.displayName}' ${match ? 'replaced' : 'added'}`)
              touched()
            } else if (!match) {
              const { secretText } = await directory.addPassword({ appId, displayName: s.displayName, endAt })
              generatedSecrets.push({ application: a.displayName, displayName: s.displayName, value: secretText })
              details.push(`secret '${s.displayName}' generated`)
              touched()
            }
          }
          const keys = await dir.listKeyCredentials(appId)
          for (const [j, c] of (a.certificates ?? []).entries()) {
            const cert = certificateOf(c.pem)
            if (keys.some((k) => k.sha1Hex === cert.sha1Hex)) continue
            await dir
              .putKeyCredential({
                keyId: lc(c.keyId ?? deps.ids.uuid()),
                tenantId,
                appId,
                displayName: c.displayName ?? 'azid certificate',
                sha1Hex: cert.sha1Hex,
                sha256Hex: cert.sha256Hex,
                certDer: cert.der.toString('base64'),
                startAt: cert.startAt,
                endAt: cert.endAt,
                createdAt: now,
              })
              .catch((e) => {
                throw new ItemError(String((e as Error).message), ['certificates', j])
              })
            details.push(`certificate ${cert.sha1Hex.slice(0, 8)}… added`)
            touched()
          }
          const fics = (await dir.listFederatedCredentials(appId)).filter((f) => f.resourceId === null)
          for (const f of a.federatedCredentials ?? []) {
            const match = fics.find((x) => x.name === f.name)
            const next = {
              id: match?.id ?? deps.ids.uuid(),
              tenantId,
              appId,
              name: f.name,
              issuer: f.issuer,
              subject: f.subject,
              audiences: f.audiences ?? ['api://AzureADTokenExchange'],
              description: f.description ?? null,
              resourceId: null,
              createdAt: match?.createdAt ?? now,
            }
            if (match && same(next, match)) continue
            await dir.putFederatedCredential(next)
            details.push(`federated credential '${f.name}' ${match ? 'updated' : 'added'}`)
            touched()
          }
          return [action, details.join(', ')]
        })
      }

      // -- users
      for (const [i, u] of (world.users ?? []).entries()) {
        await item(['users', i], 'user', u.userPrincipalName, async () => {
          if (u.password && u.passwordHash) throw new ItemError('give either password or passwordHash, not both')
          const tenantId = await res.tenant(u.tenant).catch((e) => {
            throw new ItemError(e.message, ['tenant'])
          })
          const upn = lc(u.userPrincipalName)
          const existing = await dir.getUserByUpn(upn)
          if (existing) {
            if (existing.objectId === deps.bootstrap.userId && (u.password || u.passwordHash))
              throw new ItemError("the bootstrap administrator's password is managed by azid itself")
            if (u.objectId && lc(u.objectId) !== existing.objectId)
              throw new ItemError(`the user exists with object id ${existing.objectId}; ids cannot change`, [
                'objectId',
              ])
            let next = { ...existing, displayName: u.displayName ?? existing.displayName }
            if (u.passwordHash && u.passwordHash !== existing.passwordHash)
              next = { ...next, passwordHash: u.passwordHash }
            if (u.password && !(existing.passwordHash && verifyPassword(u.password, existing.passwordHash)))
              next = { ...next, passwordHash: hashPassword(u.password, deps.ids.bytes(16)) }
            if (same(next, existing)) return 'unchanged'
            await dir.putUser(next)
            return 'updated'
          }
          if (u.objectId && ((await dir.getUser(u.objectId)) || (await dir.getServicePrincipal(u.objectId))))
            throw new ItemError(`object id ${u.objectId} is already used by another directory object`, ['objectId'])
          await dir.putUser({
            tenantId,
            objectId: lc(u.objectId ?? deps.ids.uuid()),
            userPrincipalName: upn,
            displayName: u.displayName ?? upn.split('@')[0] ?? upn,
            passwordHash: u.passwordHash ?? (u.password ? hashPassword(u.password, deps.ids.bytes(16)) : null),
            createdAt: now,
          })
          return 'created'
        })
      }

      // -- resource groups
      for (const [i, g] of (world.resourceGroups ?? []).entries()) {
        await item(['resourceGroups', i], 'resource group', g.name, async () => {
          const sub = await res.subscription(g.subscription).catch((e) => {
            throw new ItemError(e.message, ['subscription'])
          })
          const existing = await store.getResourceGroup(sub, g.name)
          const path = `/subscriptions/${sub}/resourcegroups/${encodeURIComponent(g.name)}`
          if (existing) {
            if (lc(existing.location) !== lc(g.location).replace(/\s+/g, ''))
              throw new ItemError(
                `the resource group exists in '${existing.location}'; a group's location cannot change`,
                ['location'],
              )
            if (g.tags === undefined || same(g.tags, existing.tags)) return 'unchanged'
            await arm.call('PATCH', path, API.rg, { tags: g.tags })
            return 'updated'
          }
          await arm.call('PUT', path, API.rg, { location: g.location, ...(g.tags ? { tags: g.tags } : {}) })
          return 'created'
        })
      }

      // -- custom roles
      for (const [i, c] of (world.customRoles ?? []).entries()) {
        await item(['customRoles', i], 'custom role', c.name, async () => {
          const roles = arm.access.roles()
          const byId = c.id ? roles.find((r) => lc(r.id) === lc(c.id as string)) : undefined
          const byName = roles.find((r) => lc(r.roleName) === lc(c.name))
          if (byName?.type === 'BuiltInRole') throw new ItemError(`'${c.name}' is a built-in role`, ['name'])
          if (byId?.type === 'BuiltInRole') throw new ItemError(`${c.id} is a built-in role`, ['id'])
          if (byId && byName && byId.id !== byName.id)
            throw new ItemError(`another custom role (${byName.id}) is named '${c.name}'`, ['name'])
          const existing = byId ?? byName
          const id = lc(existing?.id ?? c.id ?? nameGuid('azid-custom-role', lc(c.name)))
          const defaultScope = `/subscriptions/${deps.defaultSubscriptionId}`
          const scopes = (c.assignableScopes ?? existing?.assignableScopes ?? [defaultScope]).map((s) =>
            canonicalSegments(s.replace(/\/+$/, '')),
          )
          const permissions = [
            {
              actions: c.actions ?? [],
              notActions: c.notActions ?? [],
              dataActions: c.dataActions ?? [],
              notDataActions: c.notDataActions ?? [],
            },
          ]
          const description = c.description ?? existing?.description ?? ''
          if (
            existing &&
            existing.roleName === c.name &&
            existing.description === description &&
            sameSet(existing.assignableScopes.map(idKey), scopes.map(idKey)) &&
            same(existing.permissions, permissions)
          )
            return 'unchanged'
          const defScope = existing?.scope && existing.scope !== '/' ? existing.scope : (scopes[0] ?? defaultScope)
          const sub = parseResourceId(defScope).subscriptionId ?? deps.defaultSubscriptionId
          await arm.call(
            'PUT',
            `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${id}`,
            API.auth,
            {
              properties: {
                roleName: c.name,
                description,
                type: 'CustomRole',
                permissions,
                assignableScopes: scopes,
              },
            },
          )
          return existing ? 'updated' : 'created'
        })
      }

      // -- user-assigned identities and their federated credentials
      for (const [i, x] of (world.identities ?? []).entries()) {
        await item(['identities', i], 'identity', `${x.resourceGroup}/${x.name}`, async () => {
          const sub = await res.subscription(x.subscription).catch((e) => {
            throw new ItemError(e.message, ['subscription'])
          })
          const group = await store.getResourceGroup(sub, x.resourceGroup)
          if (!group)
            throw new ItemError(`resource group '${x.resourceGroup}' does not exist: declare it under resourceGroups`, [
              'resourceGroup',
            ])
          const id = `/subscriptions/${sub}/resourceGroups/${group.name}/providers/${UAMI_TYPE}/${x.name}`
          const existing = await store.getResource(id)
          let action: Change['action'] = 'unchanged'
          const details: string[] = []
          if (existing) {
            const p = existing.properties as { principalId: string; clientId: string }
            if (x.principalId && lc(x.principalId) !== p.principalId)
              throw new ItemError(`the identity exists with principal id ${p.principalId}; ids cannot change`, [
                'principalId',
              ])
            if (x.clientId && lc(x.clientId) !== p.clientId)
              throw new ItemError(`the identity exists with client id ${p.clientId}; ids cannot change`, ['clientId'])
            if (x.location && lc(x.location).replace(/\s+/g, '') !== existing.location)
              throw new ItemError(`the identity exists in '${existing.location}'; its location cannot change`, [
                'location',
              ])
            if (x.tags !== undefined && !same(x.tags, existing.tags)) {
              await arm.call('PATCH', id, API.mi, { tags: x.tags })
              action = 'updated'
            }
          } else {
            await arm.call('PUT', id, API.mi, {
              location: x.location ?? group.location,
              ...(x.tags ? { tags: x.tags } : {}),
            })
            if (x.principalId || x.clientId) {
              const r = (await store.getResource(id)) as Resource
              const p = r.properties as { principalId: string; clientId: string }
              const ids = await reassignPrincipal(dir, p, x).catch((e) => {
                throw e instanceof ItemError ? new ItemError(e.message, ['principalId']) : e
              })
              await store.putResource({ ...r, properties: { ...r.properties, ...ids } })
            }
            action = 'created'
          }
          const fics = await store.listResources({ parentId: id })
          for (const [j, f] of (x.federatedCredentials ?? []).entries()) {
            const cur = fics.find((c) => lc(c.name) === lc(f.name))
            const props = {
              issuer: f.issuer,
              subject: f.subject,
              audiences: f.audiences ?? ['api://AzureADTokenExchange'],
            }
            const cp = cur?.properties as typeof props | undefined
            if (cp && cp.issuer === props.issuer && cp.subject === props.subject && same(cp.audiences, props.audiences))
              continue
            await arm
              .call('PUT', `${id}/federatedIdentityCredentials/${encodeURIComponent(f.name)}`, API.mi, {
                properties: props,
              })
              .catch((e) => {
                throw e instanceof ArmCallError
                  ? new ItemError(`${e.code}: ${e.message}`, ['federatedCredentials', j])
                  : e
              })
            details.push(`federated credential '${f.name}' ${cur ? 'updated' : 'added'}`)
            if (action === 'unchanged') action = 'updated'
          }
          return [action, details.join(', ')]
        })
      }

      // -- hosts and their identities
      for (const [i, h] of (world.hosts ?? []).entries()) {
        await item(['hosts', i], 'host', `${h.resourceGroup}/${h.name}`, async () => {
          const type = hostTypeOf(h.type)
          if (!type)
            throw new ItemError(
              `unknown host type '${h.type}': use vm, vmss, webapp, aci, arc or one of ${HOST_TYPE_NAMES.filter((t) => t.split('/').length === 2).join(', ')}`,
              ['type'],
            )
          const api = API[lc(type) as keyof typeof API]
          const sub = await res.subscription(h.subscription).catch((e) => {
            throw new ItemError(e.message, ['subscription'])
          })
          const group = await store.getResourceGroup(sub, h.resourceGroup)
          if (!group)
            throw new ItemError(`resource group '${h.resourceGroup}' does not exist: declare it under resourceGroups`, [
              'resourceGroup',
            ])
          const id = `/subscriptions/${sub}/resourceGroups/${group.name}/providers/${type}/${h.name}`
          const userIds: string[] = []
          for (const [j, ref] of (h.userAssigned ?? []).entries()) {
            const x = await res.identity(ref, sub, group.name).catch((e) => {
              throw e instanceof ItemError ? new ItemError(e.message, ['userAssigned', j]) : e
            })
            userIds.push(x.id)
          }
          const existing = await store.getResource(id)
          const wantSystem = h.systemAssigned === undefined ? undefined : h.systemAssigned !== false
          const wantIds = typeof h.systemAssigned === 'object' ? h.systemAssigned : undefined
          const identityBody = (system: boolean, add: string[], remove: string[], keepUser: boolean) => {
            const user = add.length > 0 || keepUser
            const type =
              system && user
                ? 'SystemAssigned, UserAssigned'
                : system
                  ? 'SystemAssigned'
                  : user
                    ? 'UserAssigned'
                    : 'None'
            const dict: Record<string, object | null> = {}
            for (const a of add) dict[a] = {}
            for (const r of remove) dict[r] = null
            return { type, ...(Object.keys(dict).length > 0 ? { userAssignedIdentities: dict } : {}) }
          }
          const fixSystem = async () => {
            if (!wantIds) return
            const r = (await store.getResource(id)) as Resource
            const sys = r.identity?.system
            if (!sys) return
            if (
              lc(wantIds.principalId) === sys.principalId &&
              (!wantIds.clientId || lc(wantIds.clientId) === sys.clientId)
            )
              return
            const ids = await reassignPrincipal(dir, sys, wantIds).catch((e) => {
              throw e instanceof ItemError ? new ItemError(e.message, ['systemAssigned']) : e
            })
            await store.putResource({ ...r, identity: { system: { ...sys, ...ids }, user: r.identity?.user ?? [] } })
          }
          if (!existing) {
            const system = wantSystem ?? false
            await arm.call('PUT', id, api, {
              location: h.location ?? group.location,
              ...(h.tags ? { tags: h.tags } : {}),
              ...(h.sku !== undefined ? { sku: h.sku } : {}),
              ...(h.kind !== undefined ? { kind: h.kind } : {}),
              properties: h.properties ?? {},
              ...(system || userIds.length > 0 ? { identity: identityBody(system, userIds, [], false) } : {}),
            })
            await fixSystem()
            return 'created'
          }
          if (h.location && lc(h.location).replace(/\s+/g, '') !== existing.location)
            throw new ItemError(`the host exists in '${existing.location}'; its location cannot change`, ['location'])
          const details: string[] = []
          const patch: Record<string, unknown> = {}
          if (h.tags !== undefined && !same(h.tags, existing.tags)) patch.tags = h.tags
          if (h.properties !== undefined) {
            const differs = Object.entries(h.properties).some(
              ([k, v]) => !READ_ONLY_HOST_PROPS.has(k) && !same(existing.properties[k], v),
            )
            if (differs) patch.properties = h.properties
          }
          if (h.sku !== undefined && !same(existing.extra.sku, h.sku)) patch.sku = h.sku
          if (h.kind !== undefined && existing.extra.kind !== h.kind) patch.kind = h.kind
          const curSystem = existing.identity?.system ?? null
          const curUser = (existing.identity?.user ?? []).map((u) => u.id)
          if (wantIds && curSystem && lc(wantIds.principalId) !== curSystem.principalId)
            throw new ItemError(
              `the host's system-assigned identity has principal id ${curSystem.principalId}; ids cannot change (set systemAssigned: true)`,
              ['systemAssigned'],
            )
          const system = wantSystem ?? Boolean(curSystem)
          const manageUser = h.userAssigned !== undefined
          const add = manageUser ? userIds.filter((u) => !curUser.some((c) => lc(c) === lc(u))) : []
          const remove = manageUser ? curUser.filter((c) => !userIds.some((u) => lc(u) === lc(c))) : []
          if (system !== Boolean(curSystem) || add.length > 0 || remove.length > 0) {
            const keepUser = curUser.length - remove.length > 0
            patch.identity = identityBody(system, add, remove, keepUser)
            if (system !== Boolean(curSystem))
              details.push(`system-assigned identity ${system ? 'enabled' : 'disabled'}`)
            for (const a of add) details.push(`identity ${a.split('/').at(-1)} attached`)
            for (const r of remove) details.push(`identity ${r.split('/').at(-1)} detached`)
          }
          if (Object.keys(patch).length === 0) return 'unchanged'
          await arm.call('PATCH', id, api, patch)
          await fixSystem()
          return ['updated', details.join(', ')]
        })
      }

      // -- role assignments
      for (const [i, a] of (world.roleAssignments ?? []).entries()) {
        await item(['roleAssignments', i], 'role assignment', `${a.role} for ${a.assignee}`, async () => {
          const sub = await res.subscription(a.subscription).catch((e) => {
            throw new ItemError(e.message, ['subscription'])
          })
          const scope = res.scope(a, sub)
          const role = (() => {
            try {
              return res.role(a.role, arm.access.roles())
            } catch (e) {
              throw e instanceof ItemError ? new ItemError(e.message, ['role']) : e
            }
          })()
          if (!role.assignableScopes.some((s) => isWithinScope(scope, s)))
            throw new ItemError(
              `role '${role.roleName}' cannot be assigned at ${scope} (not in its assignable scopes)`,
              ['scope'],
            )
          const p = await res.principal(a.assignee, sub).catch((e) => {
            throw e instanceof ItemError ? new ItemError(e.message, ['assignee']) : e
          })
          const mine = await store.listRoleAssignments({ principalId: p.id })
          const existing = mine.find((x) => idKey(x.scope) === idKey(scope) && lc(x.roleDefinitionId) === lc(role.id))
          if (a.id) {
            const byId = await store.getRoleAssignment(a.id)
            if (
              byId &&
              byId !== undefined &&
              (idKey(byId.scope) !== idKey(scope) ||
                byId.principalId !== p.id ||
                lc(byId.roleDefinitionId) !== lc(role.id))
            )
              throw new ItemError(
                `role assignment ${a.id} exists with another scope, role or principal; assignments cannot change`,
                ['id'],
              )
          }
          if (existing && (a.description === undefined || a.description === (existing.description ?? '')))
            return 'unchanged'
          const id = lc(existing?.id ?? a.id ?? deps.ids.uuid())
          const rdSub = parseResourceId(scope).subscriptionId ?? sub
          await arm.call(
            'PUT',
            `${scope === '/' ? '' : scope}/providers/Microsoft.Authorization/roleAssignments/${id}`,
            API.auth,
            {
              properties: {
                roleDefinitionId: `/subscriptions/${rdSub}/providers/Microsoft.Authorization/roleDefinitions/${role.id}`,
                principalId: p.id,
                principalType: p.type,
                ...(a.description !== undefined ? { description: a.description } : {}),
              },
            },
          )
          return existing ? 'updated' : 'created'
        })
      }

      // -- fault rules (keyed by name, or by what they do when unnamed)
      const rules = await faultStore.listFaultRules()
      for (const [i, f] of (world.faults ?? []).entries()) {
        const label = f.name ?? String(f.effect)
        await item(['faults', i], 'fault rule', label, async () => {
          const match: Record<string, string> = {}
          for (const k of ['host', 'flavour', 'path', 'identity'] as const)
            if (f[k] !== undefined) match[k] = f[k] as string
          const input = parseFaultInput({
            effect: f.effect,
            match,
            ...(f.count !== undefined ? { count: f.count } : {}),
            ...(f.probability !== undefined ? { probability: f.probability } : {}),
            ...(f.retryAfter !== undefined ? { retryAfter: f.retryAfter } : {}),
            ...(f.name !== undefined ? { description: f.name } : {}),
          })
          const sameWhat = (r: FaultRule) =>
            same(r.effect, input.effect) &&
            same(r.match, input.match ?? {}) &&
            r.probability === (input.probability ?? 1)
          const existing = f.name
            ? rules.find((r) => r.description === f.name)
            : rules.find((r) => r.description === null && sameWhat(r))
          if (existing && sameWhat(existing)) return 'unchanged'
          if (existing) await faultStore.deleteFaultRule(existing.id)
          const rule: FaultRule = {
            id: deps.ids.uuid(),
            match: input.match ?? {},
            effect: input.effect,
            remaining: input.count ?? null,
            probability: input.probability ?? 1,
            from: null,
            until: null,
            createdAt: now,
            description: input.description ?? null,
          }
          await faultStore.putFaultRule(rule)
          rules.push(rule)
          return existing ? 'updated' : 'created'
        })
      }

      if (issues.length > 0 || opts.dryRun) throw new Rollback()
    })
  } catch (e) {
    if (!(e instanceof Rollback)) throw e
    if (issues.length > 0) throw new WorldError(issues)
  }
  if (!opts.dryRun) {
    await publishDeferred(deps, deferred)
    const summary = summarise(changes)
    if (summary.created + summary.updated > 0)
      deps.audit.record({
        kind: 'admin',
        result: 'success',
        principalId: deps.bootstrap.servicePrincipalId,
        reason: `configuration applied: ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged`,
        details: {
          changes: changes.filter((c) => c.action !== 'unchanged').map((c) => `${c.action} ${c.kind} ${c.name}`),
        },
      })
  }
  return {
    dryRun: Boolean(opts.dryRun),
    changes,
    summary: summarise(changes),
    generatedSecrets: opts.dryRun ? [] : generatedSecrets,
    elapsedMs: Math.round(performance.now() - t0),
  }
}

function summarise(changes: readonly Change[]) {
  return {
    created: changes.filter((c) => c.action === 'created').length,
    updated: changes.filter((c) => c.action === 'updated').length,
    unchanged: changes.filter((c) => c.action === 'unchanged').length,
  }
}

export type { WorldFic }
