import type { Clock } from '../../kernel/clock.ts'
import type { Ids } from '../../kernel/ids.ts'
import type { SecretCrypto } from './crypto.ts'
import { KvError } from './errors.ts'
import type { KeyVaultStore, SecretHead, SecretVersionRecord, VaultInfo } from './ports.ts'

const DAY_MS = 86_400_000
/** Key Vault's limit on a secret value (UTF-8 bytes). */
export const MAX_VALUE_BYTES = 25 * 1024
export const MAX_TAGS = 15
export const NAME_RE = /^[0-9a-zA-Z-]{1,127}$/
const VERSION_RE = /^[0-9a-f]{32}$/
const MAX_EPOCH_S = 253_402_300_799 // 9999-12-31T23:59:59Z

/** Who asked, where, in which api-version; ids are built on `base` (`https://<vault>.vault.azure.net`). */
export interface OpContext {
  vault: VaultInfo
  base: string
  apiVersion: string
}

export interface SecretInput {
  value: string
  contentType: string | null
  tags: Record<string, string> | null
  enabled: boolean
  notBefore: number | null
  expires: number | null
}

export interface SecretPatch {
  contentType?: string
  tags?: Record<string, string>
  enabled?: boolean
  notBefore?: number
  expires?: number
}

export interface Page<T> {
  value: T[]
  /** The key to resume after, when there may be more. */
  next: string | null
}

type Wire = Record<string, unknown>

const seconds = (ms: number) => Math.floor(ms / 1000)
const vaultKey = (v: VaultInfo) => v.id.toLowerCase()
/** api-versions before 7.1 have no `recoverableDays`. */
const legacy = (apiVersion: string) => /^(2015-|2016-|7\.0)/.test(apiVersion)

/** Azure's DeletionRecoveryLevel for a vault with soft delete (always on): Customized below 90 days. */
export function recoveryLevel(v: VaultInfo): string {
  return `${v.retentionDays < 90 ? 'Customized' : ''}Recoverable${v.purgeProtection ? '' : '+Purgeable'}`
}

/** A soft-deleted secret whose purge date has come no longer exists, even before the sweep removes it. */
const isDue = (h: SecretHead, now: number) =>
  h.deletedAt !== null && h.scheduledPurgeAt !== null && h.scheduledPurgeAt <= now
const isActive = (h: SecretHead | undefined): h is SecretHead => h !== undefined && h.deletedAt === null
const isRecoverable = (h: SecretHead | undefined, now: number): h is SecretHead =>
  h !== undefined && h.deletedAt !== null && !isDue(h, now)

