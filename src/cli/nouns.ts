/**
 * The az-shaped nouns: `identity`, `group`, `vm`, `vmss`, `host`, `role assignment|definition`, `token get`.
 * Each sends the ARM/Graph requests az sends and prints what az prints (see output.ts for the formats).
 */
import { UsageError, type ParsedArgs, flag, has, need, present, values } from './args.ts'
import { type Json, type Session, flatten, isGuid } from './arm.ts'
import { CliError, type Target, adminRequest, httpsRequest } from './client.ts'

export interface NounCtx {
  p: ParsedArgs
  session(): Promise<Session>
  target(): Target
  /** Prints a result in the chosen format; `table` is az's table transformer for the command. */
  emit(data: unknown, table?: (d: unknown) => Record<string, unknown>[]): void
  progress(s: string): void
}

const V = {
  rg: '2022-09-01',
  mi: '2023-01-31',
  auth: '2022-04-01',
}

/** Host types: az's noun (vm, vmss) or `azid host --type`. */
const HOST_TYPES: Record<string, { type: string; api: string; noun: string }> = {
  vm: { type: 'Microsoft.Compute/virtualMachines', api: '2024-11-01', noun: 'VM' },
  vmss: { type: 'Microsoft.Compute/virtualMachineScaleSets', api: '2024-11-01', noun: 'scale set' },
  webapp: { type: 'Microsoft.Web/sites', api: '2023-12-01', noun: 'web app' },
  functionapp: { type: 'Microsoft.Web/sites', api: '2023-12-01', noun: 'function app' },
  aci: { type: 'Microsoft.ContainerInstance/containerGroups', api: '2023-05-01', noun: 'container group' },
  arc: { type: 'Microsoft.HybridCompute/machines', api: '2024-07-10', noun: 'Arc machine' },
}

export function hostKind(raw: string): { type: string; api: string; noun: string } {
  const k = HOST_TYPES[raw.toLowerCase()]
  if (k) return k
  const byType = Object.values(HOST_TYPES).find((h) => h.type.toLowerCase() === raw.toLowerCase())
  if (byType) return byType
  throw new UsageError(
    `argument --type: unknown host type '${raw}' (choose from ${Object.keys(HOST_TYPES).join(', ')} or a full resource type)`,
  )
}

const rgPath = (s: Session, rg: string) => `/subscriptions/${s.subscription}/resourceGroups/${rg}`

function tagsOf(p: ParsedArgs): Record<string, string> | undefined {
  if (!present(p, 'tags')) return undefined
  const out: Record<string, string> = {}
  for (const kv of values(p, 'tags')) {
    const i = kv.indexOf('=')
    out[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1)
  }
  return out
}

async function rgLocation(s: Session, rg: string): Promise<string> {
  const g = await s.arm<Json>('GET', rgPath(s, rg), V.rg)
  return String(g.location)
}

/** `--ids` or `-g`/`-n`: the resource ids a show/delete addresses. */
function idsOrName(c: NounCtx, s: Session, type: string, usage: string): string[] {
  const ids = values(c.p, 'ids')
  if (ids.length > 0) return ids
  const rg = flag(c.p, 'resource-group')
  const name = flag(c.p, 'name')
  if (!rg || !name) throw new UsageError(`(--ids | --resource-group/-g and --name/-n) are required (usage: ${usage})`)
  return [`${rgPath(s, rg)}/providers/${type}/${name}`]
}

// -- identity ---------------------------------------------------------------------------------------------------

const UAMI = 'Microsoft.ManagedIdentity/userAssignedIdentities'

