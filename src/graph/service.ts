import type {
  Application,
  DirectoryService,
  DirectoryStore,
  PasswordCredential,
  ServicePrincipal,
  User,
} from '../directory/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { type Ids, isGuid } from '../kernel/ids.ts'
import {
  type ApplicationChanges,
  type PasswordRequest,
  type ServicePrincipalChanges,
  applyApplicationChanges,
} from './bodies.ts'
import { GraphError } from './errors.ts'
import { ODATA_TYPE, wireApplication, wireServicePrincipal, wireUser, withType } from './wire.ts'

type Wire = Record<string, unknown>
type Pred = (o: Readonly<Wire>) => boolean

export interface ListQuery {
  filter: Pred | null
  /** Object id after which this page starts. */
  after: string | null
  top: number
  count: boolean
}

export interface Page {
  value: Wire[]
  /** Object id of the last item when more follow. */
  nextAfter: string | null
  count?: number
}

export interface DirectoryObject {
  kind: 'servicePrincipal' | 'user' | 'application'
  /** With `@odata.type` first. */
  wire: Wire
}

/** What Graph reads and writes in the directory; every call is scoped to the caller's tenant. */
export interface GraphService {
  getServicePrincipal(tenantId: string, objectId: string): Promise<Wire>
  /** Resolves `servicePrincipals(appId='…')` to the object id. */
  servicePrincipalIdByAppId(tenantId: string, appId: string): Promise<string>
  listServicePrincipals(tenantId: string, q: ListQuery): Promise<Page>
  createServicePrincipal(tenantId: string, appId: string): Promise<Wire>
  updateServicePrincipal(tenantId: string, objectId: string, c: ServicePrincipalChanges): Promise<ServicePrincipal>
  deleteServicePrincipal(tenantId: string, objectId: string): Promise<ServicePrincipal>

  getApplication(tenantId: string, objectId: string): Promise<Wire>
  /** Resolves `applications(appId='…')` to the object id. */
  applicationIdByAppId(tenantId: string, appId: string): Promise<string>
  listApplications(tenantId: string, q: ListQuery): Promise<Page>
  createApplication(tenantId: string, c: ApplicationChanges): Promise<Wire>
  updateApplication(tenantId: string, objectId: string, c: ApplicationChanges): Promise<Application>
  deleteApplication(tenantId: string, objectId: string): Promise<Application>
  addPassword(
    tenantId: string,
    objectId: string,
    r: PasswordRequest,
  ): Promise<{ application: Application; credential: PasswordCredential; secretText: string }>
  removePassword(tenantId: string, objectId: string, keyId: string): Promise<Application>

  getUser(tenantId: string, idOrUpn: string): Promise<Wire>
  listUsers(tenantId: string, q: ListQuery): Promise<Page>

  getDirectoryObject(tenantId: string, id: string): Promise<DirectoryObject>
  getByIds(tenantId: string, ids: readonly string[], types: ReadonlySet<string> | null): Promise<Wire[]>
}

const SCAN_BATCH = 500

const notFound = (id: string) => new GraphError('ResourceNotFound', { id })

function requireGuid(id: string): string {
  if (!isGuid(id)) throw new GraphError('InvalidObjectIdentifier', { id })
  return id.toLowerCase()
}

/**
 * Pages over wire objects delivered in object-id order. `count` is the total number of matches in the collection
 * (`@odata.count`), so with `$count=true` the source must start at the beginning.
 */
async function page(source: AsyncIterable<{ id: string; wire: Wire }>, q: ListQuery): Promise<Page> {
  const value: Wire[] = []
  let count = 0
  let nextAfter: string | null = null
  let lastId: string | null = null
  for await (const item of source) {
    if (q.filter && !q.filter(item.wire)) continue
    count++
    if (q.after !== null && item.id <= q.after) continue
    if (value.length < q.top) {
      value.push(item.wire)
      lastId = item.id
    } else if (nextAfter === null) {
      nextAfter = lastId
      if (!q.count) break
    }
  }
  return q.count ? { value, nextAfter, count } : { value, nextAfter }
}

