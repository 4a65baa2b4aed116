import type { Kysely, Transaction } from 'kysely'
import type { KeyStore, SigningKeyRecord } from '../keys/ports.ts'
import type { Db } from './schema.ts'

export function createKeyStore(db: Kysely<Db>, inTx = false): KeyStore {
  const self: KeyStore = {
    transaction(fn) {
      if (inTx) return fn(self)
      return db.transaction().execute((trx: Transaction<Db>) => fn(createKeyStore(trx, true)))
    },
    async listSigningKeys() {
      const rows = await db.selectFrom('signing_keys').selectAll().orderBy('activate_at').execute()
      return rows.map(
        (r): SigningKeyRecord => ({
          kid: r.kid,
          alg: 'RS256',
          createdAt: Number(r.created_at),
          activateAt: Number(r.activate_at),
          retireAt: r.retire_at === null ? null : Number(r.retire_at),
          privateKeyEnc: r.private_key_enc,
          publicJwk: JSON.parse(r.public_jwk),
          certDer: r.cert_der,
        }),
      )
    },
    async insertSigningKey(k) {
      await db
        .insertInto('signing_keys')
        .values({
          kid: k.kid,
          alg: k.alg,
          created_at: k.createdAt,
          activate_at: k.activateAt,
          retire_at: k.retireAt,
          private_key_enc: k.privateKeyEnc,
          public_jwk: JSON.stringify(k.publicJwk),
          cert_der: k.certDer,
        })
        .execute()
    },
    async retireCurrentKeys(q) {
      const r = await db
        .updateTable('signing_keys')
        .set({ retire_at: q.retireAt })
        .where('retire_at', 'is', null)
        .where('activate_at', '<', q.activatedBefore)
        .executeTakeFirst()
      return Number(r.numUpdatedRows)
    },
    async deleteRetiredKeys(before) {
      const r = await db
        .deleteFrom('signing_keys')
        .where('retire_at', 'is not', null)
        .where('retire_at', '<', before)
        .executeTakeFirst()
      return Number(r.numDeletedRows)
    },
  }
  return self
}
