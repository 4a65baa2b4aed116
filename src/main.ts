import { existsSync, readFileSync } from 'node:fs'
import { UsageError, flag, parseArgs, rejectUnknown } from './cli/args.ts'

const START_USAGE = `Usage: azid start [--data DIR] [--config FILE] [--store DSN] [--port N] [--set key=value]...

Runs azid in the foreground: the token service and admin API on HTTPS, with the embedded SQLite store unless
--store names another (memory | sqlite:<path> | postgres://…). Settings: defaults < --config file (JSON)
< AZID_* environment variables (AZID_SECTION__KEY) < flags. Stops gracefully on SIGINT/SIGTERM.`

/** The configuration module (zod) loads only for the commands that need it: the CLI commands start faster. */
async function configFrom(argv: readonly string[], env: NodeJS.ProcessEnv) {
  const { ConfigError, loadConfig } = await import('./config/index.ts')
  const p = parseArgs(argv, { booleans: ['help'] })
  rejectUnknown(p, ['data', 'config', 'store', 'port', 'set', 'help'])
  const flags: Record<string, unknown> = {}
  if (flag(p, 'data')) flags.dataDir = flag(p, 'data')
  else if (env.AZID_DATA_DIR) flags.dataDir = env.AZID_DATA_DIR
  if (flag(p, 'store')) flags['store.dsn'] = flag(p, 'store')
  if (flag(p, 'port')) flags['listen.httpsPort'] = Number(flag(p, 'port'))
  for (const kv of p.flags.get('set') ?? []) {
    const i = kv.indexOf('=')
    if (i < 1) throw new UsageError(`--set expects key=value, got '${kv}'`)
    flags[kv.slice(0, i)] = kv.slice(i + 1)
  }
  const file = flag(p, 'config') ?? env.AZID_CONFIG
  let fileContents: unknown
  if (file) {
    if (!existsSync(file)) throw new UsageError(`config file ${file} does not exist`)
    try {
      fileContents = JSON.parse(readFileSync(file, 'utf8'))
    } catch (e) {
      throw new ConfigError(`config file ${file}: ${(e as Error).message}`)
    }
  }
  const { AZID_DATA_DIR: _d, ...rest } = env
  return { config: loadConfig({ env: rest, file: fileContents, flags }), help: p.flags.has('help') }
}

async function start(argv: readonly string[]): Promise<number> {
  const { config, help } = await configFrom(argv, process.env)
  if (help) {
    process.stdout.write(`${START_USAGE}\n`)
    return 0
  }
  // Loaded here, not at the top: every other command is an HTTP client and starts in a fraction of the time.
  const { createServer } = await import('./server/index.ts')
  const server = await createServer(config)
  const e = server.endpoints
  const b = server.bootstrap
  const lines = [
    // performance.now() counts from the process's start: node, module loading and the server together.
    `azid ${'0.1.0'} ready in ${Math.round(performance.now())} ms (store: ${server.database.location})`,
    `  tenant         ${e.tenantId} (${e.tenantDomain})`,
    `  subscription   ${e.subscriptionId}`,
    `  authority      ${e.authority}`,
    `  management     ${e.managementUrl}`,
    `  CA certificate ${e.caCertPath}`,
    `  namespace sock ${e.namespaceSocket}`,
  ]
  if (b.created) {
    lines.push(
      '',
      'Bootstrap administrator (printed once; also in <data>/bootstrap.json):',
      `  client id      ${b.clientId}`,
      `  client secret  ${b.clientSecret}`,
      `  user           ${b.userPrincipalName}`,
      `  password       ${b.userPassword}`,
    )
  } else lines.push(`  bootstrap SP   ${b.clientId} (credentials in ${server.dataDir}/bootstrap.json)`)
  process.stdout.write(`${lines.join('\n')}\n`)

  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (sig: string) => {
      if (stopping) return
      stopping = true
      process.stdout.write(`azid: ${sig} received, finishing in-flight requests\n`)
      server.close().then(
        () => resolve(0),
        (err) => {
          process.stderr.write(`azid: error while stopping: ${String(err)}\n`)
          resolve(1)
        },
      )
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
}

/** Process entry: `azid start` and `azid config print` own the configuration; every other command is an HTTP client. */
export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv
  try {
    if (cmd === 'start') return await start(rest)
    if (cmd === 'config') {
      if (rest[0] !== 'print') throw new UsageError('usage: azid config print [start flags]')
      const { config } = await configFrom(rest.slice(1), process.env)
      const { redactConfig } = await import('./config/index.ts')
      process.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`)
      return 0
    }
    // The CLI's modules (output formats, YAML, JMESPath) load only for its commands, not for `start`.
    const { runCli } = await import('./cli/main.ts')
    return await runCli(argv, {
      out: (s) => process.stdout.write(`${s}\n`),
      err: (s) => process.stderr.write(`${s}\n`),
      env: process.env,
    })
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && e.name === 'ConfigError')) {
      process.stderr.write(`azid: ${e.message}\n`)
      return 2
    }
    if (e instanceof Error && /EADDRINUSE/.test(String((e as NodeJS.ErrnoException).code ?? e.message))) {
      process.stderr.write(`azid: ${e.message}: another process uses that port; pick another with --port\n`)
      return 1
    }
    throw e
  }
}