export async function identity(c: NounCtx, sub: string | undefined): Promise<number> {
  const s = await c.session()
  switch (sub) {
    case 'create': {
      const usage = 'azid identity create -g RESOURCE_GROUP -n NAME [-l LOCATION] [--tags k=v ...]'
      const rg = need(c.p, 'resource-group', usage)
      const name = need(c.p, 'name', usage)
      const location = flag(c.p, 'location') ?? (await rgLocation(s, rg))
      const tags = tagsOf(c.p)
      const r = await s.arm<Json>('PUT', `${rgPath(s, rg)}/providers/${UAMI}/${name}`, V.mi, {
        location,
        ...(tags ? { tags } : {}),
      })
      c.emit(flatten(r))
      return 0
    }
    case 'list': {
      const rg = flag(c.p, 'resource-group')
      const list = await s.armList(
        rg ? `${rgPath(s, rg)}/providers/${UAMI}` : `/subscriptions/${s.subscription}/providers/${UAMI}`,
        V.mi,
      )
      c.emit(list.map(flatten))
      return 0
    }
    case 'show': {
      const [id] = idsOrName(c, s, UAMI, 'azid identity show -g RESOURCE_GROUP -n NAME | --ids ID')
      c.emit(flatten(await s.arm<Json>('GET', id as string, V.mi)))
      return 0
    }
    case 'delete': {
      for (const id of idsOrName(c, s, UAMI, 'azid identity delete -g RESOURCE_GROUP -n NAME | --ids ID...'))
        await s.arm('DELETE', id, V.mi)
      return 0
    }
    case 'federated-credential':
      return federatedCredential(c, s)
    default:
      throw new UsageError('usage: azid identity create|list|show|delete|federated-credential …')
  }
}

async function federatedCredential(c: NounCtx, s: Session): Promise<number> {
  const [op] = c.p.positionals
  const usage =
    'azid identity federated-credential create|list|show|delete -g RG --identity-name ID [-n NAME --issuer URL --subject S [--audiences A]]'
  const rg = need(c.p, 'resource-group', usage)
  const idName = need(c.p, 'identity-name', usage)
  const base = `${rgPath(s, rg)}/providers/${UAMI}/${idName}/federatedIdentityCredentials`
  switch (op) {
    case 'create':
    case 'update': {
      const name = need(c.p, 'name', usage)
      const r = await s.arm<Json>('PUT', `${base}/${name}`, V.mi, {
        properties: {
          issuer: need(c.p, 'issuer', usage),
          subject: need(c.p, 'subject', usage),
          audiences: values(c.p, 'audiences').length > 0 ? values(c.p, 'audiences') : ['api://AzureADTokenExchange'],
        },
      })
      c.emit(flatten(r))
      return 0
    }
    case 'list':
      c.emit((await s.armList(base, V.mi)).map(flatten))
      return 0
    case 'show':
      c.emit(flatten(await s.arm<Json>('GET', `${base}/${need(c.p, 'name', usage)}`, V.mi)))
      return 0
    case 'delete':
      await s.arm('DELETE', `${base}/${need(c.p, 'name', usage)}`, V.mi)
      return 0
    default:
      throw new UsageError(`usage: ${usage}`)
  }
}

// -- group ------------------------------------------------------------------------------------------------------

const groupTable = (d: unknown) =>
  (Array.isArray(d) ? d : [d]).map((g: Json) => ({
    Name: g.name,
    Location: g.location,
    Status: (g.properties as Json | undefined)?.provisioningState ?? g.provisioningState,
  }))

export async function group(c: NounCtx, sub: string | undefined): Promise<number> {
  const s = await c.session()
  const usage = 'azid group create -n NAME -l LOCATION | list | show -n NAME | delete -n NAME [--yes]'
  switch (sub) {
    case 'create': {
      const name = need(c.p, 'name', usage)
      const location = need(c.p, 'location', usage)
      const tags = tagsOf(c.p)
      c.emit(await s.arm('PUT', rgPath(s, name), V.rg, { location, ...(tags ? { tags } : {}) }), groupTable)
      return 0
    }
    case 'list':
      c.emit(await s.armList(`/subscriptions/${s.subscription}/resourcegroups`, V.rg), groupTable)
      return 0
    case 'show':
      c.emit(await s.arm('GET', rgPath(s, need(c.p, 'name', usage)), V.rg), groupTable)
      return 0
    case 'delete': {
      const name = need(c.p, 'name', usage)
      c.progress(`Deleting resource group '${name}' and everything in it`)
      await s.arm('DELETE', rgPath(s, name), V.rg)
      return 0
    }
    case 'exists': {
      const name = need(c.p, 'name', usage)
      const exists = await s.arm('GET', rgPath(s, name), V.rg).then(
        () => true,
        (e: Error) => {
          if (/ResourceGroupNotFound/.test(e.message)) return false
          throw e
        },
      )
      c.emit(exists)
      return 0
    }
    default:
      throw new UsageError(`usage: ${usage}`)
  }
}

