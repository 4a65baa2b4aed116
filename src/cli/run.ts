import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type Forward, namespaceSupport, runInNamespace } from '../netns/index.ts'
import { CliError, type Target, adminRequest } from './client.ts'

/** Real Azure names that resolve to azid inside the namespace; wildcards cover accounts and vaults made at any time. */
export const AZURE_NAMES = [
  'login.microsoftonline.com',
  'login.windows.net',
  'management.azure.com',
  'management.core.windows.net',
  'graph.microsoft.com',
  '*.blob.core.windows.net',
  '*.file.core.windows.net',
  '*.queue.core.windows.net',
  '*.table.core.windows.net',
  '*.dfs.core.windows.net',
  '*.vault.azure.net',
] as const

interface EndpointAnswer {
  host: { id: string; name: string; type: string; extensionPort: number | null }
  flavour: string
  env: Record<string, string>
  hostSocket: string | null
  sharedSocket: string
  httpsSocket: string
}

/**
 * `azid run [--host H] [--flavour F] -- COMMAND…`: runs COMMAND in a network and mount namespace where
 * 169.254.169.254 is IMDS for H, the Azure names reach azid over TLS, and azid's CA is trusted. Returns the exit code.
 */
export async function runCommand(q: {
  target: Target
  dataDir: string
  host: string | undefined
  flavour: string | undefined
  command: readonly string[]
  env: Readonly<Record<string, string | undefined>>
  err: (s: string) => void
}): Promise<number> {
  const support = namespaceSupport()
  if (!support.available)
    throw new CliError(
      `namespace mode is not available here (${support.reason ?? 'unknown reason'}); use 'azid env --host HOST' and point the clients at azid's loopback endpoints instead`,
    )
  const [cmd, ...args] = q.command
  if (!cmd) throw new CliError('usage: azid run [--host HOST] [--flavour FLAVOUR] -- COMMAND [ARGS...]')
  let endpoint: EndpointAnswer | undefined
  let httpsSocket: string
  if (q.host) {
    endpoint = await adminRequest<EndpointAnswer>(q.target, 'POST', '/_azid/hosts/endpoint', {
      host: q.host,
      mode: 'namespace',
      ...(q.flavour ? { flavour: q.flavour } : {}),
    })
    httpsSocket = endpoint.httpsSocket
  } else {
    const e = await adminRequest<{ namespaceSocket: string }>(q.target, 'GET', '/_azid/endpoints')
    httpsSocket = e.namespaceSocket
  }
  const forwards: Forward[] = [{ address: '127.0.0.1', port: 443, socket: httpsSocket }]
  if (endpoint?.hostSocket) {
    forwards.push({ address: '169.254.169.254', port: 80, socket: endpoint.hostSocket })
    forwards.push({ address: '127.0.0.1', port: 40342, socket: endpoint.hostSocket })
    const ext = endpoint.host.extensionPort ?? 50342
    forwards.push({ address: '127.0.0.1', port: ext, socket: endpoint.hostSocket })
    if (ext !== 50342) forwards.push({ address: '127.0.0.1', port: 50342, socket: endpoint.hostSocket })
  }
  if (endpoint) forwards.push({ address: '127.0.0.1', port: 44380, socket: endpoint.sharedSocket })
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(q.env)) if (v !== undefined) env[k] = v
  Object.assign(env, endpoint?.env ?? {})
  const ca = readFileSync(join(resolve(q.dataDir), 'pki', 'ca.pem'), 'utf8')
  const run = runInNamespace({
    command: cmd,
    args,
    env,
    forwards,
    addresses: [],
    names: [...AZURE_NAMES],
    caBundlePem: ca,
    stdio: 'inherit',
  })
  // The terminal delivers Ctrl-C to the command itself; SIGTERM is passed on.
  const onInt = () => {}
  const onTerm = () => run.child.kill('SIGTERM')
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  try {
    const { code } = await run.exited
    return code ?? 1
  } finally {
    process.off('SIGINT', onInt)
    process.off('SIGTERM', onTerm)
  }
}