/** The secrets operations of one azid: everything but HTTP (http.ts) and RBAC. */
export function createSecretService(deps: { store: KeyVaultStore; crypto: SecretCrypto; clock: Clock; ids: Ids }) {
  const { store, crypto, clock } = deps

  function attributes(ctx: OpContext, v: SecretVersionRecord): Wire {
    const a: Wire = { enabled: v.enabled }
    if (v.notBefore !== null) a.nbf = seconds(v.notBefore)
    if (v.expires !== null) a.exp = seconds(v.expires)
    a.created = seconds(v.createdAt)
    a.updated = seconds(v.updatedAt)
    a.recoveryLevel = recoveryLevel(ctx.vault)
    if (!legacy(ctx.apiVersion)) a.recoverableDays = ctx.vault.retentionDays
    return a
  }

  /** SecretBundle (with `value` when given) or SecretItem (`versioned: false`: the id names the secret only). */
  function render(ctx: OpContext, name: string, v: SecretVersionRecord, opts: { value?: string; versioned: boolean }) {
    const out: Wire = {}
    if (opts.value !== undefined) out.value = opts.value
    if (v.contentType !== null) out.contentType = v.contentType
    out.id = `${ctx.base}/secrets/${name}${opts.versioned ? `/${v.version}` : ''}`
    out.attributes = attributes(ctx, v)
    if (v.tags !== null) out.tags = v.tags
    return out
  }

  function renderDeleted(ctx: OpContext, h: SecretHead, v: SecretVersionRecord, versioned: boolean): Wire {
    return {
      recoveryId: `${ctx.base}/deletedsecrets/${h.name}`,
      deletedDate: seconds(h.deletedAt ?? 0),
      scheduledPurgeDate: seconds(h.scheduledPurgeAt ?? 0),
      ...render(ctx, h.name, v, { versioned }),
    }
  }

  async function latestOf(tx: KeyVaultStore, h: SecretHead): Promise<SecretVersionRecord> {
    const v = await tx.getVersion(h.vault, h.name, h.latestVersion)
    if (!v) throw new Error(`secret ${h.name} has no latest version ${h.latestVersion}`)
    return v
  }

  function where(ctx: OpContext, name: string, version: string) {
    return { vault: vaultKey(ctx.vault), name, version }
  }

  /** Removes a secret whose purge date has come (inside a write transaction), so its name is free again. */
  async function dropIfDue(tx: KeyVaultStore, h: SecretHead | undefined, now: number) {
    if (h && isDue(h, now)) {
      await tx.deleteSecret(h.vault, h.name)
      return undefined
    }
    return h
  }

  return {
    async set(ctx: OpContext, name: string, input: SecretInput): Promise<Wire> {
      const vault = vaultKey(ctx.vault)
      const version = deps.ids.bytes(16).toString('hex')
      return store.transaction(async (tx) => {
        const now = clock.now()
        const head = await dropIfDue(tx, await tx.getHead(vault, name, { forUpdate: true }), now)
        if (head && head.deletedAt !== null) throw new KvError('DeletedButRecoverable', { name })
        const stored = head?.name ?? name
        const rec: SecretVersionRecord = {
          vault,
          name: stored,
          version,
          valueEnc: crypto.encryptValue(input.value, where(ctx, stored, version)),
          contentType: input.contentType,
          tags: input.tags,
          enabled: input.enabled,
          notBefore: input.notBefore,
          expires: input.expires,
          createdAt: now,
          updatedAt: now,
        }
        await tx.putVersion(rec)
        await tx.putHead({
          vault,
          name: stored,
          latestVersion: version,
          deletedAt: null,
          scheduledPurgeAt: null,
          createdAt: head?.createdAt ?? now,
          updatedAt: now,
        })
        return render(ctx, stored, rec, { value: input.value, versioned: true })
      })
    },

    async get(ctx: OpContext, name: string, version: string | undefined): Promise<Wire> {
      const id = version ? `${name}/${version}` : name
      const head = await store.getHead(vaultKey(ctx.vault), name)
      if (!isActive(head)) throw new KvError('SecretNotFound', { id })
      const v = version
        ? VERSION_RE.test(version.toLowerCase())
          ? await store.getVersion(head.vault, head.name, version.toLowerCase())
          : undefined
        : await latestOf(store, head)
      if (!v) throw new KvError('SecretNotFound', { id })
      if (!v.enabled) throw new KvError('SecretDisabled')
      const value = crypto.decryptValue(v.valueEnc, where(ctx, head.name, v.version))
      return render(ctx, head.name, v, { value, versioned: true })
    },

    async update(ctx: OpContext, name: string, version: string | undefined, patch: SecretPatch): Promise<Wire> {
      const id = version ? `${name}/${version}` : name
      return store.transaction(async (tx) => {
        const now = clock.now()
        const head = await tx.getHead(vaultKey(ctx.vault), name, { forUpdate: true })
        if (!isActive(head)) throw new KvError('SecretNotFound', { id })
        const v = version
          ? VERSION_RE.test(version.toLowerCase())
            ? await tx.getVersion(head.vault, head.name, version.toLowerCase())
            : undefined
          : await latestOf(tx, head)
        if (!v) throw new KvError('SecretNotFound', { id })
        const next: SecretVersionRecord = {
          ...v,
          ...(patch.contentType !== undefined ? { contentType: patch.contentType } : {}),
          ...(patch.tags !== undefined ? { tags: patch.tags } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
          ...(patch.notBefore !== undefined ? { notBefore: patch.notBefore } : {}),
          ...(patch.expires !== undefined ? { expires: patch.expires } : {}),
          updatedAt: now,
        }
        await tx.putVersion(next)
        return render(ctx, head.name, next, { versioned: true })
      })
    },

    async list(ctx: OpContext, q: { after?: string; limit: number }): Promise<Page<Wire>> {
      const rows = await store.listSecrets(vaultKey(ctx.vault), { deleted: false, limit: q.limit + 1, ...after(q) })
      const page = rows.slice(0, q.limit)
      return {
        value: page.map((r) => render(ctx, r.head.name, r.latest, { versioned: false })),
        next: rows.length > q.limit ? (page.at(-1)?.head.name.toLowerCase() ?? null) : null,
      }
    },

    async listVersions(ctx: OpContext, name: string, q: { after?: string; limit: number }): Promise<Page<Wire>> {
      const head = await store.getHead(vaultKey(ctx.vault), name)
      if (!isActive(head)) throw new KvError('SecretNotFound', { id: name })
      const rows = await store.listVersions(head.vault, head.name, { limit: q.limit + 1, ...after(q) })
      const page = rows.slice(0, q.limit)
      return {
        value: page.map((v) => render(ctx, head.name, v, { versioned: true })),
        next: rows.length > q.limit ? (page.at(-1)?.version ?? null) : null,
      }
    },

    async delete(ctx: OpContext, name: string): Promise<Wire> {
      return store.transaction(async (tx) => {
        const now = clock.now()
        const head = await tx.getHead(vaultKey(ctx.vault), name, { forUpdate: true })
        if (!isActive(head)) throw new KvError('SecretNotFound', { id: name })
        const deleted: SecretHead = {
          ...head,
          deletedAt: now,
          scheduledPurgeAt: now + ctx.vault.retentionDays * DAY_MS,
          updatedAt: now,
        }
        await tx.putHead(deleted)
        return renderDeleted(ctx, deleted, await latestOf(tx, head), true)
      })
    },

    async getDeleted(ctx: OpContext, name: string): Promise<Wire> {
      const head = await store.getHead(vaultKey(ctx.vault), name)
      if (!isRecoverable(head, clock.now())) throw new KvError('DeletedSecretNotFound', { name })
      return renderDeleted(ctx, head, await latestOf(store, head), true)
    },

    async listDeleted(ctx: OpContext, q: { after?: string; limit: number }): Promise<Page<Wire>> {
      const now = clock.now()
      const rows = await store.listSecrets(vaultKey(ctx.vault), { deleted: true, limit: q.limit + 1, ...after(q) })
      const page = rows.slice(0, q.limit)
      return {
        value: page.filter((r) => !isDue(r.head, now)).map((r) => renderDeleted(ctx, r.head, r.latest, false)),
        next: rows.length > q.limit ? (page.at(-1)?.head.name.toLowerCase() ?? null) : null,
      }
    },

    async recover(ctx: OpContext, name: string): Promise<Wire> {
      return store.transaction(async (tx) => {
        const now = clock.now()
        const head = await tx.getHead(vaultKey(ctx.vault), name, { forUpdate: true })
        if (!isRecoverable(head, now)) throw new KvError('DeletedSecretNotFound', { name })
        const back: SecretHead = { ...head, deletedAt: null, scheduledPurgeAt: null, updatedAt: now }
        await tx.putHead(back)
        return render(ctx, back.name, await latestOf(tx, back), { versioned: true })
      })
    },

    async purge(ctx: OpContext, name: string): Promise<void> {
      await store.transaction(async (tx) => {
        const head = await tx.getHead(vaultKey(ctx.vault), name, { forUpdate: true })
        if (!isRecoverable(head, clock.now())) throw new KvError('DeletedSecretNotFound', { name })
        if (ctx.vault.purgeProtection) throw new KvError('PurgeProtected')
        await tx.deleteSecret(head.vault, head.name)
      })
    },

    /** Every version, values included, sealed into a blob only this azid can open. */
    async backup(ctx: OpContext, name: string): Promise<Buffer> {
      const head = await store.getHead(vaultKey(ctx.vault), name)
      if (!isActive(head)) throw new KvError('SecretNotFound', { id: name })
      const versions = await store.listVersions(head.vault, head.name)
      const payload: BackupPayload = {
        v: 1,
        name: head.name,
        latestVersion: head.latestVersion,
        createdAt: head.createdAt,
        versions: versions.map((v) => ({
          version: v.version,
          value: crypto.decryptValue(v.valueEnc, where(ctx, head.name, v.version)),
          contentType: v.contentType,
          tags: v.tags,
          enabled: v.enabled,
          notBefore: v.notBefore,
          expires: v.expires,
          createdAt: v.createdAt,
          updatedAt: v.updatedAt,
        })),
      }
      return crypto.sealBackup(payload)
    },

    /** Restores every version of a backup (ids and dates kept) into this vault, all or nothing. */
    async restore(ctx: OpContext, blob: Buffer): Promise<Wire> {
      const payload = parseBackup(crypto.openBackup(blob))
      if (!payload) throw new KvError('BadBackup')
      const vault = vaultKey(ctx.vault)
      return store.transaction(async (tx) => {
        const now = clock.now()
        const existing = await dropIfDue(tx, await tx.getHead(vault, payload.name, { forUpdate: true }), now)
        if (existing) throw new KvError('RestoreConflict', { name: payload.name })
        let latest: SecretVersionRecord | undefined
        for (const b of payload.versions) {
          const rec: SecretVersionRecord = {
            vault,
            name: payload.name,
            version: b.version,
            valueEnc: crypto.encryptValue(b.value, where(ctx, payload.name, b.version)),
            contentType: b.contentType,
            tags: b.tags,
            enabled: b.enabled,
            notBefore: b.notBefore,
            expires: b.expires,
            createdAt: b.createdAt,
            updatedAt: b.updatedAt,
          }
          await tx.putVersion(rec)
          if (b.version === payload.latestVersion) latest = rec
        }
        if (!latest) throw new KvError('BadBackup')
        await tx.putHead({
          vault,
          name: payload.name,
          latestVersion: payload.latestVersion,
          deletedAt: null,
          scheduledPurgeAt: null,
          createdAt: payload.createdAt,
          updatedAt: now,
        })
        return render(ctx, payload.name, latest, { versioned: true })
      })
    },

    /** Purges soft-deleted secrets whose retention has ended; returns how many. */
    async purgeDue(limit = 1000): Promise<number> {
      let n = 0
      for (const d of await store.listDue(clock.now(), limit)) {
        const gone = await store.transaction(async (tx) => {
          const h = await tx.getHead(d.vault, d.name, { forUpdate: true })
          return h && isDue(h, clock.now()) ? tx.deleteSecret(h.vault, h.name) : false
        })
        if (gone) n++
      }
      return n
    },
  }
}

export type SecretService = ReturnType<typeof createSecretService>

const after = (q: { after?: string }) => (q.after === undefined ? {} : { after: q.after })

interface BackupVersion {
  version: string
  value: string
  contentType: string | null
  tags: Record<string, string> | null
  enabled: boolean
  notBefore: number | null
  expires: number | null
  createdAt: number
  updatedAt: number
}

interface BackupPayload {
  v: 1
  name: string
  latestVersion: string
  createdAt: number
  versions: BackupVersion[]
}

const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0
const isTimeOrNull = (x: unknown) => x === null || isTime(x)
const isTags = (x: unknown) =>
  x === null ||
  (typeof x === 'object' && !Array.isArray(x) && Object.values(x as object).every((s) => typeof s === 'string'))

/** The payload of a blob we sealed ourselves; checked anyway, so a bug elsewhere cannot write a bad row. */
function parseBackup(x: unknown): BackupPayload | undefined {
  if (typeof x !== 'object' || x === null) return undefined
  const p = x as Record<string, unknown>
  if (p.v !== 1 || typeof p.name !== 'string' || !NAME_RE.test(p.name)) return undefined
  if (typeof p.latestVersion !== 'string' || !isTime(p.createdAt) || !Array.isArray(p.versions)) return undefined
  if (p.versions.length === 0) return undefined
  for (const v of p.versions as Record<string, unknown>[]) {
    if (typeof v !== 'object' || v === null) return undefined
    if (typeof v.version !== 'string' || !VERSION_RE.test(v.version) || typeof v.value !== 'string') return undefined
    if (!(v.contentType === null || typeof v.contentType === 'string') || !isTags(v.tags)) return undefined
    if (typeof v.enabled !== 'boolean' || !isTimeOrNull(v.notBefore) || !isTimeOrNull(v.expires)) return undefined
    if (!isTime(v.createdAt) || !isTime(v.updatedAt)) return undefined
  }
  return p as unknown as BackupPayload
}

// -- request bodies (Key Vault's SecretSetParameters / SecretUpdateParameters)

const bad = (message: string) => new KvError('BadBody', { message })

function readTags(x: unknown): Record<string, string> | null | undefined {
  if (x === undefined) return undefined
  if (x === null) return null
  if (typeof x !== 'object' || Array.isArray(x)) throw bad("Property 'tags' has invalid value: an object is expected.")
  const entries = Object.entries(x as Record<string, unknown>)
  if (entries.length > MAX_TAGS) throw bad(`Property 'tags' has invalid value: at most ${MAX_TAGS} tags are allowed.`)
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw bad(`Property 'tags' has invalid value: the value of tag '${k}' must be a string.`)
    if (k.length === 0 || k.length > 512 || v.length > 512)
      throw bad("Property 'tags' has invalid value: tag names are 1-512 characters, values at most 512.")
  }
  return Object.fromEntries(entries) as Record<string, string>
}

