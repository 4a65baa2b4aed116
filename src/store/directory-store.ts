import type { Kysely, Selectable, Transaction } from 'kysely'
import type { DirectoryStore } from '../directory/ports.ts'
import type {
  AppRole,
  AppRoleAssignment,
  Application,
  FederatedCredential,
  KeyCredential,
  PasswordCredential,
  ServicePrincipal,
  ServicePrincipalType,
  Tenant,
  User,
} from '../directory/model.ts'
import type { Db } from './schema.ts'

const j = (v: unknown) => JSON.stringify(v)
const p = <T>(s: string): T => JSON.parse(s) as T
const b = (v: boolean) => (v ? 1 : 0)

const toTenant = (r: Selectable<Db['tenants']>): Tenant => ({
  id: r.id,
  domain: r.domain,
  displayName: r.display_name,
  isDefault: r.is_default === 1,
  createdAt: Number(r.created_at),
})

const toApp = (r: Selectable<Db['applications']>): Application => ({
  tenantId: r.tenant_id,
  objectId: r.object_id,
  appId: r.app_id,
  displayName: r.display_name,
  isPublicClient: r.is_public_client === 1,
  accessTokenVersion: r.access_token_version === 2 ? 2 : 1,
  identifierUris: p<string[]>(r.identifier_uris),
  redirectUris: p<string[]>(r.redirect_uris),
  appRoles: p<AppRole[]>(r.app_roles),
  createdAt: Number(r.created_at),
})

const toSp = (r: Selectable<Db['service_principals']>): ServicePrincipal => ({
  tenantId: r.tenant_id,
  objectId: r.object_id,
  appId: r.app_id,
  displayName: r.display_name,
  type: r.sp_type as ServicePrincipalType,
  appOwnerTenantId: r.app_owner_tenant_id,
  servicePrincipalNames: p<string[]>(r.service_principal_names),
  alternativeNames: p<string[]>(r.alternative_names),
  managedIdentityResourceId: r.mi_resource_id,
  accountEnabled: r.account_enabled === 1,
  createdAt: Number(r.created_at),
})

const toPwd = (r: Selectable<Db['password_credentials']>): PasswordCredential => ({
  keyId: r.key_id,
  tenantId: r.tenant_id,
  appId: r.app_id,
  displayName: r.display_name,
  hint: r.hint,
  salt: r.salt,
  hash: r.hash,
  startAt: Number(r.start_at),
  endAt: Number(r.end_at),
  createdAt: Number(r.created_at),
})

const toKey = (r: Selectable<Db['key_credentials']>): KeyCredential => ({
  keyId: r.key_id,
  tenantId: r.tenant_id,
  appId: r.app_id,
  displayName: r.display_name,
  sha1Hex: r.sha1_hex,
  sha256Hex: r.sha256_hex,
  certDer: r.cert_der,
  startAt: Number(r.start_at),
  endAt: Number(r.end_at),
  createdAt: Number(r.created_at),
})

const toFic = (r: Selectable<Db['federated_credentials']>): FederatedCredential => ({
  id: r.id,
  tenantId: r.tenant_id,
  appId: r.app_id,
  name: r.name,
  issuer: r.issuer,
  subject: r.subject,
  audiences: p<string[]>(r.audiences),
  description: r.description,
  resourceId: r.resource_id,
  createdAt: Number(r.created_at),
})

const toUser = (r: Selectable<Db['users']>): User => ({
  tenantId: r.tenant_id,
  objectId: r.object_id,
  userPrincipalName: r.user_principal_name,
  displayName: r.display_name,
  passwordHash: r.password_hash,
  createdAt: Number(r.created_at),
})

const toAra = (r: Selectable<Db['app_role_assignments']>): AppRoleAssignment => ({
  id: r.id,
  tenantId: r.tenant_id,
  principalId: r.principal_id,
  resourceAppId: r.resource_app_id,
  appRoleId: r.app_role_id,
  createdAt: Number(r.created_at),
})