/** az's --set values: JSON when it parses (null, numbers, objects), else the string without surrounding quotes. */
function parseValue(v: string): unknown {
  const t = v.trim()
  try {
    return JSON.parse(t)
  } catch {
    return t.replace(/^(['"])(.*)\1$/, '$2')
  }
}

/** Sets (or with undefined removes) `a.b.c` in an object, creating the objects on the way. */
function setPath(obj: Json, path: string, value: unknown): void {
  const parts = path.split('.')
  let o: Json = obj
  for (const k of parts.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {}
    o = o[k] as Json
  }
  const last = parts.at(-1) as string
  if (value === undefined) delete o[last]
  else o[last] = value
}

// -- hosts: vm, vmss, host --type T ----------------------------------------------------------------------------

/** az's --assign-identity / --identities values: `[system]` and user-assigned names (in the host's group) or ids. */
function identityRefs(s: Session, rg: string, raw: readonly string[]): { system: boolean; user: string[] } {
  let system = raw.length === 0
  const user: string[] = []
  for (const v of raw) {
    if (v.toLowerCase() === '[system]') system = true
    else user.push(v.startsWith('/') ? v : `${rgPath(s, rg)}/providers/${UAMI}/${v}`)
  }
  return { system, user }
}

function identityType(system: boolean, user: boolean): string {
  return system && user ? 'SystemAssigned, UserAssigned' : system ? 'SystemAssigned' : user ? 'UserAssigned' : 'None'
}

/** az's summary of a host's identities (`az vm identity assign`). */
function identitySummary(r: Json): Json {
  const id = (r.identity ?? {}) as Json
  return {
    systemAssignedIdentity: (id.principalId as string | undefined) ?? '',
    userAssignedIdentities: (id.userAssignedIdentities as Json | undefined) ?? {},
  }
}

const vmListTable = (d: unknown) =>
  (Array.isArray(d) ? d : [d]).map((v: Json) => ({
    Name: v.name,
    ResourceGroup: v.resourceGroup,
    Location: v.location,
    Zones: Array.isArray(v.zones) ? v.zones.join(',') : '',
  }))
const vmShowTable = (d: unknown) =>
  (Array.isArray(d) ? d : [d]).map((v: Json) => ({
    Name: v.name,
    ResourceGroup: v.resourceGroup,
    Location: v.location,
    ProvisioningState: v.provisioningState,
  }))

export async function host(c: NounCtx, noun: 'vm' | 'vmss' | 'host', sub: string | undefined): Promise<number> {
  const s = await c.session()
  const kind = hostKind(
    noun === 'host' ? (flag(c.p, 'type') ?? need(c.p, 'type', 'azid host … --type vm|vmss|webapp|aci|arc')) : noun,
  )
  const cmd = `azid ${noun}${noun === 'host' ? ' --type T' : ''}`
  const usage = `${cmd} create|list|show|delete|identity … -g RESOURCE_GROUP -n NAME`
  const nameFlag = noun === 'vmss' || noun === 'vm' ? 'name' : 'name'
  const hostId = (rg: string, name: string) => `${rgPath(s, rg)}/providers/${kind.type}/${name}`
  switch (sub) {
    case 'create': {
      const rg = need(c.p, 'resource-group', usage)
      const name = need(c.p, nameFlag, usage)
      const location = flag(c.p, 'location') ?? (await rgLocation(s, rg))
      const tags = tagsOf(c.p)
      const properties: Json = {}
      if (kind.type === 'Microsoft.Compute/virtualMachines') {
        properties.hardwareProfile = { vmSize: flag(c.p, 'size') ?? 'Standard_DS1_v2' }
        properties.osProfile = { computerName: name, adminUsername: flag(c.p, 'admin-username') ?? 'azureuser' }
      }
      if (kind.type === 'Microsoft.Compute/virtualMachineScaleSets')
        properties.upgradePolicy = { mode: flag(c.p, 'upgrade-policy-mode') ?? 'Manual' }
      const wants = present(c.p, 'assign-identity') ? identityRefs(s, rg, values(c.p, 'assign-identity')) : null
      const body: Json = { location, ...(tags ? { tags } : {}), properties }
      if (kind.type === 'Microsoft.Compute/virtualMachineScaleSets')
        body.sku = {
          name: flag(c.p, 'vm-sku') ?? 'Standard_DS1_v2',
          capacity: Number(flag(c.p, 'instance-count') ?? 2),
        }
      if (wants)
        body.identity = {
          type: identityType(wants.system, wants.user.length > 0),
          ...(wants.user.length > 0
            ? { userAssignedIdentities: Object.fromEntries(wants.user.map((u) => [u, {}])) }
            : {}),
        }
      c.progress(`Creating ${kind.noun} '${name}'`)
      const r = await s.arm<Json>('PUT', hostId(rg, name), kind.api, body)
      if (wants?.system && flag(c.p, 'role') && flag(c.p, 'scope'))
        await grant(
          s,
          String((r.identity as Json).principalId),
          flag(c.p, 'role') as string,
          flag(c.p, 'scope') as string,
        )
      if (noun === 'vm') {
        // az vm create prints a summary, not the VM.
        c.emit({
          id: r.id,
          identity: r.identity ? identitySummary(r) : undefined,
          location: r.location,
          powerState: 'VM running',
          resourceGroup: rg,
          zones: '',
        })
      } else c.emit(flatten(r))
      return 0
    }
    case 'list': {
      const rg = flag(c.p, 'resource-group')
      const list = await s.armList(
        rg ? `${rgPath(s, rg)}/providers/${kind.type}` : `/subscriptions/${s.subscription}/providers/${kind.type}`,
        kind.api,
      )
      c.emit(list.map(flatten), noun === 'vm' ? vmListTable : undefined)
      return 0
    }
    case 'show': {
      const [id] = idsOrName(c, s, kind.type, `${cmd} show -g RESOURCE_GROUP -n NAME | --ids ID`)
      c.emit(flatten(await s.arm<Json>('GET', id as string, kind.api)), noun === 'vm' ? vmShowTable : undefined)
      return 0
    }
    case 'delete': {
      for (const id of idsOrName(c, s, kind.type, `${cmd} delete -g RESOURCE_GROUP -n NAME [--yes]`)) {
        c.progress(`Deleting ${id}`)
        await s.arm('DELETE', id, kind.api)
      }
      return 0
    }
    case 'update': {
      // az: GET, apply --set/--remove to the model, PUT the whole model back (ARM-010, VM-014).
      const [id] = idsOrName(
        c,
        s,
        kind.type,
        `${cmd} update -g RESOURCE_GROUP -n NAME --set PATH=VALUE ... [--remove PATH ...]`,
      )
      const sets = values(c.p, 'set')
      const removes = values(c.p, 'remove')
      if (sets.length === 0 && removes.length === 0)
        throw new UsageError(
          `give --set PATH=VALUE or --remove PATH (usage: ${cmd} update -g RG -n NAME --set tags.env=dev)`,
        )
      const model = await s.arm<Json>('GET', id as string, kind.api)
      for (const kv of sets) {
        const i = kv.indexOf('=')
        if (i < 1) throw new UsageError(`argument --set: expected PATH=VALUE, got '${kv}'`)
        setPath(model, kv.slice(0, i), parseValue(kv.slice(i + 1)))
      }
      for (const path of removes) setPath(model, path, undefined)
      c.emit(flatten(await s.arm<Json>('PUT', id as string, kind.api, model)))
      return 0
    }
    case 'identity':
      return hostIdentity(c, s, kind, cmd)
    default:
      throw new UsageError(`usage: ${usage}`)
  }
}

async function hostIdentity(c: NounCtx, s: Session, kind: { type: string; api: string }, cmd: string): Promise<number> {
  const [op] = c.p.positionals
  const usage = `${cmd} identity assign|remove|show -g RESOURCE_GROUP -n NAME [--identities [system] ID...]`
  const rg = need(c.p, 'resource-group', usage)
  const name = need(c.p, 'name', usage)
  const id = `${rgPath(s, rg)}/providers/${kind.type}/${name}`
  const current = await s.arm<Json>('GET', id, kind.api)
  const ident = (current.identity ?? {}) as { principalId?: string; userAssignedIdentities?: Json; type?: string }
  const curUser = Object.keys(ident.userAssignedIdentities ?? {})
  const curSystem = Boolean(ident.principalId)
  switch (op) {
    case 'show':
      c.emit(current.identity ?? undefined)
      return 0
    case 'assign': {
      const wants = identityRefs(s, rg, values(c.p, 'identities'))
      const system = curSystem || wants.system
      const hasUser = curUser.length > 0 || wants.user.length > 0
      const r = await s.arm<Json>('PATCH', id, kind.api, {
        identity: {
          type: identityType(system, hasUser),
          ...(wants.user.length > 0
            ? { userAssignedIdentities: Object.fromEntries(wants.user.map((u) => [u, {}])) }
            : {}),
        },
      })
      if (wants.system && flag(c.p, 'role'))
        await grant(
          s,
          String((r.identity as Json).principalId),
          flag(c.p, 'role') as string,
          flag(c.p, 'scope') ?? rgPath(s, rg),
        )
      c.emit(identitySummary(r))
      return 0
    }
    case 'remove': {
      const wants = identityRefs(s, rg, values(c.p, 'identities'))
      const removeUser = wants.user.map((u) => {
        const hit = curUser.find((x) => x.toLowerCase() === u.toLowerCase())
        if (!hit) throw new CliError(`'${u}' is not assigned to ${name}; assigned: ${curUser.join(', ') || '(none)'}`)
        return hit
      })
      const system = curSystem && !wants.system
      const leftUser = curUser.length - removeUser.length
      const r = await s.arm<Json>('PATCH', id, kind.api, {
        identity: {
          type: identityType(system, leftUser > 0),
          ...(removeUser.length > 0 && leftUser > 0
            ? { userAssignedIdentities: Object.fromEntries(removeUser.map((u) => [u, null])) }
            : {}),
        },
      })
      c.emit(r.identity ?? undefined)
      return 0
    }
    default:
      throw new UsageError(`usage: ${usage}`)
  }
}

// -- role -------------------------------------------------------------------------------------------------------

const ROLE_NAME_FILTER = (n: string) => `roleName eq '${n.replace(/'/g, "''")}'`

/** The role definition GUID az resolves `--role` to (a name, a GUID or a role definition id). */
async function roleId(s: Session, role: string, scope: string): Promise<{ id: string; name: string }> {
  const guid = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i.exec(role)?.[1]
  if (guid) {
    const d = await s.arm<Json>('GET', `${scope}/providers/Microsoft.Authorization/roleDefinitions/${guid}`, V.auth)
    return { id: String(d.id), name: String((d.properties as Json).roleName) }
  }
  const list = await s.armList(
    `${scope}/providers/Microsoft.Authorization/roleDefinitions?$filter=${encodeURIComponent(ROLE_NAME_FILTER(role))}`,
    V.auth,
  )
  const d = list[0]
  if (!d) throw new CliError(`Role '${role}' doesn't exist. Run 'azid role definition list' to see the roles.`)
  return { id: String(d.id), name: String((d.properties as Json).roleName) }
}

/** az's --assignee: an object id, an app id, a service principal name or a UPN, resolved with Graph. */
async function resolveAssignee(s: Session, assignee: string): Promise<{ id: string; type: string }> {
  if (assignee.includes('@') && !assignee.includes('/')) {
    const u = await s.graph<Json>('GET', `/v1.0/users/${encodeURIComponent(assignee)}`).catch(() => undefined)
    if (u) return { id: String(u.id), type: 'User' }
  }
  if (isGuid(assignee)) {
    const r = await s.graph<{ value: Json[] }>('POST', '/v1.0/directoryObjects/getByIds', { ids: [assignee] })
    const o = r.value[0]
    if (o) return { id: String(o.id), type: String(o['@odata.type']).endsWith('user') ? 'User' : 'ServicePrincipal' }
  }
  const f = `servicePrincipalNames/any(c:c eq '${assignee.replace(/'/g, "''")}')`
  const sps = await s.graph<{ value: Json[] }>('GET', `/v1.0/servicePrincipals?$filter=${encodeURIComponent(f)}`)
  const sp = sps.value[0]
  if (sp) return { id: String(sp.id), type: 'ServicePrincipal' }
  throw new CliError(
    `Cannot find user or service principal in graph database for '${assignee}'. If the assignee is an appId, make sure the corresponding service principal is created.`,
  )
}

async function grant(s: Session, principalId: string, role: string, scope: string): Promise<Json> {
  const rd = await roleId(s, role, scope)
  const id = globalThis.crypto.randomUUID()
  return s.arm<Json>('PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${id}`, V.auth, {
    properties: { roleDefinitionId: rd.id, principalId, principalType: 'ServicePrincipal' },
  })
}

function scopeOf(c: NounCtx, s: Session): string {
  const scope = flag(c.p, 'scope')
  const rg = flag(c.p, 'resource-group')
  if (scope && rg) throw new UsageError('give either --scope or --resource-group/-g, not both')
  if (scope) return scope.trim().replace(/\/+$/, '') || '/'
  if (rg) return rgPath(s, rg)
  return `/subscriptions/${s.subscription}`
}

const assignmentTable = (d: unknown) =>
  (Array.isArray(d) ? d : [d]).map((a: Json) => ({
    Principal: a.principalName ?? a.principalId,
    Role: a.roleDefinitionName ?? a.roleDefinitionId,
    Scope: a.scope,
  }))
const definitionTable = (d: unknown) =>
  (Array.isArray(d) ? d : [d]).map((r: Json) => ({
    Name: r.roleName,
    Type: r.roleType ?? r.type,
    Description: r.description,
  }))

/** az adds principalName and roleDefinitionName to listed assignments. */
async function decorate(s: Session, list: Json[]): Promise<Json[]> {
  const ids = [...new Set(list.map((a) => String(a.principalId)))]
  const names = new Map<string, string>()
  for (let i = 0; i < ids.length; i += 1000) {
    const r = await s.graph<{ value: Json[] }>('POST', '/v1.0/directoryObjects/getByIds', {
      ids: ids.slice(i, i + 1000),
    })
    for (const o of r.value)
      names.set(
        String(o.id),
        String(o.userPrincipalName ?? (o.servicePrincipalNames as string[] | undefined)?.[0] ?? o.displayName ?? ''),
      )
  }
  const roles = new Map<string, string>()
  for (const d of await s.armList(
    `/subscriptions/${s.subscription}/providers/Microsoft.Authorization/roleDefinitions`,
    V.auth,
  ))
    roles.set(String(d.name).toLowerCase(), String((d.properties as Json).roleName))
  return list.map((a) => ({
    ...a,
    principalName: names.get(String(a.principalId)) ?? '',
    roleDefinitionName: roles.get(String(a.roleDefinitionId).split('/').at(-1)?.toLowerCase() ?? '') ?? '',
  }))
}

export async function role(c: NounCtx, what: string | undefined, op: string | undefined): Promise<number> {
  const s = await c.session()
  if (what === 'definition') {
    if (op !== 'list')
      throw new UsageError('usage: azid role definition list [--name NAME] [--custom-role-only] [--scope S]')
    const scope = flag(c.p, 'scope') ?? `/subscriptions/${s.subscription}`
    const name = flag(c.p, 'name')
    const filter = name ? (isGuid(name) ? undefined : ROLE_NAME_FILTER(name)) : undefined
    let list = (
      await s.armList(
        `${scope}/providers/Microsoft.Authorization/roleDefinitions${filter ? `?$filter=${encodeURIComponent(filter)}` : ''}`,
        V.auth,
      )
    ).map((d): Json => {
      const f = flatten(d)
      // az shows the role's type (BuiltInRole/CustomRole) as roleType next to the resource type.
      return { ...f, roleType: (d.properties as Json).type, type: d.type }
    })
    if (name && isGuid(name)) list = list.filter((d) => String(d.name).toLowerCase() === name.toLowerCase())
    if (has(c.p, 'custom-role-only')) list = list.filter((d) => d.roleType === 'CustomRole')
    c.emit(list, definitionTable)
    return 0
  }
  if (what !== 'assignment')
    throw new UsageError('usage: azid role assignment create|list|delete … | azid role definition list')
  switch (op) {
    case 'create': {
      const usage = 'azid role assignment create --assignee ID|UPN --role ROLE (--scope SCOPE | -g RG)'
      const role = need(c.p, 'role', usage)
      const scope = scopeOf(c, s)
      const objectId = flag(c.p, 'assignee-object-id')
      const principal = objectId
        ? { id: objectId, type: flag(c.p, 'assignee-principal-type') ?? 'ServicePrincipal' }
        : await resolveAssignee(s, need(c.p, 'assignee', usage))
      const rd = await roleId(s, role, scope)
      const id = globalThis.crypto.randomUUID()
      const r = await s.arm<Json>(
        'PUT',
        `${scope === '/' ? '' : scope}/providers/Microsoft.Authorization/roleAssignments/${id}`,
        V.auth,
        {
          properties: {
            roleDefinitionId: rd.id,
            principalId: principal.id,
            principalType: principal.type,
            ...(flag(c.p, 'description') ? { description: flag(c.p, 'description') } : {}),
          },
        },
      )
      c.emit(flatten(r))
      return 0
    }
    case 'list':
    case 'delete': {
      const explicitScope = present(c.p, 'scope') || present(c.p, 'resource-group')
      const scope = scopeOf(c, s)
      const assignee = flag(c.p, 'assignee')
      const principal = assignee ? await resolveAssignee(s, assignee) : undefined
      const filter = principal ? `?$filter=${encodeURIComponent(`assignedTo('${principal.id}')`)}` : ''
      const ids = values(c.p, 'ids')
      let list: Json[]
      if (op === 'delete' && ids.length > 0)
        list = ids.map((id) => ({ id, scope: id.split('/providers/Microsoft.Authorization/')[0] }))
      else {
        list = (
          await s.armList(
            `${scope === '/' ? '' : scope}/providers/Microsoft.Authorization/roleAssignments${filter}`,
            V.auth,
          )
        ).map(flatten)
        const all = has(c.p, 'all')
        const inherited = has(c.p, 'include-inherited')
        const key = (x: string) => x.toLowerCase().replace(/\/+$/, '')
        // az: with a scope, the assignments at it (and above it with --include-inherited; --all adds those below);
        // with --assignee alone, all of that principal's assignments; --all alone, everything in the subscription.
        if (explicitScope || (!all && !principal))
          list = list.filter((a) => {
            const as = key(String(a.scope))
            const sc = key(scope)
            if (as === sc) return true
            if (inherited && (sc.startsWith(`${as}/`) || as === '')) return true
            return all && as.startsWith(`${sc}/`)
          })
        const roleFlag = flag(c.p, 'role')
        if (roleFlag) {
          const rd = await roleId(s, roleFlag, scope)
          const guid = rd.id.split('/').at(-1)?.toLowerCase()
          list = list.filter((a) => String(a.roleDefinitionId).split('/').at(-1)?.toLowerCase() === guid)
        }
      }
      if (op === 'list') {
        c.emit(await decorate(s, list), assignmentTable)
        return 0
      }
      if (list.length === 0 && ids.length === 0) {
        if (!assignee && !flag(c.p, 'role') && !explicitScope)
          throw new UsageError('give --ids, or --assignee/--role/--scope to say which assignments to delete')
        throw new CliError('No matched assignments were found to delete')
      }
      for (const a of list) await s.arm('DELETE', String(a.id), V.auth)
      return 0
    }
    default:
      throw new UsageError('usage: azid role assignment create|list|delete')
  }
}

// -- token get --------------------------------------------------------------------------------------------------

interface HostEndpointWire {
  host: { id: string; name: string; type: string }
  flavour: string
  env: Record<string, string>
}

/** Asks a host's managed-identity endpoint for a token, as a process on that host would. */
export async function tokenGet(c: NounCtx): Promise<number> {
  const usage =
    'azid token get --host HOST --resource RESOURCE [--client-id ID | --object-id ID | --mi-res-id ID] [--flavour F]'
  const hostRef = need(c.p, 'host', usage)
  const resource = flag(c.p, 'resource') ?? flag(c.p, 'scope') ?? need(c.p, 'resource', usage)
  const t = c.target()
  const e = await adminRequest<HostEndpointWire>(t, 'POST', '/_azid/hosts/endpoint', {
    host: hostRef,
    mode: 'loopback',
    ...(flag(c.p, 'flavour') ? { flavour: flag(c.p, 'flavour') } : {}),
  })
  const sel: Record<string, string> = {}
  if (flag(c.p, 'client-id')) sel.client_id = flag(c.p, 'client-id') as string
  if (flag(c.p, 'object-id')) sel.object_id = flag(c.p, 'object-id') as string
  if (flag(c.p, 'mi-res-id')) sel.mi_res_id = flag(c.p, 'mi-res-id') as string
  let url: string
  const headers: Record<string, string> = {}
  if (e.env.AZURE_POD_IDENTITY_AUTHORITY_HOST) {
    url = `${e.env.AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token?${new URLSearchParams({ 'api-version': '2018-02-01', resource, ...sel })}`
    headers.Metadata = 'true'
  } else if (e.env.IDENTITY_ENDPOINT && e.env.IDENTITY_HEADER && e.flavour === 'app-service') {
    url = `${e.env.IDENTITY_ENDPOINT}?${new URLSearchParams({ 'api-version': '2019-08-01', resource, ...sel })}`
    headers['X-IDENTITY-HEADER'] = e.env.IDENTITY_HEADER
  } else if (e.env.MSI_ENDPOINT && e.env.MSI_SECRET) {
    url = `${e.env.MSI_ENDPOINT}?${new URLSearchParams({ 'api-version': '2017-09-01', resource, ...(sel.client_id ? { clientid: sel.client_id } : {}) })}`
    headers.secret = e.env.MSI_SECRET
  } else
    throw new CliError(
      `'azid token get' speaks IMDS and App Service; ${e.host.name} uses the ${e.flavour} endpoint: run a real client with 'azid run --host ${hostRef}'`,
    )
  const r = await httpsRequest({ base: url, ca: '' }, 'GET', url, { headers })
  let body: Json
  try {
    body = JSON.parse(r.text) as Json
  } catch {
    throw new CliError(`the managed-identity endpoint of ${e.host.name} answered ${r.status}: ${r.text.slice(0, 200)}`)
  }
  if (r.status >= 400)
    throw new CliError(
      `the managed-identity endpoint of ${e.host.name} answered ${r.status}: ${String(body.error_description ?? body.message ?? body.error ?? r.text)}`,
    )
  c.emit(body)
  return 0
}