function readContentType(x: unknown): string | null | undefined {
  if (x === undefined || x === null) return x
  if (typeof x !== 'string' || x.length > 255)
    throw bad("Property 'contentType' has invalid value: a string of at most 255 characters is expected.")
  return x
}

function readSeconds(name: string, x: unknown): number | null | undefined {
  if (x === undefined || x === null) return x
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > MAX_EPOCH_S)
    throw bad(`Property 'attributes.${name}' has invalid value: Unix time in seconds is expected.`)
  return Math.floor(x) * 1000
}

function readAttributes(x: unknown): { enabled?: boolean | null; notBefore?: number | null; expires?: number | null } {
  if (x === undefined || x === null) return {}
  if (typeof x !== 'object' || Array.isArray(x))
    throw bad("Property 'attributes' has invalid value: an object is expected.")
  const a = x as Record<string, unknown>
  if (a.enabled !== undefined && a.enabled !== null && typeof a.enabled !== 'boolean')
    throw bad("Property 'attributes.enabled' has invalid value: true or false is expected.")
  const out: { enabled?: boolean | null; notBefore?: number | null; expires?: number | null } = {}
  if (a.enabled !== undefined) out.enabled = a.enabled as boolean | null
  const nbf = readSeconds('nbf', a.nbf)
  const exp = readSeconds('exp', a.exp)
  if (nbf !== undefined) out.notBefore = nbf
  if (exp !== undefined) out.expires = exp
  return out
}

