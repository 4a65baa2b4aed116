import type { Clock } from '../kernel/clock.ts'
import { DomainError } from '../kernel/errors.ts'
import type { Ids } from '../kernel/ids.ts'
import { hashPassword, hashSecret, secretMatches, verifyPassword } from '../kernel/secrets.ts'
import type {
  AppRole,
  Application,
  KeyCredential,
  PasswordCredential,
  ServicePrincipal,
  Tenant,
  User,
} from './model.ts'
import type { DirectoryStore } from './ports.ts'

export type DirectoryErrorCode =
  | 'TenantNotFound'
  | 'ApplicationNotFound'
  | 'ServicePrincipalNotFound'
  | 'UserNotFound'
  | 'UserExists'
  | 'InvalidCertificate'

export class DirectoryError extends DomainError<DirectoryErrorCode> {}

const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-'
const TWO_YEARS_MS = 2 * 365 * 86_400_000

export interface NewApplication {
  tenantId: string
  displayName: string
  appId?: string
  isPublicClient?: boolean
  accessTokenVersion?: 1 | 2
  identifierUris?: readonly string[]
  redirectUris?: readonly string[]
  appRoles?: readonly AppRole[]
}

export type SecretCheck = { ok: true; credential: PasswordCredential } | { ok: false; reason: 'invalid' | 'expired' }

export interface DirectoryService {
  readonly store: DirectoryStore
  ensureTenant(t: { id: string; domain: string; displayName: string; isDefault: boolean }): Promise<Tenant>
  createApplication(a: NewApplication): Promise<{ application: Application; servicePrincipal: ServicePrincipal }>
  /** Adds a client secret and returns its only clear-text copy. */
  addPassword(q: { appId: string; displayName?: string; endAt?: number; secretText?: string }): Promise<{
    credential: PasswordCredential
    secretText: string
  }>
  checkSecret(appId: string, secret: string): Promise<SecretCheck>
  addCertificate(q: {
    appId: string
    certDer: Buffer
    sha1Hex: string
    sha256Hex: string
    displayName?: string
    startAt: number
    endAt: number
  }): Promise<KeyCredential>
  createUser(q: { tenantId: string; userPrincipalName: string; displayName: string; password?: string }): Promise<User>
  checkUserPassword(upn: string, password: string): Promise<User | undefined>
}

export function createDirectoryService(deps: { store: DirectoryStore; clock: Clock; ids: Ids }): DirectoryService {
  const { store, clock, ids } = deps

  function newSecretText(): string {
    const bytes = ids.bytes(40)
    let s = ''
    for (let i = 0; i < 40; i++) s += SECRET_ALPHABET[(bytes[i] ?? 0) % SECRET_ALPHABET.length]
    // Entra's generated secrets carry "8Q~" at positions 3–5.
    return `${s.slice(0, 3)}8Q~${s.slice(6)}`
  }

  return {
    store,
    async ensureTenant(t) {
      const existing = await store.getTenant(t.id)
      if (existing) return existing
      const tenant: Tenant = { ...t, id: t.id.toLowerCase(), domain: t.domain.toLowerCase(), createdAt: clock.now() }
      await store.putTenant(tenant)
      return (await store.getTenant(t.id)) ?? tenant
    },

    async createApplication(a) {
      const now = clock.now()
      const application: Application = {
        tenantId: a.tenantId,
        objectId: ids.uuid(),
        appId: (a.appId ?? ids.uuid()).toLowerCase(),
        displayName: a.displayName,
        isPublicClient: a.isPublicClient ?? false,
        accessTokenVersion: a.accessTokenVersion ?? 1,
        identifierUris: a.identifierUris ?? [],
        redirectUris: a.redirectUris ?? [],
        appRoles: a.appRoles ?? [],
        createdAt: now,
      }
      const servicePrincipal: ServicePrincipal = {
        tenantId: a.tenantId,
        objectId: ids.uuid(),
        appId: application.appId,
        displayName: a.displayName,
        type: 'Application',
        appOwnerTenantId: a.tenantId,
        servicePrincipalNames: [application.appId, ...application.identifierUris],
        alternativeNames: [],
        managedIdentityResourceId: null,
        accountEnabled: true,
        createdAt: now,
      }
      await store.transaction(async (tx) => {
        await tx.putApplication(application)
        await tx.putServicePrincipal(servicePrincipal)
      })
      return { application, servicePrincipal }
    },

    async addPassword(q) {
      const app = await store.getApplicationByAppId(q.appId)
      if (!app) throw new DirectoryError('ApplicationNotFound', { detail: q.appId })
      const secretText = q.secretText ?? newSecretText()
      const salt = ids.bytes(16).toString('base64url')
      const now = clock.now()
      const credential: PasswordCredential = {
        keyId: ids.uuid(),
        tenantId: app.tenantId,
        appId: app.appId,
        displayName: q.displayName ?? 'azid',
        hint: secretText.slice(0, 3),
        salt,
        hash: hashSecret(secretText, salt),
        startAt: now,
        endAt: q.endAt ?? now + TWO_YEARS_MS,
        createdAt: now,
      }
      await store.putPasswordCredential(credential)
      return { credential, secretText }
    },

    async checkSecret(appId, secret) {
      const check = (creds: readonly PasswordCredential[]): SecretCheck => {
        const now = clock.now()
        let expired = false
        let match: PasswordCredential | undefined
        // Every credential is hashed and compared, so timing does not reveal which one matched.
        for (const c of creds) {
          if (secretMatches(secret, c.salt, c.hash)) {
            if (c.endAt <= now || c.startAt > now + 300_000) expired = true
            else match = c
          }
        }
        if (match) return { ok: true, credential: match }
        return { ok: false, reason: expired ? 'expired' : 'invalid' }
      }
      const first = check(await store.listPasswordCredentials(appId))
      // A cached list may predate a secret just added on another node: ask the store itself before refusing.
      if (first.ok || !('uncached' in store)) return first
      return check(await (store as { uncached: DirectoryStore }).uncached.listPasswordCredentials(appId))
    },

    async addCertificate(q) {
      const app = await store.getApplicationByAppId(q.appId)
      if (!app) throw new DirectoryError('ApplicationNotFound', { detail: q.appId })
      const cred: KeyCredential = {
        keyId: ids.uuid(),
        tenantId: app.tenantId,
        appId: app.appId,
        displayName: q.displayName ?? 'azid certificate',
        sha1Hex: q.sha1Hex.toUpperCase(),
        sha256Hex: q.sha256Hex.toUpperCase(),
        certDer: q.certDer.toString('base64'),
        startAt: q.startAt,
        endAt: q.endAt,
        createdAt: clock.now(),
      }
      await store.putKeyCredential(cred)
      return cred
    },

    async createUser(q) {
      if (await store.getUserByUpn(q.userPrincipalName))
        throw new DirectoryError('UserExists', { detail: q.userPrincipalName })
      const user: User = {
        tenantId: q.tenantId,
        objectId: ids.uuid(),
        userPrincipalName: q.userPrincipalName.toLowerCase(),
        displayName: q.displayName,
        passwordHash: q.password === undefined ? null : hashPassword(q.password, ids.bytes(16)),
        createdAt: clock.now(),
      }
      await store.putUser(user)
      return user
    },

    async checkUserPassword(upn, password) {
      const user = await store.getUserByUpn(upn)
      if (!user?.passwordHash) {
        // Same work as a real check, so an unknown user name takes as long as a wrong password.
        verifyPassword(password, 'scrypt$16384$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
        return undefined
      }
      return verifyPassword(password, user.passwordHash) ? user : undefined
    },
  }
}
