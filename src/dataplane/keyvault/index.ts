import type { AuditLog } from '../../audit/index.ts'
import type { TokenVerifier } from '../../auth/index.ts'
import type { Clock } from '../../kernel/clock.ts'
import type { Ids } from '../../kernel/ids.ts'
import type { Logger } from '../../kernel/log.ts'
import type { DataPlaneAccess } from '../ports.ts'
import { createSecretCrypto } from './crypto.ts'
import { type Addressing, createKeyVaultHttp, isKnownApiVersion } from './http.ts'
import type { KeyVaultStore, VaultDirectory, VaultInfo } from './ports.ts'
import { createSecretService, recoveryLevel } from './service.ts'

export type { Addressing } from './http.ts'
export { KV_ERRORS, KvError, LATEST_API_VERSION } from './errors.ts'
export type {
  KeyVaultStore,
  SecretHead,
  SecretListItem,
  SecretVersionRecord,
  VaultDirectory,
  VaultInfo,
} from './ports.ts'
export { isKnownApiVersion, recoveryLevel }

export interface KeyVaultDeps {
  store: KeyVaultStore
  vaults: VaultDirectory
  verifier: TokenVerifier
  access: DataPlaneAccess
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  /** azid's 32-byte key-encryption key: secret values and backups are encrypted under keys derived from it. */
  kek: Buffer
  /** Host:port for ids when a request carries no usable Host header. */
  fallbackHost: () => string
  /** How long a found vault is reused (ms); vault deletions on this node drop it at once. Default 2000. */
  vaultCacheMs?: number
  maxBodyBytes?: number
}

/** The Key Vault secrets data plane: HTTP listeners, the retention sweep and the reaction to deleted vaults. */
export function createKeyVault(deps: KeyVaultDeps) {
  const crypto = createSecretCrypto({ kek: deps.kek, ids: deps.ids })
  const service = createSecretService({ store: deps.store, crypto, clock: deps.clock, ids: deps.ids })
  const cacheMs = deps.vaultCacheMs ?? 2000
  const cache = new Map<string, { at: number; vault: VaultInfo }>()
  const vaults = {
    async byName(name: string): Promise<VaultInfo | undefined> {
      const key = name.toLowerCase()
      const hit = cache.get(key)
      const now = deps.clock.now()
      if (hit && now - hit.at < cacheMs) return hit.vault
      const vault = await deps.vaults.byName(key)
      // Only hits are kept: a vault created a moment after a miss must be usable at once.
      if (cache.size > 10_000) cache.clear()
      if (vault) cache.set(key, { at: now, vault })
      else cache.delete(key)
      return vault
    },
  }
  const http = createKeyVaultHttp({
    service,
    vaults,
    verifier: deps.verifier,
    access: deps.access,
    audit: deps.audit,
    clock: deps.clock,
    ids: deps.ids,
    logger: deps.logger,
    fallbackHost: deps.fallbackHost,
    ...(deps.maxBodyBytes === undefined ? {} : { maxBodyBytes: deps.maxBodyBytes }),
  })

  return {
    /** A node:http request listener: `host` for `<vault>.vault.azure.net`, `path` for `/<vault>/secrets/…`. */
    listener: (addressing: Addressing) => http.listener(addressing),
    /**
     * A vault was deleted in ARM: its secrets go with it (azid has no vault soft-delete, so nothing could bring
     * them back). Returns how many secrets were removed.
     */
    async vaultDeleted(vaultId: string): Promise<number> {
      cache.clear()
      return deps.store.deleteVault(vaultId.toLowerCase())
    },
    /**
     * Purges soft-deleted secrets whose retention has ended, and the secrets of vaults that no longer exist (a
     * deletion this node did not see, or a crash between ARM's commit and the hook).
     */
    async sweep(): Promise<{ purged: number; orphans: number }> {
      const purged = await service.purgeDue()
      let orphans = 0
      for (const v of await deps.store.listVaults())
        if (!(await deps.vaults.byId(v))) orphans += await deps.store.deleteVault(v)
      return { purged, orphans }
    },
  }
}

export type KeyVault = ReturnType<typeof createKeyVault>
