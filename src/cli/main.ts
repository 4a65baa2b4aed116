import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type ArgSpec, type ParsedArgs, UsageError, flag, has, parseArgs, rejectUnknown } from './args.ts'
import { openSession, type Session } from './arm.ts'
import { CliError, adminRequest, findTarget, type Target } from './client.ts'
import { type NounCtx, group, host, identity, role, tokenGet } from './nouns.ts'
import { type OutputFormat, formatRows, parseOutput, render } from './output.ts'
import { runCommand } from './run.ts'
import { applyCommand, exportCommand, resetCommand, snapshotCommand } from './world.ts'

/** Wire shape of GET /_azid/endpoints (cli talks HTTP; it imports no server code). */
interface Endpoints {
  tenantId: string
  tenantDomain: string
  subscriptionId: string
  authorityHost: string
  authority: string
  managementUrl: string
  graphUrl: string
  caCertPath: string
  bootstrap: { clientId: string; clientSecret: string | null; userPrincipalName: string; userPassword: string | null }
  storage?: { blob: string; file: string }
}

interface AuditEvent {
  seq: number
  at: number
  kind: string
  result: string
  grantType: string | null
  clientId: string | null
  principalId: string | null
  host: string | null
  audience: string | null
  errorCode: string | null
  reason: string | null
}

export const USAGE = `azid — self-hosted Azure managed identities

Usage: azid <command> [options]

Azure resources (as az; output with -o json|jsonc|yaml|table|tsv|none and --query JMESPATH):
  group create -n NAME -l LOCATION | list | show -n NAME | delete -n NAME [--yes]
  identity create -g RG -n NAME [-l LOCATION] [--tags k=v ...] | list [-g RG] | show -g RG -n NAME | delete -g RG -n NAME
  identity federated-credential create|list|show|delete -g RG --identity-name ID [-n NAME --issuer URL --subject S]
  vm create -g RG -n NAME [-l LOCATION] [--assign-identity [[system] ID ...]] [--role ROLE --scope SCOPE]
  vm list [-g RG] | show -g RG -n NAME | delete -g RG -n NAME | update -g RG -n NAME --set PATH=VALUE [--remove PATH]
  vm identity assign|remove -g RG -n NAME [--identities [system] ID ...] | vm identity show -g RG -n NAME
  vmss …                     the same for virtual machine scale sets
  host … --type T            the same for any host: vm, vmss, webapp, functionapp, aci, arc or a resource type
  role assignment create --assignee ID|APPID|UPN --role ROLE [--scope SCOPE | -g RG] [--description D]
  role assignment list [--assignee A] [--role R] [--scope S | -g RG] [--all] [--include-inherited]
  role assignment delete [--ids ID ...] | [--assignee A] [--role R] [--scope S | -g RG]
  role definition list [--name NAME] [--custom-role-only]
  token get --host H --resource R [--client-id ID | --object-id ID | --mi-res-id ID] [--flavour F]
                             a token from host H's managed-identity endpoint, as a process on H gets it
  token decode TOKEN         print a JWT's header and claims (no verification; '-' reads stdin)
  Common: --subscription ID|NAME (default: the default subscription)

Configuration as code:
  apply -f FILE [--dry-run]  make the world match FILE (YAML or JSON): tenants, applications, users, subscriptions,
                             resourceGroups, customRoles, identities, hosts, roleAssignments, faults. Idempotent, one
                             transaction, never deletes what the file does not mention
  export [-f FILE] [--format yaml|json]
                             the current world in the same format (apply it to another azid to get the same world)
  snapshot save NAME [--force] | restore NAME | list | delete NAME
  reset --yes                back to the bootstrap state (default tenant and subscription, bootstrap administrator)

Server:
  start                      run azid in the foreground (see 'azid start --help')
  endpoints [--json]         print the URLs, ids and bootstrap credentials of the running azid
  env [--bootstrap]          print shell exports that point Azure clients at azid
  env --host H [--flavour F] exports that make a process act as host H (a name or resource id); F: imds, app-service,
                             app-service-2017, azure-ml, service-fabric, cloud-shell, arc, vm-extension
  run [--host H] [--flavour F] -- COMMAND...
                             run COMMAND in a network namespace where 169.254.169.254 is IMDS for H and the Azure
                             names (login.microsoftonline.com, management.azure.com, *.blob.core.windows.net…) reach azid
  workload token --subject S [--audience A] [--lifetime 1h] [--out FILE]
                             a federated token from azid's workload issuer (AZURE_FEDERATED_TOKEN_FILE)
  fault add --effect E [--host H] [--flavour F] [--path P] [--identity ID] [--count N] [--probability P] [--for 30s]
  fault list | fault clear [ID]
  config print               print the effective configuration, secrets redacted
  keys rotate                start a new token-signing key (the old one stays published until its tokens expire)
  keys list                  list the published signing keys
  device list                list device codes waiting for approval
  device approve CODE [--user UPN]
  device deny CODE [--user UPN]
  logs [--kind K] [--result R] [--principal ID] [--client ID] [--host H] [--audience A] [--limit N] [--follow]
  access explain --principal ID --action A --scope S [--data-action]
                             which assignment, role and permission allow an action, or why none does (exit 3 when denied)
  version

Common options:
  --data DIR                 the data directory of the azid to talk to (default: $AZID_DATA_DIR or .azid)
  --url URL                  talk to azid at URL instead of the one in the data directory
`

