import type { Kysely, Selectable, Transaction } from 'kysely'
import type { KeyVaultStore, SecretHead, SecretVersionRecord } from '../dataplane/ports.ts'
import type { DialectName } from './db.ts'
import type { Db } from './schema.ts'

/** The Key Vault tables (migration 0005). Declared here and added with `withTables`, next to their only user. */
export type KeyVaultTables = {
  kv_secrets: {
    vault: string
    name_key: string
    name: string
    latest_version: string
    deleted_at: number | null
    scheduled_purge_at: number | null
    created_at: number
    updated_at: number
  }
  kv_secret_versions: {
    vault: string
    name_key: string
    version: string
    value_enc: string
    content_type: string | null
    tags: string | null
    enabled: number
    not_before: number | null
    expires: number | null
    created_at: number
    updated_at: number
  }
}

type KvDb = Db & KeyVaultTables

const num = (x: number | null): number | null => (x === null ? null : Number(x))

const toHead = (r: Selectable<KeyVaultTables['kv_secrets']>): SecretHead => ({
  vault: r.vault,
  name: r.name,
  latestVersion: r.latest_version,
  deletedAt: num(r.deleted_at),
  scheduledPurgeAt: num(r.scheduled_purge_at),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
})

const toVersion = (r: Selectable<KeyVaultTables['kv_secret_versions']>, name: string): SecretVersionRecord => ({
  vault: r.vault,
  name,
  version: r.version,
  valueEnc: r.value_enc,
  contentType: r.content_type,
  tags: r.tags === null ? null : JSON.parse(r.tags),
  enabled: Number(r.enabled) === 1,
  notBefore: num(r.not_before),
  expires: num(r.expires),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
})

const versionRow = (v: SecretVersionRecord) => ({
  vault: v.vault.toLowerCase(),
  name_key: v.name.toLowerCase(),
  version: v.version,
  value_enc: v.valueEnc,
  content_type: v.contentType,
  tags: v.tags === null ? null : JSON.stringify(v.tags),
  enabled: v.enabled ? 1 : 0,
  not_before: v.notBefore,
  expires: v.expires,
  created_at: v.createdAt,
  updated_at: v.updatedAt,
})

/** KeyVaultStore on Kysely (SQLite and PostgreSQL). Names compare case-insensitively through `name_key`. */
export function createKeyVaultStore(db: Kysely<Db>, dialect: DialectName): KeyVaultStore {
  return make(db.withTables<KeyVaultTables>(), dialect, false)
}

