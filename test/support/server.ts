import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ConfigInput, loadConfig } from '../../src/config/index.ts'
import type { Clock } from '../../src/kernel/clock.ts'
import type { Ids } from '../../src/kernel/ids.ts'
import { createLogger } from '../../src/kernel/log.ts'
import { type AzidServer, createServer } from '../../src/server/index.ts'

export interface TestServer {
  server: AzidServer
  /** https://127.0.0.1:<port> */
  base: string
  ca: string
  caPath: string
  tenantId: string
  clientId: string
  clientSecret: string
  adminKey: string
  dataDir: string
  stop(): Promise<void>
}

/** A fixed key so tests need no key file; never used outside tests. */
export const TEST_KEK = Buffer.alloc(32, 7).toString('base64')

/**
 * Starts a whole azid in process on a free port with a temporary data directory (memory store unless
 * overridden). `stop()` closes it and removes the directory.
 */
export async function startTestServer(
  overrides: ConfigInput = {},
  opts: { clock?: Clock; ids?: Ids; dataDir?: string; keepDataDir?: boolean } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'azid-test-'))
  const config = loadConfig({
    file: {
      ...overrides,
      dataDir,
      store: { dsn: 'memory', ...overrides.store },
      listen: { httpsPort: 0, miPort: 0, vaultPort: 0, blobPort: 0, filePort: 0, ...overrides.listen },
      log: { level: 'silent', ...overrides.log },
      keys: { encryptionKey: TEST_KEK, ...overrides.keys },
      tokens: { signingThreads: 0, ...overrides.tokens },
    },
  })
  const server = await createServer(config, {
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.ids ? { ids: opts.ids } : {}),
    logger: createLogger({ level: process.env.AZID_TEST_LOG === '1' ? 'debug' : 'silent' }),
  })
  const e = server.endpoints
  return {
    server,
    base: e.authorityHost,
    ca: readFileSync(e.caCertPath, 'utf8'),
    caPath: e.caCertPath,
    tenantId: e.tenantId,
    clientId: e.bootstrap.clientId,
    clientSecret: e.bootstrap.clientSecret ?? '',
    adminKey: server.adminKey,
    dataDir,
    async stop() {
      await server.close({ graceMs: 1000 })
      if (!opts.keepDataDir && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