export function createGraphService(deps: { directory: DirectoryService; clock: Clock; ids: Ids }): GraphService {
  const { directory } = deps
  const store: DirectoryStore = directory.store

  async function tenantApplications(tenantId: string): Promise<Map<string, Application>> {
    return new Map((await store.listApplications(tenantId)).map((a) => [a.appId, a]))
  }

  async function backingApp(sp: ServicePrincipal): Promise<Application | null> {
    if (sp.type !== 'Application') return null
    const app = await store.getApplicationByAppId(sp.appId)
    return app && app.tenantId === sp.tenantId ? app : null
  }

  async function findServicePrincipal(tenantId: string, objectId: string): Promise<ServicePrincipal> {
    const sp = await store.getServicePrincipal(requireGuid(objectId))
    if (!sp || sp.tenantId !== tenantId) throw notFound(objectId)
    return sp
  }

  async function findApplication(tenantId: string, objectId: string): Promise<Application> {
    const app = await store.getApplication(requireGuid(objectId))
    if (!app || app.tenantId !== tenantId) throw notFound(objectId)
    return app
  }

  async function renderApplication(app: Application): Promise<Wire> {
    const [passwords, keys] = await Promise.all([
      store.listPasswordCredentials(app.appId),
      store.listKeyCredentials(app.appId),
    ])
    return wireApplication(app, { passwords, keys })
  }

  /** Identifier URIs are unique in a tenant: the token service finds resources by them. */
  async function checkIdentifierUris(tenantId: string, uris: readonly string[], self: string | null) {
    if (uris.length === 0) return
    const wanted = new Set(uris.map((u) => u.toLowerCase()))
    for (const other of await store.listApplications(tenantId)) {
      if (other.objectId === self) continue
      if (other.identifierUris.some((u) => wanted.has(u.toLowerCase())))
        throw new GraphError('IdentifierUriExists', {}, `taken by ${other.appId}`)
    }
  }

  function servicePrincipalFor(app: Application, now: number, objectId: string): ServicePrincipal {
    return {
      tenantId: app.tenantId,
      objectId,
      appId: app.appId,
      displayName: app.displayName,
      type: 'Application',
      appOwnerTenantId: app.tenantId,
      servicePrincipalNames: [app.appId, ...app.identifierUris],
      alternativeNames: [],
      managedIdentityResourceId: null,
      accountEnabled: true,
      createdAt: now,
    }
  }

  function refuseManagedIdentity(sp: ServicePrincipal) {
    // api-shapes §5.1: managed identities are managed through ARM only.
    if (sp.type === 'ManagedIdentity') throw new GraphError('ManagedIdentityReadOnly', {}, sp.objectId)
  }

  return {
    async getServicePrincipal(tenantId, objectId) {
      const sp = await findServicePrincipal(tenantId, objectId)
      return wireServicePrincipal(sp, await backingApp(sp))
    },

    async servicePrincipalIdByAppId(tenantId, appId) {
      const sp = await store.getServicePrincipalByAppId(tenantId, appId.toLowerCase())
      if (!sp) throw notFound(appId)
      return sp.objectId
    },

    async listServicePrincipals(tenantId, q) {
      const apps = await tenantApplications(tenantId)
      async function* scan() {
        let after = q.count ? undefined : (q.after ?? undefined)
        for (;;) {
          const batch = await store.listServicePrincipals({
            tenantId,
            limit: SCAN_BATCH,
            ...(after ? { after } : {}),
          })
          for (const sp of batch)
            yield {
              id: sp.objectId,
              wire: wireServicePrincipal(sp, sp.type === 'Application' ? (apps.get(sp.appId) ?? null) : null),
            }
          if (batch.length < SCAN_BATCH) return
          after = (batch[batch.length - 1] as ServicePrincipal).objectId
        }
      }
      return page(scan(), q)
    },

    async createServicePrincipal(tenantId, appId) {
      const app = await store.getApplicationByAppId(appId)
      if (!app || app.tenantId !== tenantId) throw new GraphError('NoBackingApplication', { appId })
      const existing = await store.getServicePrincipalByAppId(tenantId, app.appId)
      // Deviation (docs/deviations.md): apps registered in azid get their service principal at once, as the portal
      // does, so `az ad app create` + `az ad sp create` works; creating it again answers with the existing one.
      if (existing) return wireServicePrincipal(existing, app)
      const sp = servicePrincipalFor(app, deps.clock.now(), deps.ids.uuid())
      await store.putServicePrincipal(sp)
      return wireServicePrincipal(sp, app)
    },

    async updateServicePrincipal(tenantId, objectId, c) {
      const sp = await findServicePrincipal(tenantId, objectId)
      refuseManagedIdentity(sp)
      const next: ServicePrincipal = {
        ...sp,
        displayName: c.displayName ?? sp.displayName,
        accountEnabled: c.accountEnabled ?? sp.accountEnabled,
      }
      await store.putServicePrincipal(next)
      return next
    },

    async deleteServicePrincipal(tenantId, objectId) {
      const sp = await findServicePrincipal(tenantId, objectId)
      refuseManagedIdentity(sp)
      await store.deleteServicePrincipal(sp.objectId)
      return sp
    },

    async getApplication(tenantId, objectId) {
      return renderApplication(await findApplication(tenantId, objectId))
    },

    async applicationIdByAppId(tenantId, appId) {
      const app = await store.getApplicationByAppId(appId.toLowerCase())
      if (!app || app.tenantId !== tenantId) throw notFound(appId)
      return app.objectId
    },

    async listApplications(tenantId, q) {
      const apps = [...(await tenantApplications(tenantId)).values()].sort((a, b) => (a.objectId < b.objectId ? -1 : 1))
      async function* scan() {
        for (const a of apps) {
          if (!q.count && q.after !== null && a.objectId <= q.after) continue
          yield { id: a.objectId, wire: await renderApplication(a) }
        }
      }
      return page(scan(), q)
    },

    async createApplication(tenantId, c) {
      const blank: Application = {
        tenantId,
        objectId: '',
        appId: '',
        displayName: c.displayName ?? '',
        isPublicClient: false,
        accessTokenVersion: 1,
        identifierUris: [],
        redirectUris: [],
        appRoles: [],
        createdAt: 0,
      }
      const a = applyApplicationChanges(blank, c)
      await checkIdentifierUris(tenantId, a.identifierUris, null)
      // DirectoryService.createApplication writes the application and its service principal together.
      const { application } = await directory.createApplication({
        tenantId,
        displayName: a.displayName,
        isPublicClient: a.isPublicClient,
        accessTokenVersion: a.accessTokenVersion,
        identifierUris: a.identifierUris,
        redirectUris: a.redirectUris,
        appRoles: a.appRoles,
      })
      return renderApplication(application)
    },

    async updateApplication(tenantId, objectId, c) {
      const app = await findApplication(tenantId, objectId)
      const next = applyApplicationChanges(app, c)
      if (c.identifierUris) await checkIdentifierUris(tenantId, next.identifierUris, app.objectId)
      await store.transaction(async (tx) => {
        await tx.putApplication(next)
        const sp = await tx.getServicePrincipalByAppId(tenantId, app.appId)
        // The service principal's names follow the application's identifier URIs.
        if (sp && sp.type === 'Application')
          await tx.putServicePrincipal({ ...sp, servicePrincipalNames: [app.appId, ...next.identifierUris] })
      })
      return next
    },

    async deleteApplication(tenantId, objectId) {
      const app = await findApplication(tenantId, objectId)
      // Deleting an application deletes its service principal in the home tenant and its credentials. Graph would
      // keep it in deletedItems for 30 days; azid deletes it at once (docs/deviations.md).
      await store.transaction(async (tx) => {
        const sp = await tx.getServicePrincipalByAppId(tenantId, app.appId)
        if (sp && sp.type === 'Application') await tx.deleteServicePrincipal(sp.objectId)
        for (const c of await tx.listPasswordCredentials(app.appId)) await tx.deletePasswordCredential(c.keyId)
        for (const c of await tx.listKeyCredentials(app.appId)) await tx.deleteKeyCredential(c.keyId)
        for (const c of await tx.listFederatedCredentials(app.appId)) await tx.deleteFederatedCredential(c.id)
        await tx.deleteApplication(app.objectId)
      })
      return app
    },

    async addPassword(tenantId, objectId, r) {
      const app = await findApplication(tenantId, objectId)
      const { credential, secretText } = await directory.addPassword({
        appId: app.appId,
        ...(r.displayName !== undefined ? { displayName: r.displayName } : {}),
        ...(r.endAt !== undefined ? { endAt: r.endAt } : {}),
      })
      return { application: app, credential, secretText }
    },

    async removePassword(tenantId, objectId, keyId) {
      const app = await findApplication(tenantId, objectId)
      const cred = (await store.listPasswordCredentials(app.appId)).find((c) => c.keyId.toLowerCase() === keyId)
      if (!cred) throw new GraphError('PasswordCredentialNotFound', { keyId })
      await store.deletePasswordCredential(cred.keyId)
      return app
    },

    async getUser(tenantId, idOrUpn) {
      const user = isGuid(idOrUpn)
        ? await store.getUser(idOrUpn.toLowerCase())
        : await store.getUserByUpn(idOrUpn.toLowerCase())
      if (!user || user.tenantId !== tenantId) throw notFound(idOrUpn)
      return wireUser(user)
    },

    async listUsers(tenantId, q) {
      const users = (await store.listUsers(tenantId)).sort((a, b) => (a.objectId < b.objectId ? -1 : 1))
      async function* scan() {
        for (const u of users) yield { id: u.objectId, wire: wireUser(u) }
      }
      return page(scan(), q)
    },

    async getDirectoryObject(tenantId, id) {
      const found = await lookupObject(tenantId, requireGuid(id), null)
      if (!found) throw notFound(id)
      return found
    },

    async getByIds(tenantId, ids, types) {
      const out: Wire[] = []
      // Unknown ids are omitted without an error (graph-docs directoryobject-getbyids).
      for (const id of ids) {
        const found = await lookupObject(tenantId, id, types)
        if (found) out.push(found.wire)
      }
      return out
    },
  }

  async function lookupObject(
    tenantId: string,
    id: string,
    types: ReadonlySet<string> | null,
  ): Promise<DirectoryObject | undefined> {
    const want = (t: string) => types === null || types.has(t.toLowerCase()) || types.has('directoryobject')
    if (want('servicePrincipal')) {
      const sp = await store.getServicePrincipal(id)
      if (sp && sp.tenantId === tenantId)
        return {
          kind: 'servicePrincipal',
          wire: withType(ODATA_TYPE.servicePrincipal, wireServicePrincipal(sp, await backingApp(sp))),
        }
    }
    if (want('user')) {
      const u: User | undefined = await store.getUser(id)
      if (u && u.tenantId === tenantId) return { kind: 'user', wire: withType(ODATA_TYPE.user, wireUser(u)) }
    }
    if (want('application')) {
      const a = await store.getApplication(id)
      if (a && a.tenantId === tenantId)
        return { kind: 'application', wire: withType(ODATA_TYPE.application, await renderApplication(a)) }
    }
    return undefined
  }
}