function make(db: Kysely<KvDb>, dialect: DialectName, inTx: boolean): KeyVaultStore {
  const lower = (s: string) => s.toLowerCase()

  async function deleteSecretRows(d: Kysely<KvDb>, vault: string, name: string): Promise<boolean> {
    await d
      .deleteFrom('kv_secret_versions')
      .where('vault', '=', lower(vault))
      .where('name_key', '=', lower(name))
      .execute()
    const r = await d
      .deleteFrom('kv_secrets')
      .where('vault', '=', lower(vault))
      .where('name_key', '=', lower(name))
      .executeTakeFirst()
    return Number(r.numDeletedRows) > 0
  }

  const self: KeyVaultStore = {
    transaction(fn) {
      if (inTx) return fn(self)
      return db.transaction().execute((trx: Transaction<KvDb>) => fn(make(trx, dialect, true)))
    },

    async getHead(vault, name, opts) {
      let q = db
        .selectFrom('kv_secrets')
        .selectAll()
        .where('vault', '=', lower(vault))
        .where('name_key', '=', lower(name))
      if (opts?.forUpdate && inTx && dialect === 'postgres') q = q.forUpdate()
      const r = await q.executeTakeFirst()
      return r && toHead(r)
    },

    async putHead(h) {
      const row = {
        vault: lower(h.vault),
        name_key: lower(h.name),
        name: h.name,
        latest_version: h.latestVersion,
        deleted_at: h.deletedAt,
        scheduled_purge_at: h.scheduledPurgeAt,
        created_at: h.createdAt,
        updated_at: h.updatedAt,
      }
      await db
        .insertInto('kv_secrets')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['vault', 'name_key']).doUpdateSet({
            name: row.name,
            latest_version: row.latest_version,
            deleted_at: row.deleted_at,
            scheduled_purge_at: row.scheduled_purge_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
          }),
        )
        .execute()
    },

    async getVersion(vault, name, version) {
      const r = await db
        .selectFrom('kv_secret_versions')
        .selectAll()
        .where('vault', '=', lower(vault))
        .where('name_key', '=', lower(name))
        .where('version', '=', version)
        .executeTakeFirst()
      return r && toVersion(r, name)
    },

    async putVersion(v) {
      const row = versionRow(v)
      const { vault: _v, name_key: _n, version: _ver, ...rest } = row
      await db
        .insertInto('kv_secret_versions')
        .values(row)
        .onConflict((oc) => oc.columns(['vault', 'name_key', 'version']).doUpdateSet(rest))
        .execute()
    },

    async listVersions(vault, name, q = {}) {
      let query = db
        .selectFrom('kv_secret_versions')
        .selectAll()
        .where('vault', '=', lower(vault))
        .where('name_key', '=', lower(name))
      if (q.after !== undefined) query = query.where('version', '>', q.after)
      query = query.orderBy('version')
      if (q.limit) query = query.limit(q.limit)
      return (await query.execute()).map((r) => toVersion(r, name))
    },

    async listSecrets(vault, q) {
      let query = db
        .selectFrom('kv_secrets as s')
        .innerJoin('kv_secret_versions as v', (j) =>
          j
            .onRef('v.vault', '=', 's.vault')
            .onRef('v.name_key', '=', 's.name_key')
            .onRef('v.version', '=', 's.latest_version'),
        )
        .select([
          's.vault as s_vault',
          's.name_key as s_name_key',
          's.name as s_name',
          's.latest_version as s_latest_version',
          's.deleted_at as s_deleted_at',
          's.scheduled_purge_at as s_scheduled_purge_at',
          's.created_at as s_created_at',
          's.updated_at as s_updated_at',
          'v.vault',
          'v.name_key',
          'v.version',
          'v.value_enc',
          'v.content_type',
          'v.tags',
          'v.enabled',
          'v.not_before',
          'v.expires',
          'v.created_at',
          'v.updated_at',
        ])
        .where('s.vault', '=', lower(vault))
        .where('s.deleted_at', q.deleted ? 'is not' : 'is', null)
      if (q.after !== undefined) query = query.where('s.name_key', '>', lower(q.after))
      const rows = await query.orderBy('s.name_key').limit(q.limit).execute()
      return rows.map((r) => {
        const head = toHead({
          vault: r.s_vault,
          name_key: r.s_name_key,
          name: r.s_name,
          latest_version: r.s_latest_version,
          deleted_at: r.s_deleted_at,
          scheduled_purge_at: r.s_scheduled_purge_at,
          created_at: r.s_created_at,
          updated_at: r.s_updated_at,
        })
        return { head, latest: toVersion(r, head.name) }
      })
    },

    async deleteSecret(vault, name) {
      return inTx
        ? deleteSecretRows(db, vault, name)
        : db.transaction().execute((trx) => deleteSecretRows(trx, vault, name))
    },

    async deleteVault(vault) {
      const run = async (d: Kysely<KvDb>) => {
        await d.deleteFrom('kv_secret_versions').where('vault', '=', lower(vault)).execute()
        const r = await d.deleteFrom('kv_secrets').where('vault', '=', lower(vault)).executeTakeFirst()
        return Number(r.numDeletedRows)
      }
      return inTx ? run(db) : db.transaction().execute(run)
    },

    async listVaults() {
      const rows = await db.selectFrom('kv_secrets').select('vault').distinct().orderBy('vault').execute()
      return rows.map((r) => r.vault)
    },

    async listDue(now, limit) {
      const rows = await db
        .selectFrom('kv_secrets')
        .select(['vault', 'name'])
        .where('deleted_at', 'is not', null)
        .where('scheduled_purge_at', '<=', now)
        .orderBy('scheduled_purge_at')
        .limit(limit)
        .execute()
      return rows.map((r) => ({ vault: r.vault, name: r.name }))
    },
  }
  return self
}
