import { type Server as HttpsServer, createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { AccessControl, ArmHooks, ArmStore, Resource } from '../arm/index.ts'
import { VAULT_TYPE } from '../arm/providers/keyvault.ts'
import type { AuditLog } from '../audit/index.ts'
import type { TokenVerifier } from '../auth/index.ts'
import type { Config } from '../config/index.ts'
import { type KeyVault, type VaultDirectory, type VaultInfo, createKeyVault } from '../dataplane/keyvault/index.ts'
import type { Clock } from '../kernel/clock.ts'
import type { Ids } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import { setRequestMeta } from '../kernel/request-meta.ts'
import { type Database, createKeyVaultStore } from '../store/index.ts'
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
export async function startKeyVault(deps: {
  config: Config
  database: Database
  armStore: ArmStore
  access: AccessControl
  verifier: TokenVerifier
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  kek: Buffer
  tenantId: string
  tls: { certPem: string; keyPem: string }
  sweepMs?: number
}): Promise<KeyVaultServer> {
  const { config, logger } = deps
  const host = config.listen.host
  const hostForUrl = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
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
    fallbackHost: () => `${hostForUrl}:${port}`,
  })
  const pathStyle = keyVault.listener('path')
  const server: HttpsServer = createHttpsServer({ cert: deps.tls.certPem, key: deps.tls.keyPem }, (req, res) => {
    setRequestMeta(req, { scheme: 'https', host: null, listener: 'keyvault' })
    pathStyle(req, res)
  })
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port

  const sweep = () =>
    void keyVault
      .sweep()
      .then((r) => {
        if (r.purged || r.orphans) logger.info('key vault sweep', r)
      })
      .catch((err) => logger.warn('key vault sweep failed', { err }))
  sweep()
  const timer = setInterval(sweep, deps.sweepMs ?? 60_000)
  timer.unref()

  let closing: Promise<void> | undefined
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
    loopbackUrl: (vaultName) => `https://${hostForUrl}:${port}/${vaultName}`,
    close(o = {}) {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(timer)
        const t = setTimeout(() => server.closeAllConnections(), o.graceMs ?? 10_000)
        t.unref()
        server.close(() => {
          clearTimeout(t)
          resolve()
        })
        server.closeIdleConnections()
      })
      return closing
    },
  }
}
