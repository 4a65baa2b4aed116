import { type Kysely, type Selectable, type Transaction, sql } from 'kysely'
import type { Resource, ResourceGroup, Subscription } from '../arm/model.ts'
import type { ArmStore } from '../arm/ports.ts'
import { idKey } from '../kernel/resource-id.ts'
import type { RoleAssignment, RoleDefinition } from '../rbac/model.ts'
import type { DialectName } from './db.ts'
import { createDirectoryStore } from './directory-store.ts'
import type { Db } from './schema.ts'

const rgKey = (sub: string, rg: string) => `${sub.toLowerCase()}/${rg.toLowerCase()}`

const toResource = (r: Selectable<Db['resources']>): Resource => ({
  id: r.id,
  subscriptionId: r.subscription_id,
  resourceGroup:
    r.rg_key === null ? null : ((JSON.parse(r.extra).__rg as string | undefined) ?? r.rg_key.split('/')[1] ?? null),
  type: r.type,
  name: r.name,
  parentId: r.parent_key === null ? null : ((JSON.parse(r.extra).__parent as string | undefined) ?? r.parent_key),
  location: r.location,
  tags: JSON.parse(r.tags),
  properties: JSON.parse(r.properties),
  identity: r.identity === null ? null : JSON.parse(r.identity),
  extra: Object.fromEntries(
    Object.entries(JSON.parse(r.extra) as Record<string, unknown>).filter(([k]) => !k.startsWith('__')),
  ),
  etag: r.etag,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  createdBy: r.created_by,
})

const toAssignment = (r: Selectable<Db['role_assignments']>): RoleAssignment => ({
  id: r.id,
  scope: r.scope,
  roleDefinitionId: r.role_definition_id,
  principalId: r.principal_id,
  principalType: r.principal_type as RoleAssignment['principalType'],
  description: r.description,
  condition: r.condition,
  conditionVersion: r.condition_version,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  createdBy: r.created_by,
  updatedBy: r.updated_by,
})