const COMMON = ['data', 'url', 'admin-key', 'output', 'help']

function target(p: ReturnType<typeof parseArgs>, env: Readonly<Record<string, string | undefined>>) {
  return findTarget({
    dataDir: flag(p, 'data') ?? env.AZID_DATA_DIR ?? '.azid',
    ...(flag(p, 'url') ? { url: flag(p, 'url') as string } : {}),
    ...((flag(p, 'admin-key') ?? env.AZID_ADMIN_KEY)
      ? { adminKey: (flag(p, 'admin-key') ?? env.AZID_ADMIN_KEY) as string }
      : {}),
  })
}

function output(p: ReturnType<typeof parseArgs>, fallback: OutputFormat): OutputFormat {
  return parseOutput(flag(p, 'output'), fallback)
}

/** Flags every az-shaped noun accepts (az's global arguments included; --only-show-errors etc. change nothing here). */
const GLOBAL = [...COMMON, 'query', 'subscription', 'only-show-errors', 'verbose', 'debug', 'yes', 'no-wait']
const SPEC: ArgSpec = {
  booleans: [
    'help',
    'yes',
    'no-wait',
    'all',
    'include-inherited',
    'custom-role-only',
    'generate-ssh-keys',
    'dry-run',
    'force',
    'only-show-errors',
    'verbose',
    'debug',
  ],
  multi: ['tags', 'ids', 'assign-identity', 'identities', 'audiences', 'set', 'remove'],
  aliases: { g: 'resource-group', n: 'name', l: 'location', o: 'output', f: 'file', y: 'yes' },
}
const HOST_FLAGS = [
  'resource-group',
  'name',
  'location',
  'tags',
  'ids',
  'type',
  'assign-identity',
  'identities',
  'role',
  'scope',
  'size',
  'image',
  'admin-username',
  'admin-password',
  'generate-ssh-keys',
  'authentication-type',
  'upgrade-policy-mode',
  'custom-data',
  'vm-sku',
  'instance-count',
  'public-ip-address',
  'nsg',
  'vnet-name',
  'subnet',
  'set',
  'remove',
]
/** Flags per noun (beyond GLOBAL). */
const NOUN_FLAGS: Record<string, readonly string[]> = {
  identity: ['resource-group', 'name', 'location', 'tags', 'ids', 'identity-name', 'issuer', 'subject', 'audiences'],
  group: ['name', 'location', 'tags'],
  vm: HOST_FLAGS,
  vmss: HOST_FLAGS,
  host: HOST_FLAGS,
  role: [
    'assignee',
    'assignee-object-id',
    'assignee-principal-type',
    'role',
    'scope',
    'resource-group',
    'ids',
    'all',
    'include-inherited',
    'description',
    'name',
    'custom-role-only',
  ],
  token: ['host', 'resource', 'scope', 'client-id', 'object-id', 'mi-res-id', 'flavour'],
}

