import type { Kysely, Selectable } from 'kysely'
import type { AuthorizationCodeRecord, DeviceCodeRecord, RefreshTokenRecord, StsStateStore } from '../sts/ports.ts'
import type { Db } from './schema.ts'

const toDevice = (r: Selectable<Db['device_codes']>): DeviceCodeRecord => ({
  deviceCodeHash: r.device_code_hash,
  userCode: r.user_code,
  tenantPath: r.tenant_path,
  clientId: r.client_id,
  scope: r.scope,
  status: r.status as DeviceCodeRecord['status'],
  userId: r.user_id,
  userTenantId: r.user_tenant_id,
  intervalS: Number(r.interval_s),
  lastPollAt: r.last_poll_at === null ? null : Number(r.last_poll_at),
  expiresAt: Number(r.expires_at),
  createdAt: Number(r.created_at),
})

const toCode = (r: Selectable<Db['authorization_codes']>): AuthorizationCodeRecord => ({
  codeHash: r.code_hash,
  tenantId: r.tenant_id,
  clientId: r.client_id,
  userId: r.user_id,
  redirectUri: r.redirect_uri,
  scope: r.scope,
  codeChallenge: r.code_challenge,
  codeChallengeMethod: r.code_challenge_method,
  nonce: r.nonce,
  expiresAt: Number(r.expires_at),
  usedAt: r.used_at === null ? null : Number(r.used_at),
  createdAt: Number(r.created_at),
})

export function createStsStateStore(db: Kysely<Db>): StsStateStore {
  return {
    async insertDeviceCode(r) {
      await db
        .insertInto('device_codes')
        .values({
          device_code_hash: r.deviceCodeHash,
          user_code: r.userCode,
          tenant_path: r.tenantPath,
          client_id: r.clientId,
          scope: r.scope,
          status: r.status,
          user_id: r.userId,
          user_tenant_id: r.userTenantId,
          interval_s: r.intervalS,
          last_poll_at: r.lastPollAt,
          expires_at: r.expiresAt,
          created_at: r.createdAt,
        })
        .execute()
    },
    async getDeviceCode(hash) {
      const r = await db.selectFrom('device_codes').selectAll().where('device_code_hash', '=', hash).executeTakeFirst()
      return r && toDevice(r)
    },
    async getDeviceCodeByUserCode(userCode) {
      const r = await db
        .selectFrom('device_codes')
        .selectAll()
        .where('user_code', '=', userCode.toUpperCase())
        .executeTakeFirst()
      return r && toDevice(r)
    },
    async setDeviceCodeStatus(q) {
      const patch: { status: string; user_id?: string | null; user_tenant_id?: string | null } = { status: q.status }
      if (q.userId !== undefined) patch.user_id = q.userId
      if (q.userTenantId !== undefined) patch.user_tenant_id = q.userTenantId
      const r = await db
        .updateTable('device_codes')
        .set(patch)
        .where('device_code_hash', '=', q.hash)
        .where('status', '=', q.fromStatus)
        .executeTakeFirst()
      return Number(r.numUpdatedRows) === 1
    },
    async touchDeviceCodePoll(hash, at) {
      await db.updateTable('device_codes').set({ last_poll_at: at }).where('device_code_hash', '=', hash).execute()
    },
    async listPendingDeviceCodes(now) {
      const rows = await db
        .selectFrom('device_codes')
        .selectAll()
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .limit(100)
        .execute()
      return rows.map(toDevice)
    },

    async insertAuthorizationCode(r) {
      await db
        .insertInto('authorization_codes')
        .values({
          code_hash: r.codeHash,
          tenant_id: r.tenantId,
          client_id: r.clientId,
          user_id: r.userId,
          redirect_uri: r.redirectUri,
          scope: r.scope,
          code_challenge: r.codeChallenge,
          code_challenge_method: r.codeChallengeMethod,
          nonce: r.nonce,
          expires_at: r.expiresAt,
          used_at: r.usedAt,
          created_at: r.createdAt,
        })
        .execute()
    },
    async consumeAuthorizationCode(hash, at) {
      const r = await db
        .updateTable('authorization_codes')
        .set({ used_at: at })
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      const row = await db
        .selectFrom('authorization_codes')
        .selectAll()
        .where('code_hash', '=', hash)
        .executeTakeFirst()
      if (!row) return undefined
      return Number(r.numUpdatedRows) === 1 ? toCode(row) : 'used'
    },

    async insertRefreshToken(r) {
      await db
        .insertInto('refresh_tokens')
        .values({
          token_hash: r.tokenHash,
          tenant_id: r.tenantId,
          client_id: r.clientId,
          user_id: r.userId,
          scope: r.scope,
          family_id: r.familyId,
          expires_at: r.expiresAt,
          revoked_at: r.revokedAt,
          created_at: r.createdAt,
        })
        .execute()
    },
    async getRefreshToken(hash) {
      const r = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst()
      if (!r) return undefined
      const rec: RefreshTokenRecord = {
        tokenHash: r.token_hash,
        tenantId: r.tenant_id,
        clientId: r.client_id,
        userId: r.user_id,
        scope: r.scope,
        familyId: r.family_id,
        expiresAt: Number(r.expires_at),
        revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
        createdAt: Number(r.created_at),
      }
      return rec
    },
    async revokeRefreshTokens(q) {
      let query = db.updateTable('refresh_tokens').set({ revoked_at: q.at }).where('revoked_at', 'is', null)
      if (q.userId) query = query.where('user_id', '=', q.userId)
      if (q.familyId) query = query.where('family_id', '=', q.familyId)
      if (!q.userId && !q.familyId) return 0
      const r = await query.executeTakeFirst()
      return Number(r.numUpdatedRows)
    },

    async rememberAssertion(q) {
      const r = await db
        .insertInto('used_assertions')
        .values({ jti_key: q.key, fingerprint: q.fingerprint, expires_at: q.expiresAt })
        .onConflict((oc) => oc.column('jti_key').doNothing())
        .executeTakeFirst()
      if (Number(r.numInsertedOrUpdatedRows ?? 0n) === 1) return 'new'
      const row = await db
        .selectFrom('used_assertions')
        .select('fingerprint')
        .where('jti_key', '=', q.key)
        .executeTakeFirst()
      return row?.fingerprint === q.fingerprint ? 'same' : 'different'
    },
    async purgeExpired(now) {
      await db.deleteFrom('used_assertions').where('expires_at', '<', now).execute()
      await db
        .deleteFrom('device_codes')
        .where('expires_at', '<', now - 86_400_000)
        .execute()
      await db
        .deleteFrom('authorization_codes')
        .where('expires_at', '<', now - 86_400_000)
        .execute()
      await db.deleteFrom('refresh_tokens').where('expires_at', '<', now).execute()
    },
  }
}
