import { z } from 'zod'

const port = z.number().int().min(0).max(65535)
const duration = z.union([z.string().regex(/^\d+(?:\.\d+)?(ms|s|m|h|d)?$/), z.number().nonnegative()])

/** The default tenant: a fixed GUID so that tokens, scripts and docs stay valid across fresh data directories. */
export const DEFAULT_TENANT_ID = '4f1c2a9e-6b3d-4e8a-9c71-2d5f0b8e3a14'
export const DEFAULT_SUBSCRIPTION_ID = '9b6d3c2e-1f4a-4d8b-a7e5-3c0f1b2d4e6a'

/**
 * The whole configuration of an azid node. Every key has a default; unknown keys are refused.
 * Runtime state (identities, assignments, secrets) is data in the store, not configuration.
 */
export const ConfigSchema = z
  .object({
    /** Where the SQLite database, the local CA, key files and runtime files live. */
    dataDir: z.string().min(1).default('.azid'),
    store: z
      .object({
        /** `sqlite` (a file in dataDir) | `sqlite:<path>` | `memory` | `postgres://…` */
        dsn: z.string().min(1).default('sqlite'),
      })
      .strict()
      .prefault({}),
    listen: z
      .object({
        host: z.string().default('127.0.0.1'),
        /** HTTPS: token service, ARM, Graph, admin API, portal. */
        httpsPort: port.default(44300),
        /** Plain HTTP managed-identity endpoints (loopback IMDS, App Service, …). */
        miPort: port.default(44380),
        /** HTTPS Key Vault secrets on loopback: vaults addressed as https://<host>:<vaultPort>/<vault-name>/secrets/…. */
        vaultPort: port.default(44312),
        /** HTTPS Blob service on loopback, path-style: https://<host>:<blobPort>/<account>/<container>/<blob>. */
        blobPort: port.default(44310),
        /** HTTPS File service on loopback, path-style: https://<host>:<filePort>/<account>/<share>/<path>. */
        filePort: port.default(44311),
      })
      .strict()
      .prefault({}),
    tenant: z
      .object({
        id: z.uuid().default(DEFAULT_TENANT_ID),
        domain: z.string().min(3).default('azid.onmicrosoft.com'),
        displayName: z.string().default('azid'),
      })
      .strict()
      .prefault({}),
    subscription: z
      .object({
        id: z.uuid().default(DEFAULT_SUBSCRIPTION_ID),
        displayName: z.string().default('azid subscription'),
      })
      .strict()
      .prefault({}),
    tokens: z
      .object({
        /** Access tokens from the token service (Entra: 60–90 minutes). */
        accessTokenLifetime: duration.default('1h'),
        /** Access tokens handed out through managed-identity endpoints (Entra: about 24 h). */
        managedIdentityTokenLifetime: duration.default('24h'),
        refreshTokenLifetime: duration.default('90d'),
        idTokenLifetime: duration.default('1h'),
        deviceCodeLifetime: duration.default('15m'),
        deviceCodeInterval: z.number().int().min(0).max(60).default(5),
        authorizationCodeLifetime: duration.default('10m'),
        /** Tolerance for `nbf`/`exp` of incoming assertions and tokens. */
        clockSkew: duration.default('5m'),
        /** Worker threads that compute RS256 signatures; 0 signs on the main thread, 'auto' uses one per core. */
        signingThreads: z.union([z.literal('auto'), z.number().int().min(0).max(64)]).default('auto'),
      })
      .strict()
      .prefault({}),
    keys: z
      .object({
        /** 32 bytes, base64 or hex, that encrypt signing keys at rest. When absent, a key file in dataDir is used. */
        encryptionKey: z.string().optional(),
        /** How long a new signing key is published before it signs (lets caches pick it up). 0 = at once. */
        prePublish: duration.default(0),
      })
      .strict()
      .prefault({}),
    admin: z
      .object({
        /** Key for the admin API (`x-azid-admin-key`); when absent one is generated into dataDir/admin.key. */
        key: z.string().min(16).optional(),
      })
      .strict()
      .prefault({}),
    bootstrap: z
      .object({
        /** Fixed credentials for the bootstrap administrator; generated on first start when absent. */
        clientId: z.uuid().optional(),
        clientSecret: z.string().min(16).optional(),
        /** The directory user created at first start (for device code and the portal); default admin@<domain>. */
        userPrincipalName: z.string().optional(),
        userPassword: z.string().min(8).optional(),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    mi: z
      .object({
        /** `realistic` enforces IMDS's published per-host limits with its 429 (identity: 20/s, 5 at once; other: 5/s). */
        throttling: z.enum(['off', 'realistic']).default('off'),
        /** A cached managed-identity token is reissued when less than this is left. */
        refreshBefore: duration.default('5m'),
        /** Hosts are re-read from the store at most this often (changes seen by this node apply at once). */
        hostCache: duration.default('2s'),
        maxCachedTokens: z.number().int().positive().default(100_000),
        /** Where Azure Arc challenge files go; @azure/identity and Go accept only /var/opt/azcmagent/tokens. */
        arcTokenDir: z.string().default('/var/opt/azcmagent/tokens'),
      })
      .strict()
      .prefault({}),
    arm: z
      .object({
        /** Role assignments take effect this long after they are made (Azure documents up to 5 minutes; 0 = at once). */
        roleAssignmentPropagation: duration.default(0),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        /** Largest Put Block body (Azure allows 4000 MiB); larger blocks get 413 RequestBodyTooLarge. */
        maxBlockBytes: z
          .number()
          .int()
          .positive()
          .max(4000 * 1024 * 1024)
          .default(256 * 1024 * 1024),
        /** Largest Put Blob body (Azure allows 5000 MiB). */
        maxPutBlobBytes: z
          .number()
          .int()
          .positive()
          .max(5000 * 1024 * 1024)
          .default(512 * 1024 * 1024),
        /** fdatasync each content file before its database row commits (durability across power loss). */
        fsync: z.boolean().default(true),
        /** How often uncommitted blocks older than 7 days and unreferenced content files are removed. */
        gcInterval: duration.default('10m'),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        /** Largest accepted token-service request body. */
        stsMaxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
        /** ARM refuses larger bodies with 413 RequestContentTooLarge (4 MB, as Azure). */
        armMaxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
  })
  .strict()

export type Config = Readonly<z.infer<typeof ConfigSchema>>
export type ConfigInput = z.input<typeof ConfigSchema>

/** Paths whose values are secret; `config print` shows them redacted. */
export const SECRET_PATHS: readonly string[] = [
  'keys.encryptionKey',
  'bootstrap.clientSecret',
  'bootstrap.userPassword',
  'admin.key',
  'store.dsn',
]