function nounCtx(
  p: ParsedArgs,
  io: { out: (s: string) => void; err: (s: string) => void; env: Readonly<Record<string, string | undefined>> },
  tgt: () => Target,
  fallback: OutputFormat,
): NounCtx {
  const format = output(p, fallback)
  const query = flag(p, 'query')
  let session: Promise<Session> | undefined
  return {
    p,
    target: tgt,
    session: () => {
      session ??= openSession(tgt(), flag(p, 'subscription'))
      return session
    },
    emit(data, table) {
      const text = render(data, { format, query, ...(table ? { table } : {}), colour: Boolean(process.stdout.isTTY) })
      if (text !== undefined && text !== '') io.out(text)
    },
    progress(s) {
      if (process.stderr.isTTY) io.err(s)
    },
  }
}

function nounHelp(cmd: string): string {
  const lines = USAGE.split('\n').filter(
    (l) => l.trimStart().startsWith(`${cmd} `) || (cmd === 'vmss' && l.includes('vm ')),
  )
  return `Usage:\n${lines.join('\n')}\n\nOutput: -o json|jsonc|yaml|table|tsv|none, --query JMESPATH; --subscription ID|NAME`
}

const sh = (v: string) => `'${v.replaceAll("'", "'\\''")}'`

function decodeSegment(seg: string | undefined): unknown {
  if (!seg) throw new CliError('not a JWT: expected three dot-separated parts')
  try {
    return JSON.parse(Buffer.from(seg, 'base64url').toString('utf8'))
  } catch {
    throw new CliError('not a JWT: a segment is not base64url JSON')
  }
}