/** DirectoryStore over Kysely; `db` may be a transaction. */
export function createDirectoryStore(db: Kysely<Db>, inTx = false): DirectoryStore {
  const self: DirectoryStore = {
    transaction(fn) {
      if (inTx) return fn(self)
      return db.transaction().execute((trx: Transaction<Db>) => fn(createDirectoryStore(trx, true)))
    },

    async getTenant(idOrDomain) {
      const key = idOrDomain.toLowerCase()
      const r = await db
        .selectFrom('tenants')
        .selectAll()
        .where((eb) => eb.or([eb('id', '=', key), eb('domain', '=', key)]))
        .executeTakeFirst()
      return r && toTenant(r)
    },
    async listTenants() {
      return (await db.selectFrom('tenants').selectAll().orderBy('created_at').execute()).map(toTenant)
    },
    async putTenant(t) {
      const row = {
        id: t.id.toLowerCase(),
        domain: t.domain.toLowerCase(),
        display_name: t.displayName,
        is_default: b(t.isDefault),
        created_at: t.createdAt,
      }
      await db
        .insertInto('tenants')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet({ domain: row.domain, display_name: row.display_name }))
        .execute()
    },

    async getApplicationByAppId(appId) {
      const r = await db
        .selectFrom('applications')
        .selectAll()
        .where('app_id', '=', appId.toLowerCase())
        .executeTakeFirst()
      return r && toApp(r)
    },
    async getApplication(objectId) {
      const r = await db
        .selectFrom('applications')
        .selectAll()
        .where('object_id', '=', objectId.toLowerCase())
        .executeTakeFirst()
      return r && toApp(r)
    },
    async listApplications(tenantId) {
      return (
        await db
          .selectFrom('applications')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .orderBy('created_at')
          .execute()
      ).map(toApp)
    },
    async putApplication(a) {
      const row = {
        tenant_id: a.tenantId,
        object_id: a.objectId.toLowerCase(),
        app_id: a.appId.toLowerCase(),
        display_name: a.displayName,
        is_public_client: b(a.isPublicClient),
        access_token_version: a.accessTokenVersion,
        identifier_uris: j(a.identifierUris),
        redirect_uris: j(a.redirectUris),
        app_roles: j(a.appRoles),
        created_at: a.createdAt,
      }
      const { object_id: _o, created_at: _c, ...update } = row
      await db
        .insertInto('applications')
        .values(row)
        .onConflict((oc) => oc.column('object_id').doUpdateSet(update))
        .execute()
    },
    async deleteApplication(objectId) {
      await db.deleteFrom('applications').where('object_id', '=', objectId.toLowerCase()).execute()
    },

    async getServicePrincipal(objectId) {
      const r = await db
        .selectFrom('service_principals')
        .selectAll()
        .where('object_id', '=', objectId.toLowerCase())
        .executeTakeFirst()
      return r && toSp(r)
    },
    async getServicePrincipalByAppId(tenantId, appId) {
      const r = await db
        .selectFrom('service_principals')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('app_id', '=', appId.toLowerCase())
        .executeTakeFirst()
      return r && toSp(r)
    },
    async listServicePrincipals(q) {
      let query = db.selectFrom('service_principals').selectAll().where('tenant_id', '=', q.tenantId)
      if (q.type) query = query.where('sp_type', '=', q.type)
      if (q.after) query = query.where('object_id', '>', q.after)
      query = query.orderBy('object_id')
      if (q.limit) query = query.limit(q.limit)
      return (await query.execute()).map(toSp)
    },
    async putServicePrincipal(sp) {
      const row = {
        tenant_id: sp.tenantId,
        object_id: sp.objectId.toLowerCase(),
        app_id: sp.appId.toLowerCase(),
        display_name: sp.displayName,
        sp_type: sp.type,
        app_owner_tenant_id: sp.appOwnerTenantId,
        service_principal_names: j(sp.servicePrincipalNames),
        alternative_names: j(sp.alternativeNames),
        mi_resource_id: sp.managedIdentityResourceId,
        account_enabled: b(sp.accountEnabled),
        created_at: sp.createdAt,
      }
      const { object_id: _o, created_at: _c, ...update } = row
      await db
        .insertInto('service_principals')
        .values(row)
        .onConflict((oc) => oc.column('object_id').doUpdateSet(update))
        .execute()
    },
    async deleteServicePrincipal(objectId) {
      await db.deleteFrom('service_principals').where('object_id', '=', objectId.toLowerCase()).execute()
    },

    async listPasswordCredentials(appId) {
      return (
        await db.selectFrom('password_credentials').selectAll().where('app_id', '=', appId.toLowerCase()).execute()
      ).map(toPwd)
    },
    async putPasswordCredential(c) {
      await db
        .insertInto('password_credentials')
        .values({
          key_id: c.keyId,
          tenant_id: c.tenantId,
          app_id: c.appId.toLowerCase(),
          display_name: c.displayName,
          hint: c.hint,
          salt: c.salt,
          hash: c.hash,
          start_at: c.startAt,
          end_at: c.endAt,
          created_at: c.createdAt,
        })
        .execute()
    },
    async deletePasswordCredential(keyId) {
      await db.deleteFrom('password_credentials').where('key_id', '=', keyId).execute()
    },

    async listKeyCredentials(appId) {
      return (
        await db.selectFrom('key_credentials').selectAll().where('app_id', '=', appId.toLowerCase()).execute()
      ).map(toKey)
    },
    async findKeyCredential(q) {
      let query = db.selectFrom('key_credentials').selectAll().where('app_id', '=', q.appId.toLowerCase())
      if (q.sha1Hex) query = query.where('sha1_hex', '=', q.sha1Hex.toUpperCase())
      else if (q.sha256Hex) query = query.where('sha256_hex', '=', q.sha256Hex.toUpperCase())
      else return undefined
      const r = await query.executeTakeFirst()
      return r && toKey(r)
    },
    async putKeyCredential(c) {
      await db
        .insertInto('key_credentials')
        .values({
          key_id: c.keyId,
          tenant_id: c.tenantId,
          app_id: c.appId.toLowerCase(),
          display_name: c.displayName,
          sha1_hex: c.sha1Hex.toUpperCase(),
          sha256_hex: c.sha256Hex.toUpperCase(),
          cert_der: c.certDer,
          start_at: c.startAt,
          end_at: c.endAt,
          created_at: c.createdAt,
        })
        .execute()
    },
    async deleteKeyCredential(keyId) {
      await db.deleteFrom('key_credentials').where('key_id', '=', keyId).execute()
    },

    async listFederatedCredentials(appId) {
      return (
        await db
          .selectFrom('federated_credentials')
          .selectAll()
          .where('app_id', '=', appId.toLowerCase())
          .orderBy('created_at')
          .execute()
      ).map(toFic)
    },
    async putFederatedCredential(c) {
      const row = {
        id: c.id,
        tenant_id: c.tenantId,
        app_id: c.appId.toLowerCase(),
        name: c.name,
        issuer: c.issuer,
        subject: c.subject,
        audiences: j(c.audiences),
        description: c.description,
        resource_id: c.resourceId,
        created_at: c.createdAt,
      }
      await db
        .insertInto('federated_credentials')
        .values(row)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            issuer: row.issuer,
            subject: row.subject,
            audiences: row.audiences,
            description: row.description,
          }),
        )
        .execute()
    },
    async deleteFederatedCredential(id) {
      await db.deleteFrom('federated_credentials').where('id', '=', id).execute()
    },

    async getUser(objectId) {
      const r = await db
        .selectFrom('users')
        .selectAll()
        .where('object_id', '=', objectId.toLowerCase())
        .executeTakeFirst()
      return r && toUser(r)
    },
    async getUserByUpn(upn) {
      const r = await db
        .selectFrom('users')
        .selectAll()
        .where('user_principal_name', '=', upn.toLowerCase())
        .executeTakeFirst()
      return r && toUser(r)
    },
    async listUsers(tenantId) {
      return (
        await db
          .selectFrom('users')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .orderBy('user_principal_name')
          .execute()
      ).map(toUser)
    },
    async putUser(u) {
      const row = {
        tenant_id: u.tenantId,
        object_id: u.objectId.toLowerCase(),
        user_principal_name: u.userPrincipalName.toLowerCase(),
        display_name: u.displayName,
        password_hash: u.passwordHash,
        created_at: u.createdAt,
      }
      await db
        .insertInto('users')
        .values(row)
        .onConflict((oc) =>
          oc.column('object_id').doUpdateSet({
            user_principal_name: row.user_principal_name,
            display_name: row.display_name,
            password_hash: row.password_hash,
          }),
        )
        .execute()
    },
    async deleteUser(objectId) {
      await db.deleteFrom('users').where('object_id', '=', objectId.toLowerCase()).execute()
    },

    async listAppRoleAssignments(q) {
      let query = db
        .selectFrom('app_role_assignments')
        .selectAll()
        .where('principal_id', '=', q.principalId.toLowerCase())
      if (q.resourceAppId) query = query.where('resource_app_id', '=', q.resourceAppId.toLowerCase())
      return (await query.execute()).map(toAra)
    },
    async putAppRoleAssignment(a) {
      await db
        .insertInto('app_role_assignments')
        .values({
          id: a.id,
          tenant_id: a.tenantId,
          principal_id: a.principalId.toLowerCase(),
          resource_app_id: a.resourceAppId.toLowerCase(),
          app_role_id: a.appRoleId,
          created_at: a.createdAt,
        })
        .onConflict((oc) => oc.columns(['principal_id', 'resource_app_id', 'app_role_id']).doNothing())
        .execute()
    },
    async deleteAppRoleAssignment(id) {
      await db.deleteFrom('app_role_assignments').where('id', '=', id).execute()
    },

    async getMeta(key) {
      const r = await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst()
      return r?.value
    },
    async putMetaIfAbsent(key, value) {
      await db
        .insertInto('meta')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute()
      const r = await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirstOrThrow()
      return r.value
    },
  }
  return self
}
