// Real, unmodified clients (az CLI, AzCopy, curl, python, …) run in a private network + mount namespace
// (src/netns) where the real Azure host names resolve to 127.0.0.1 and 127.0.0.1:443 is piped to the test
// server's namespace socket, with azid's CA trusted: clients.md §1.2 "hosts trick". Nothing can leave the
// machine: any other name fails to resolve inside.
import { existsSync } from 'node:fs'
import type { TestContext } from 'node:test'
import { type Forward, namespaceSupport, runInNamespace } from '../../src/netns/index.ts'
import { type ChildRun, describeRun } from './child.ts'
import { type HostEndpointAnswer, hostForwards } from './mi.ts'
import type { TestServer } from './server.ts'
import { need } from './tiers.ts'

/** The names that resolve to 127.0.0.1 inside (served by azid through the namespace socket). */
export const AZURE_NAMES: readonly string[] = [
  'login.microsoftonline.com',
  'login.windows.net',
  'management.azure.com',
  'graph.microsoft.com',
  '*.blob.core.windows.net',
  '*.file.core.windows.net',
  '*.vault.azure.net',
]

export const AZ = '/usr/bin/az'

/** Called with each line the child prints on stdout or stderr; `write` sends text to its stdin. */
export type InputHandler = (line: string, write: (s: string) => void) => void

export interface NamespaceRunOptions {
  /** Added to the base environment (PATH, HOME, LANG). */
  env?: Record<string, string>
  /** HOME inside; defaults to the process's temp dir (pass a fresh dir for tools that write under ~). */
  home?: string
  cwd?: string
  input?: InputHandler
  /** Default 60 s; then SIGTERM (forwarded to the command), SIGKILL 5 s later. */
  timeoutMs?: number
  /** Extra forwards, e.g. 169.254.169.254:80 → an IMDS socket. */
  forwards?: readonly Forward[]
  /** Extra addresses on lo. */
  addresses?: readonly string[]
  /** Extra names resolving to 127.0.0.1. */
  names?: readonly string[]
  /**
   * Act as this host, as `azid run --host` does: its endpoint's env (under `env`) and forwards (IMDS at
   * 169.254.169.254:80, 127.0.0.1:40342 and the extension port to its socket, 127.0.0.1:44380 to the shared one).
   */
  host?: HostEndpointAnswer
}

/** Why namespace mode cannot be used here, or null. */
export function namespaceUnavailable(): string | null {
  const s = namespaceSupport()
  return s.available ? null : `network namespaces unavailable: ${s.reason ?? 'unknown reason'}`
}

/** Why az tests cannot run here, or null. */
export function azUnavailable(): string | null {
  if (!existsSync(AZ)) return `${AZ} is not installed (Debian package azure-cli)`
  return namespaceUnavailable()
}

/** need() for the az tier: skips locally, fails under AZID_REQUIRE_ALL_TIERS=1. */
export const needAz = (t: TestContext): boolean => need(t, azUnavailable())

/**
 * Runs `command args` inside a fresh namespace wired to `server` (see AZURE_NAMES). The environment is not
 * inherited: PATH, HOME, LANG, then `opts.env`; runInNamespace adds REQUESTS_CA_BUNDLE, SSL_CERT_FILE and
 * NODE_EXTRA_CA_CERTS (system bundle + azid's CA, also bind-mounted over the system bundle).
 */
export function runInAzureNamespace(
  server: TestServer,
  command: string,
  args: readonly string[],
  opts: NamespaceRunOptions = {},
): Promise<ChildRun> {
  const started = Date.now()
  const { child, exited } = runInNamespace({
    command,
    args,
    env: {
      PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: opts.home ?? '/tmp',
      LANG: 'C.UTF-8',
      NO_PROXY: '*',
      ...opts.host?.env,
      ...opts.env,
    },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    forwards: [
      { address: '127.0.0.1', port: 443, socket: server.server.endpoints.namespaceSocket },
      ...(opts.host ? hostForwards(opts.host) : []),
      ...(opts.forwards ?? []),
    ],
    addresses: opts.addresses ?? [],
    names: [...AZURE_NAMES, ...(opts.names ?? [])],
    caBundlePem: server.ca,
    stdio: 'pipe',
  })
  let stdout = ''
  let stderr = ''
  let timedOut = false
  const write = (s: string) => {
    child.stdin?.write(s)
  }
  child.stdin?.on('error', () => {})
  if (!opts.input) child.stdin?.end()
  const lines = (onText: (d: string) => void) => {
    let pending = ''
    return (d: string) => {
      onText(d)
      pending += d
      for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
        const line = pending.slice(0, i)
        pending = pending.slice(i + 1)
        opts.input?.(line, write)
      }
    }
  }
  child.stdout?.setEncoding('utf8')
  child.stderr?.setEncoding('utf8')
  child.stdout?.on(
    'data',
    lines((d) => {
      stdout += d
    }),
  )
  child.stderr?.on(
    'data',
    lines((d) => {
      stderr += d
    }),
  )
  let killTimer: NodeJS.Timeout | undefined
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGTERM')
    killTimer = setTimeout(() => child.kill('SIGKILL'), 5000)
  }, opts.timeoutMs ?? 60_000)
  return exited.then(
    (r) => {
      clearTimeout(timer)
      clearTimeout(killTimer)
      return { code: r.code, signal: r.signal, timedOut, stdout, stderr, ms: Date.now() - started }
    },
    (err) => {
      clearTimeout(timer)
      clearTimeout(killTimer)
      throw err
    },
  )
}

export interface AzRunOptions {
  /** AZURE_CONFIG_DIR: a fresh temp dir per test file (az keeps its login and MSAL caches there). */
  configDir: string
  env?: Record<string, string>
  input?: InputHandler
  /** Default 120 s. */
  timeoutMs?: number
  /** Act as this host (see NamespaceRunOptions.host). */
  host?: HostEndpointAnswer
}

/** Runs Debian's `az` (2.45) in the namespace with an isolated config dir, no telemetry, no colour. */
export function runAzInNamespace(server: TestServer, args: string[], opts: AzRunOptions): Promise<ChildRun> {
  return runInAzureNamespace(server, AZ, args, {
    home: opts.configDir,
    env: {
      AZURE_CONFIG_DIR: opts.configDir,
      AZURE_CORE_COLLECT_TELEMETRY: 'false',
      AZURE_CORE_NO_COLOR: 'true',
      AZURE_CORE_ONLY_SHOW_ERRORS: 'false',
      // No survey prompts, no upgrade checks, no pyc files next to Debian's packages.
      AZURE_CORE_SURVEY_MESSAGE: 'false',
      PYTHONDONTWRITEBYTECODE: '1',
      ...opts.env,
    },
    ...(opts.input ? { input: opts.input } : {}),
    ...(opts.host ? { host: opts.host } : {}),
    timeoutMs: opts.timeoutMs ?? 120_000,
  })
}

/** The JSON az printed on stdout; throws with both streams when the command failed or printed no JSON. */
export function azJson<T = Record<string, unknown>>(r: ChildRun): T {
  if (r.code !== 0) throw new Error(`az failed: ${describeRun(r)}`)
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`az printed no JSON: ${describeRun(r)}`)
  }
}
