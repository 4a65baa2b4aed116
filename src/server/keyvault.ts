import type { ArmHooks, ArmStore, Resource } from '../arm/index.ts'
import { VAULT_TYPE } from '../arm/providers/keyvault.ts'
import { type KeyVault, type VaultDirectory, type VaultInfo, createKeyVault } from '../dataplane/keyvault/index.ts'
import { createKeyVaultStore } from '../store/index.ts'
import { type DataPlaneDeps, repeat, startListener, urlHost } from './dataplane.ts'
import type { Surface } from './http.ts'

/** Host-style vault names (namespace mode, or any listener reached with that Host header). */
const VAULT_HOST = /^[a-z0-9-]+\.vault\.azure\.net$/

function vaultInfo(r: Resource, defaultTenant: string): VaultInfo {
  const p = r.properties as { tenantId?: unknown; softDeleteRetentionInDays?: unknown; enablePurgeProtection?: unknown }
  const days = Number(p.softDeleteRetentionInDays ?? 90)
  return {
    id: r.id,
    name: r.name.toLowerCase(),
    location: r.location ?? 'westus',
    tenantId: (typeof p.tenantId === 'string' ? p.tenantId : defaultTenant).toLowerCase(),
    retentionDays: Number.isInteger(days) && days >= 7 && days <= 90 ? days : 90,
    purgeProtection: p.enablePurgeProtection === true,
  }
}

/** Vaults as the data plane sees them: ARM's `Microsoft.KeyVault/vaults` resources (names are global). */
export function armVaultDirectory(store: ArmStore, defaultTenant: string): VaultDirectory {
  return {
    async byName(name) {
      const [r] = await store.listResources({ type: VAULT_TYPE, name })
      return r && vaultInfo(r, defaultTenant)
    },
    async byId(id) {
      const r = await store.getResource(id)
      return r && r.type.toLowerCase() === VAULT_TYPE.toLowerCase() ? vaultInfo(r, defaultTenant) : undefined
    },
  }
}

export interface KeyVaultServer {
  keyVault: KeyVault
  /** `<vault>.vault.azure.net` on the shared HTTPS listener and the namespace socket. */
  surface: Surface
  hooks: ArmHooks
  /** The loopback listener's port (`listen.vaultPort`). */
  port: number
  /** A vault's URL on loopback: `https://<host>:<port>/<vault>`. */
  loopbackUrl(vaultName: string): string
  close(opts?: { graceMs?: number }): Promise<void>
}

/**
 * Composition of the Key Vault secrets data plane: the store, the loopback HTTPS listener (vaults by path), the
 * host-style surface (vaults by name), the ARM hook that takes a deleted vault's secrets with it, and the
 * retention sweep (every `sweepMs`, and once at start).
 */
export async function startKeyVault(
  deps: DataPlaneDeps & { tenantId: string; sweepMs?: number },
): Promise<KeyVaultServer> {
  const { config, logger } = deps
  const host = config.listen.host
  let port = config.listen.vaultPort
  const keyVault = createKeyVault({
    store: createKeyVaultStore(deps.database.db, deps.database.dialect),
    vaults: armVaultDirectory(deps.armStore, deps.tenantId),
    verifier: deps.verifier,
    access: deps.access,
    audit: deps.audit,
    clock: deps.clock,
    ids: deps.ids,
    logger,
    kek: deps.kek,
    fallbackHost: () => `${urlHost(host)}:${port}`,
  })
  const pathStyle = keyVault.listener('path')
  const listener = await startListener({ name: 'keyvault', host, port, tls: deps.tls, handle: pathStyle })
  port = listener.port
  const stopSweep = repeat({
    logger,
    everyMs: deps.sweepMs ?? 60_000,
    atStart: true,
    task: () => keyVault.sweep(),
    done: 'key vault sweep',
    failed: 'key vault sweep failed',
  })

  return {
    keyVault,
    surface: {
      name: 'keyvault',
      matches: ({ host: h }) => VAULT_HOST.test(h),
      raw: keyVault.listener('host'),
    },
    hooks: {
      resourceDeleted(r) {
        if (r.type.toLowerCase() !== VAULT_TYPE.toLowerCase()) return
        keyVault
          .vaultDeleted(r.id)
          .then((n) => n && logger.info('key vault deleted with its secrets', { vault: r.name, secrets: n }))
          .catch((err) => logger.warn('dropping the secrets of a deleted vault failed', { err, vault: r.id }))
      },
    },
    port,
    loopbackUrl: (vaultName) => `${listener.origin}/${vaultName}`,
    close(o = {}) {
      stopSweep()
      return listener.close(o)
    },
  }
}