/** Runs a CLI command (everything but `start` and `config print`, which main.ts owns). Returns the exit code. */
export async function runCli(
  argv: readonly string[],
  io: {
    out: (s: string) => void
    err: (s: string) => void
    env: Readonly<Record<string, string | undefined>>
    stdin?: () => string
  },
): Promise<number> {
  const [cmd, sub, ...rest] = argv
  try {
    switch (cmd) {
      case 'endpoints': {
        const p = parseArgs(
          [sub, ...rest].filter((x): x is string => x !== undefined),
          { booleans: ['json', 'help'] },
        )
        rejectUnknown(p, [...COMMON, 'json'])
        const e = await adminRequest<Endpoints>(target(p, io.env), 'GET', '/_azid/endpoints')
        if (has(p, 'json') || flag(p, 'output') === 'json') io.out(JSON.stringify(e, null, 2))
        else {
          io.out(`Tenant:          ${e.tenantId} (${e.tenantDomain})`)
          io.out(`Subscription:    ${e.subscriptionId}`)
          io.out(`Authority host:  ${e.authorityHost}`)
          io.out(`Management URL:  ${e.managementUrl}`)
          io.out(`Graph URL:       ${e.graphUrl}`)
          if (e.storage?.blob) io.out(`Blob (loopback): ${e.storage.blob}/<account>`)
          io.out(`CA certificate:  ${e.caCertPath}`)
          io.out(
            `Bootstrap SP:    ${e.bootstrap.clientId}${e.bootstrap.clientSecret ? ` / ${e.bootstrap.clientSecret}` : ''}`,
          )
          io.out(
            `Bootstrap user:  ${e.bootstrap.userPrincipalName}${e.bootstrap.userPassword ? ` / ${e.bootstrap.userPassword}` : ''}`,
          )
        }
        return 0
      }
      case 'env': {
        const p = parseArgs(
          [sub, ...rest].filter((x): x is string => x !== undefined),
          { booleans: ['bootstrap', 'help'] },
        )
        rejectUnknown(p, [...COMMON, 'bootstrap', 'host', 'flavour'])
        const t = target(p, io.env)
        const e = await adminRequest<Endpoints>(t, 'GET', '/_azid/endpoints')
        const bundle = join(resolve(e.caCertPath, '..'), 'bundle.pem')
        const host = flag(p, 'host')
        if (host) {
          const r = await adminRequest<{ host: { id: string }; flavour: string; env: Record<string, string> }>(
            t,
            'POST',
            '/_azid/hosts/endpoint',
            {
              host,
              mode: 'loopback',
              ...(flag(p, 'flavour') ? { flavour: flag(p, 'flavour') } : {}),
            },
          )
          const lines = [
            `# ${r.flavour} endpoint of ${r.host.id}`,
            'unset IDENTITY_ENDPOINT IDENTITY_HEADER IDENTITY_SERVER_THUMBPRINT IDENTITY_API_VERSION MSI_ENDPOINT MSI_SECRET IMDS_ENDPOINT AZURE_POD_IDENTITY_AUTHORITY_HOST DEFAULT_IDENTITY_CLIENT_ID APPSETTING_WEBSITE_SITE_NAME WEBSITE_SITE_NAME',
            `export NODE_EXTRA_CA_CERTS=${sh(e.caCertPath)}`,
            `export REQUESTS_CA_BUNDLE=${sh(bundle)}`,
            `export SSL_CERT_FILE=${sh(bundle)}`,
            `export AZURE_AUTHORITY_HOST=${sh(e.authorityHost)}`,
            `export AZURE_TENANT_ID=${sh(e.tenantId)}`,
            ...Object.entries(r.env).map(([k, v]) => `export ${k}=${sh(v)}`),
          ]
          io.out(lines.join('\n'))
          return 0
        }
        const lines = [
          `export NODE_EXTRA_CA_CERTS=${sh(e.caCertPath)}`,
          `export REQUESTS_CA_BUNDLE=${sh(bundle)}`,
          `export SSL_CERT_FILE=${sh(bundle)}`,
          `export AZURE_AUTHORITY_HOST=${sh(e.authorityHost)}`,
          `export AZURE_TENANT_ID=${sh(e.tenantId)}`,
        ]
        if (has(p, 'bootstrap')) {
          lines.push(`export AZURE_CLIENT_ID=${sh(e.bootstrap.clientId)}`)
          if (e.bootstrap.clientSecret) lines.push(`export AZURE_CLIENT_SECRET=${sh(e.bootstrap.clientSecret)}`)
        }
        io.out(lines.join('\n'))
        return 0
      }
      case 'keys': {
        const p = parseArgs(rest)
        rejectUnknown(p, COMMON)
        if (sub === 'rotate') {
          const r = await adminRequest<{ kid: string; previous: string[] }>(
            target(p, io.env),
            'POST',
            '/_azid/keys/rotate',
          )
          io.out(`New signing key ${r.kid}; still published: ${r.previous.join(', ') || '(none)'}`)
          return 0
        }
        if (sub === 'list') {
          const r = await adminRequest<{ keys: { kid: string }[] }>(target(p, io.env), 'GET', '/_azid/keys')
          io.out(formatRows(r.keys, ['kid', 'kty', 'use'], output(p, 'table')))
          return 0
        }
        throw new UsageError('usage: azid keys rotate | azid keys list')
      }
      case 'device': {
        const p = parseArgs(rest)
        rejectUnknown(p, [...COMMON, 'user'])
        const t = target(p, io.env)
        if (sub === 'list') {
          const r = await adminRequest<{ value: Record<string, unknown>[] }>(t, 'GET', '/_azid/device')
          io.out(formatRows(r.value, ['userCode', 'clientId', 'tenantPath', 'expiresAt'], output(p, 'table')))
          return 0
        }
        if (sub === 'approve' || sub === 'deny') {
          const code = p.positionals[0]
          if (!code) throw new UsageError(`usage: azid device ${sub} CODE [--user UPN]`)
          const r = await adminRequest<{ userCode: string; status: string; user: string; clientId: string }>(
            t,
            'POST',
            `/_azid/device/${encodeURIComponent(code)}/${sub}`,
            flag(p, 'user') ? { user: flag(p, 'user') } : {},
          )
          io.out(`Device code ${r.userCode} ${r.status} as ${r.user} (client ${r.clientId})`)
          return 0
        }
        throw new UsageError('usage: azid device list | approve CODE | deny CODE')
      }
      case 'logs': {
        const p = parseArgs(
          [sub, ...rest].filter((x): x is string => x !== undefined),
          {
            booleans: ['follow', 'help'],
            aliases: { o: 'output', f: 'follow' },
          },
        )
        rejectUnknown(p, [
          ...COMMON,
          'query',
          'kind',
          'result',
          'principal',
          'client',
          'host',
          'audience',
          'limit',
          'follow',
        ])
        const t = target(p, io.env)
        const fmt = output(p, 'table')
        const qs = new URLSearchParams()
        for (const k of ['kind', 'result', 'principal', 'client', 'host', 'audience', 'limit']) {
          const v = flag(p, k)
          if (v) qs.set(k, v)
        }
        const cols = ['time', 'kind', 'result', 'grantType', 'clientId', 'principalId', 'audience', 'errorCode']
        const rowsOf = (v: AuditEvent[]) => v.map((e) => ({ ...e, time: new Date(e.at).toISOString() }))
        const first = await adminRequest<{ value: AuditEvent[] }>(t, 'GET', `/_azid/logs?${qs}`)
        const events = first.value.slice().reverse()
        const query = flag(p, 'query')
        if (query !== undefined || fmt === 'json' || fmt === 'jsonc' || fmt === 'yaml' || fmt === 'none') {
          const text = render(events, { format: fmt, query, colour: Boolean(process.stdout.isTTY) })
          if (text) io.out(text)
        } else io.out(formatRows(rowsOf(events), cols, fmt))
        if (!has(p, 'follow')) return 0
        let after = events.at(-1)?.seq ?? 0
        for (;;) {
          await new Promise((r) => setTimeout(r, 1000))
          qs.set('after', String(after))
          qs.set('order', 'asc')
          const next = await adminRequest<{ value: AuditEvent[] }>(t, 'GET', `/_azid/logs?${qs}`)
          if (next.value.length === 0) continue
          after = next.value.at(-1)?.seq ?? after
          const body =
            fmt === 'json'
              ? next.value.map((e) => JSON.stringify(e)).join('\n')
              : formatRows(rowsOf(next.value), cols, 'tsv')
          io.out(body)
        }
      }
      case 'access': {
        const p = parseArgs(rest, { booleans: ['data-action', 'help'] })
        rejectUnknown(p, [...COMMON, 'principal', 'action', 'scope', 'data-action'])
        const principal = flag(p, 'principal')
        const action = flag(p, 'action')
        const scope = flag(p, 'scope')
        if (sub !== 'explain' || !principal || !action || !scope)
          throw new UsageError(
            'usage: azid access explain --principal OBJECT_ID --action ACTION --scope SCOPE [--data-action]',
          )
        const qs = new URLSearchParams({
          principal,
          action,
          scope,
          dataAction: has(p, 'data-action') ? 'true' : 'false',
        })
        const r = await adminRequest<{
          allowed: boolean
          grant: { roleName: string; assignmentScope: string; assignmentId: string; permission: string } | null
          considered: { roleName: string; assignmentScope: string; reason: string }[]
        }>(target(p, io.env), 'GET', `/_azid/access/explain?${qs}`)
        if (output(p, 'table') === 'json') io.out(JSON.stringify(r, null, 2))
        else if (r.allowed && r.grant)
          io.out(
            `ALLOWED: role '${r.grant.roleName}' assigned at ${r.grant.assignmentScope} (assignment ${r.grant.assignmentId}) grants '${r.grant.permission}'`,
          )
        else {
          io.out(`DENIED: no role assignment of ${principal} grants ${action} at ${scope}`)
          for (const c of r.considered) io.out(`  - ${c.roleName} at ${c.assignmentScope}: ${c.reason}`)
          if (r.considered.length === 0) io.out('  (the principal has no role assignments)')
        }
        return r.allowed ? 0 : 3
      }
      case 'workload': {
        const p = parseArgs(rest)
        rejectUnknown(p, [...COMMON, 'subject', 'audience', 'lifetime', 'out'])
        const subject = flag(p, 'subject')
        if (sub !== 'token' || !subject)
          throw new UsageError(
            'usage: azid workload token --subject SUBJECT [--audience AUD] [--lifetime 1h] [--out FILE]',
          )
        const r = await adminRequest<{ token: string; issuer: string; expiresOn: number }>(
          target(p, io.env),
          'POST',
          '/_azid/workload/token',
          {
            subject,
            ...(flag(p, 'audience') ? { audience: flag(p, 'audience') } : {}),
            ...(flag(p, 'lifetime') ? { lifetime: flag(p, 'lifetime') } : {}),
          },
        )
        const out = flag(p, 'out')
        if (out) {
          writeFileSync(out, r.token, { mode: 0o600 })
          io.out(
            `# federated token for subject '${subject}' from issuer ${r.issuer}, valid until ${new Date(r.expiresOn * 1000).toISOString()}`,
          )
          io.out(`export AZURE_FEDERATED_TOKEN_FILE=${sh(resolve(out))}`)
        } else io.out(r.token)
        return 0
      }
      case 'fault': {
        const p = parseArgs(rest)
        rejectUnknown(p, [
          ...COMMON,
          'effect',
          'host',
          'flavour',
          'path',
          'identity',
          'count',
          'probability',
          'for',
          'retry-after',
          'file',
          'id',
        ])
        const t = target(p, io.env)
        if (sub === 'list') {
          const r = await adminRequest<{ value: Record<string, unknown>[] }>(t, 'GET', '/_azid/faults')
          const rows = r.value.map((f) => ({ ...f, effect: JSON.stringify(f.effect), match: JSON.stringify(f.match) }))
          io.out(formatRows(rows, ['id', 'effect', 'match', 'remaining', 'probability', 'until'], output(p, 'table')))
          return 0
        }
        if (sub === 'clear') {
          const id = flag(p, 'id') ?? p.positionals[0]
          const r = id
            ? await adminRequest<{ removed: number }>(t, 'DELETE', `/_azid/faults/${encodeURIComponent(id)}`)
            : await adminRequest<{ removed: number }>(t, 'DELETE', '/_azid/faults')
          io.out(`${r.removed} fault rule(s) removed`)
          return 0
        }
        if (sub === 'add') {
          let body: unknown
          const file = flag(p, 'file')
          if (file) {
            try {
              body = JSON.parse(readFileSync(file, 'utf8'))
            } catch (e) {
              throw new CliError(`cannot read fault rules from ${file}: ${(e as Error).message}`)
            }
          } else {
            const effect = flag(p, 'effect')
            if (!effect)
              throw new UsageError(
                'usage: azid fault add --effect 404|410|429|500|503|delay:MS|timeout|reset|malformed [--host H] [--flavour F] [--path P] [--identity ID] [--count N] [--probability P] [--for 30s] [--retry-after S] | --file RULES.json',
              )
            const match: Record<string, string> = {}
            for (const k of ['host', 'flavour', 'path', 'identity']) if (flag(p, k)) match[k] = flag(p, k) as string
            const rule: Record<string, unknown> = { effect, match }
            if (flag(p, 'count')) rule.count = Number(flag(p, 'count'))
            if (flag(p, 'probability')) rule.probability = Number(flag(p, 'probability'))
            if (flag(p, 'retry-after')) rule.retryAfter = Number(flag(p, 'retry-after'))
            if (flag(p, 'for')) {
              const m = /^(\d+)(ms|s|m|h)?$/.exec(flag(p, 'for') as string)
              if (!m) throw new UsageError('--for takes a duration such as 30s or 5m')
              rule.forMs = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000)
            }
            body = rule
          }
          const r = await adminRequest<{ value: { id: string }[] }>(t, 'POST', '/_azid/faults', body)
          io.out(r.value.map((f) => `fault rule ${f.id} added`).join('\n'))
          return 0
        }
        throw new UsageError('usage: azid fault add|list|clear [ID]')
      }
      case 'run': {
        const all = [sub, ...rest].filter((x): x is string => x !== undefined)
        const dash = all.indexOf('--')
        const p = parseArgs(dash < 0 ? all : all.slice(0, dash))
        rejectUnknown(p, [...COMMON, 'host', 'flavour'])
        const command = dash < 0 ? p.positionals : all.slice(dash + 1)
        return runCommand({
          target: target(p, io.env),
          dataDir: flag(p, 'data') ?? io.env.AZID_DATA_DIR ?? '.azid',
          host: flag(p, 'host'),
          flavour: flag(p, 'flavour'),
          command,
          env: io.env,
          err: io.err,
        })
      }
      case 'identity':
      case 'group':
      case 'vm':
      case 'vmss':
      case 'host':
      case 'role': {
        if (sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
          io.out(nounHelp(cmd))
          return 0
        }
        const p = parseArgs(rest, { ...SPEC, known: [...GLOBAL, ...(NOUN_FLAGS[cmd] ?? [])] })
        if (has(p, 'help')) {
          io.out(nounHelp(cmd))
          return 0
        }
        rejectUnknown(p, [...GLOBAL, ...(NOUN_FLAGS[cmd] ?? [])])
        const c = nounCtx(p, io, () => target(p, io.env), 'json')
        if (cmd === 'identity') {
          if (sub === 'federated-credential') return await identity(c, sub)
          if (p.positionals.length > 0) throw new UsageError(`unrecognized arguments: ${p.positionals.join(' ')}`)
          return await identity(c, sub)
        }
        if (cmd === 'group') return await group(c, sub)
        if (cmd === 'role') return await role(c, sub, p.positionals[0])
        return await host(c, cmd, sub)
      }
      case 'apply':
      case 'export':
      case 'snapshot':
      case 'reset': {
        const known = [...COMMON, 'file', 'dry-run', 'format', 'force', 'yes', 'name']
        const p = parseArgs(cmd === 'snapshot' ? rest : [sub, ...rest].filter((x): x is string => x !== undefined), {
          ...SPEC,
          known,
        })
        const wio = {
          out: io.out,
          err: io.err,
          tty: Boolean(process.stderr.isTTY),
          format: flag(p, 'output') === 'json' ? ('json' as const) : ('text' as const),
        }
        const t = target(p, io.env)
        if (cmd === 'apply') return await applyCommand(t, p, wio)
        if (cmd === 'export') return await exportCommand(t, p, wio)
        if (cmd === 'snapshot') return await snapshotCommand(t, sub, p, wio)
        return await resetCommand(t, p, wio)
      }
      case 'token': {
        if (sub === 'get') {
          const p = parseArgs(rest, { ...SPEC, known: [...GLOBAL, ...(NOUN_FLAGS.token ?? [])] })
          return await tokenGet(nounCtx(p, io, () => target(p, io.env), 'json'))
        }
        if (sub !== 'decode')
          throw new UsageError('usage: azid token get --host H --resource R | azid token decode TOKEN')
        let tok = rest[0]
        if (!tok) throw new UsageError('usage: azid token decode TOKEN')
        if (tok === '-') tok = (io.stdin?.() ?? readFileSync(0, 'utf8')).trim()
        const parts = tok.split('.')
        if (parts.length !== 3) throw new CliError('not a JWT: expected three dot-separated parts')
        io.out(JSON.stringify({ header: decodeSegment(parts[0]), claims: decodeSegment(parts[1]) }, null, 2))
        return 0
      }
      case 'version':
      case '--version':
        io.out('azid 0.1.0')
        return 0
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE)
        return 0
      default:
        throw new UsageError(`unknown command '${cmd}'; run 'azid help' for the list`)
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof CliError) {
      io.err(`azid: ${e.message}`)
      return e instanceof UsageError ? 2 : 1
    }
    throw e
  }
}