const asObject = (body: unknown): Record<string, unknown> => {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw bad('The request body must be a JSON object.')
  return body as Record<string, unknown>
}

/** PUT /secrets/{name}: `value` is required (a string of at most 25 KiB). */
export function parseSetBody(body: unknown): SecretInput {
  const b = asObject(body)
  if (typeof b.value !== 'string') throw bad("Property 'value' is required and must be a string.")
  const size = Buffer.byteLength(b.value, 'utf8')
  if (size > MAX_VALUE_BYTES)
    throw bad(`The secret value is ${size} bytes; Key Vault accepts at most ${MAX_VALUE_BYTES} bytes (25 KiB).`)
  const a = readAttributes(b.attributes)
  return {
    value: b.value,
    contentType: readContentType(b.contentType) ?? null,
    tags: readTags(b.tags) ?? null,
    enabled: a.enabled ?? true,
    notBefore: a.notBefore ?? null,
    expires: a.expires ?? null,
  }
}

/** PATCH /secrets/{name}/{version}: absent and null members stay as they are. */
export function parseUpdateBody(body: unknown): SecretPatch {
  const b = body === undefined ? {} : asObject(body)
  const a = readAttributes(b.attributes)
  const out: SecretPatch = {}
  const ct = readContentType(b.contentType)
  const tags = readTags(b.tags)
  if (typeof ct === 'string') out.contentType = ct
  if (tags) out.tags = tags
  if (typeof a.enabled === 'boolean') out.enabled = a.enabled
  if (typeof a.notBefore === 'number') out.notBefore = a.notBefore
  if (typeof a.expires === 'number') out.expires = a.expires
  return out
}

/** POST /secrets/restore: `{"value": "<base64url backup blob>"}`. */
export function parseRestoreBody(body: unknown): Buffer {
  const b = asObject(body)
  if (typeof b.value !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(b.value))
    throw bad("Property 'value' is required: the base64url backup blob.")
  return Buffer.from(b.value, 'base64url')
}