export function createArmStore(db: Kysely<Db>, dialect: DialectName, inTx = false): ArmStore {
  const self: ArmStore = {
    directory: createDirectoryStore(db, inTx),
    transaction(fn) {
      if (inTx) return fn(self)
      return db.transaction().execute((trx: Transaction<Db>) => fn(createArmStore(trx, dialect, true)))
    },

    async getSubscription(id) {
      const r = await db.selectFrom('subscriptions').selectAll().where('id', '=', id.toLowerCase()).executeTakeFirst()
      return (
        r && {
          id: r.id,
          tenantId: r.tenant_id,
          displayName: r.display_name,
          state: r.state as Subscription['state'],
          createdAt: Number(r.created_at),
        }
      )
    },
    async listSubscriptions() {
      const rows = await db.selectFrom('subscriptions').selectAll().orderBy('created_at').execute()
      return rows.map((r) => ({
        id: r.id,
        tenantId: r.tenant_id,
        displayName: r.display_name,
        state: r.state as Subscription['state'],
        createdAt: Number(r.created_at),
      }))
    },
    async putSubscription(s) {
      const row = {
        id: s.id.toLowerCase(),
        tenant_id: s.tenantId,
        display_name: s.displayName,
        state: s.state,
        created_at: s.createdAt,
      }
      await db
        .insertInto('subscriptions')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet({ display_name: row.display_name, state: row.state }))
        .execute()
    },

    async getResourceGroup(sub, name) {
      const r = await db
        .selectFrom('resource_groups')
        .selectAll()
        .where('id_key', '=', rgKey(sub, name))
        .executeTakeFirst()
      return r && toGroup(r)
    },
    async listResourceGroups(sub) {
      const rows = await db
        .selectFrom('resource_groups')
        .selectAll()
        .where('subscription_id', '=', sub.toLowerCase())
        .orderBy('id_key')
        .execute()
      return rows.map(toGroup)
    },
    async putResourceGroup(g) {
      const row = {
        id_key: rgKey(g.subscriptionId, g.name),
        subscription_id: g.subscriptionId.toLowerCase(),
        name: g.name,
        location: g.location,
        tags: JSON.stringify(g.tags),
        managed_by: g.managedBy,
        state: 'Succeeded',
        created_at: g.createdAt,
        updated_at: g.updatedAt,
      }
      await db
        .insertInto('resource_groups')
        .values(row)
        .onConflict((oc) =>
          oc.column('id_key').doUpdateSet({ tags: row.tags, managed_by: row.managed_by, updated_at: row.updated_at }),
        )
        .execute()
    },
    async deleteResourceGroup(sub, name) {
      await db.deleteFrom('resource_groups').where('id_key', '=', rgKey(sub, name)).execute()
    },

    async getResource(id, opts) {
      let q = db.selectFrom('resources').selectAll().where('id_key', '=', idKey(id))
      if (opts?.forUpdate && dialect === 'postgres') q = q.forUpdate()
      const r = await q.executeTakeFirst()
      return r && toResource(r)
    },
    async listResources(q) {
      let query = db.selectFrom('resources').selectAll()
      if (q.subscriptionId) query = query.where('subscription_id', '=', q.subscriptionId.toLowerCase())
      if (q.resourceGroup && q.subscriptionId)
        query = query.where('rg_key', '=', rgKey(q.subscriptionId, q.resourceGroup))
      if (q.type) query = query.where('type_key', '=', q.type.toLowerCase())
      if (q.parentId) query = query.where('parent_key', '=', idKey(q.parentId))
      else if (q.type) query = query.where('parent_key', 'is', null)
      if (q.after) query = query.where('id_key', '>', q.after)
      query = query.orderBy('id_key')
      if (q.limit) query = query.limit(q.limit)
      const rows = await query.execute()
      const out = rows.map(toResource)
      return q.name ? out.filter((r) => r.name.toLowerCase() === q.name?.toLowerCase()) : out
    },
    async putResource(r, opts) {
      const key = idKey(r.id)
      const extra = {
        ...r.extra,
        ...(r.resourceGroup ? { __rg: r.resourceGroup } : {}),
        ...(r.parentId ? { __parent: r.parentId } : {}),
      }
      const row = {
        id_key: key,
        id: r.id,
        subscription_id: r.subscriptionId.toLowerCase(),
        rg_key: r.resourceGroup ? rgKey(r.subscriptionId, r.resourceGroup) : null,
        type: r.type,
        type_key: r.type.toLowerCase(),
        name: r.name,
        parent_key: r.parentId ? idKey(r.parentId) : null,
        location: r.location,
        tags: JSON.stringify(r.tags),
        properties: JSON.stringify(r.properties),
        identity: r.identity === null ? null : JSON.stringify(r.identity),
        extra: JSON.stringify(extra),
        etag: r.etag,
        created_at: r.createdAt,
        updated_at: r.updatedAt,
        created_by: r.createdBy,
      }
      if (opts?.expectEtag !== undefined) {
        if (opts.expectEtag === null) {
          const res = await db
            .insertInto('resources')
            .values(row)
            .onConflict((oc) => oc.column('id_key').doNothing())
            .executeTakeFirst()
          return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1 ? 'ok' : 'conflict'
        }
        const { id_key: _k, created_at: _c, ...update } = row
        const res = await db
          .updateTable('resources')
          .set(update)
          .where('id_key', '=', key)
          .where('etag', '=', opts.expectEtag)
          .executeTakeFirst()
        return Number(res.numUpdatedRows) === 1 ? 'ok' : 'conflict'
      }
      const { id_key: _k, created_at: _c, ...update } = row
      await db
        .insertInto('resources')
        .values(row)
        .onConflict((oc) => oc.column('id_key').doUpdateSet(update))
        .execute()
      return 'ok'
    },
    async deleteResource(id) {
      const r = await db.deleteFrom('resources').where('id_key', '=', idKey(id)).executeTakeFirst()
      return Number(r.numDeletedRows) > 0
    },

    async listRoleDefinitions() {
      const rows = await db.selectFrom('role_definitions').selectAll().orderBy('role_name').execute()
      return rows.map(
        (r): RoleDefinition => ({
          id: r.id,
          roleName: r.role_name,
          description: r.description,
          type: 'CustomRole',
          assignableScopes: JSON.parse(r.assignable_scopes),
          permissions: JSON.parse(r.permissions),
          scope: r.scope,
          createdAt: Number(r.created_at),
          updatedAt: Number(r.updated_at),
        }),
      )
    },
    async putRoleDefinition(d) {
      const row = {
        id: d.id.toLowerCase(),
        scope: d.scope,
        role_name: d.roleName,
        description: d.description,
        assignable_scopes: JSON.stringify(d.assignableScopes),
        permissions: JSON.stringify(d.permissions),
        created_at: d.createdAt,
        updated_at: d.updatedAt,
        created_by: null,
      }
      const { id: _i, created_at: _c, ...update } = row
      await db
        .insertInto('role_definitions')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet(update))
        .execute()
    },
    async deleteRoleDefinition(id) {
      const r = await db.deleteFrom('role_definitions').where('id', '=', id.toLowerCase()).executeTakeFirst()
      return Number(r.numDeletedRows) > 0
    },

    async listRoleAssignments(q = {}) {
      let query = db.selectFrom('role_assignments').selectAll()
      if (q.principalId) query = query.where('principal_id', '=', q.principalId.toLowerCase())
      if (q.withinScope && idKey(q.withinScope) !== '/') {
        const k = idKey(q.withinScope)
        const prefix = `${k}/`
        query = query.where((eb) =>
          eb.or([eb('scope_key', '=', k), eb(sql<string>`substr(scope_key, 1, ${prefix.length})`, '=', prefix)]),
        )
      }
      if (q.scopesIn) {
        if (q.scopesIn.length === 0) return []
        query = query.where('scope_key', 'in', [...q.scopesIn])
      }
      const rows = await query.orderBy('created_at').execute()
      return rows.map(toAssignment)
    },
    async getRoleAssignment(id) {
      const r = await db
        .selectFrom('role_assignments')
        .selectAll()
        .where('id', '=', id.toLowerCase())
        .executeTakeFirst()
      return r && toAssignment(r)
    },
    async putRoleAssignment(a) {
      const row = {
        id: a.id.toLowerCase(),
        scope: a.scope,
        scope_key: idKey(a.scope),
        role_definition_id: a.roleDefinitionId.toLowerCase(),
        principal_id: a.principalId.toLowerCase(),
        principal_type: a.principalType,
        description: a.description,
        condition: a.condition,
        condition_version: a.conditionVersion,
        created_at: a.createdAt,
        updated_at: a.updatedAt,
        created_by: a.createdBy,
        updated_by: a.updatedBy,
      }
      const dup = await db
        .selectFrom('role_assignments')
        .select('id')
        .where('scope_key', '=', row.scope_key)
        .where('role_definition_id', '=', row.role_definition_id)
        .where('principal_id', '=', row.principal_id)
        .executeTakeFirst()
      if (dup && dup.id !== row.id) return 'exists'
      const { id: _i, created_at: _c, created_by: _cb, ...update } = row
      try {
        await db
          .insertInto('role_assignments')
          .values(row)
          .onConflict((oc) => oc.column('id').doUpdateSet(update))
          .execute()
      } catch (e) {
        // A concurrent writer inserted the same (scope, role, principal) under another id.
        if (/unique|duplicate/i.test(String((e as Error).message))) return 'exists'
        throw e
      }
      return 'ok'
    },
    async deleteRoleAssignment(id) {
      const r = await db.deleteFrom('role_assignments').where('id', '=', id.toLowerCase()).executeTakeFirst()
      return Number(r.numDeletedRows) > 0
    },
    async deleteRoleAssignmentsWithin(scope) {
      const k = idKey(scope)
      const prefix = `${k}/`
      const rows = await db
        .selectFrom('role_assignments')
        .select('id')
        .where((eb) =>
          eb.or([eb('scope_key', '=', k), eb(sql<string>`substr(scope_key, 1, ${prefix.length})`, '=', prefix)]),
        )
        .execute()
      if (rows.length > 0)
        await db
          .deleteFrom('role_assignments')
          .where(
            'id',
            'in',
            rows.map((r) => r.id),
          )
          .execute()
      return rows.map((r) => r.id)
    },
  }
  return self
}

function toGroup(r: Selectable<Db['resource_groups']>): ResourceGroup {
  return {
    subscriptionId: r.subscription_id,
    name: r.name,
    location: r.location,
    tags: JSON.parse(r.tags),
    managedBy: r.managed_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  }
}
