import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Real clients run in child processes: NODE_EXTRA_CA_CERTS is read only when node starts, and Python needs its
 * own interpreter anyway. Child scripts report through tagged stdout lines (`@@TAG <json>`), see NODE_PRELUDE.
 */
export interface ChildRun {
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  stdout: string
  stderr: string
  ms: number
}

export const CHILD_TIMEOUT_MS = 60_000

export type LineHandler = (line: string, reply: (text: string) => void) => void

/**
 * The environment of a child: the parent's, minus anything that could send traffic off loopback (proxies) or
 * change which Azure endpoints a client picks (AZURE_*, IDENTITY_*, MSI_*), plus `extra`.
 */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(https?_proxy|all_proxy|no_proxy|azure_|identity_|msi_|imds_|node_options|python)/i.test(k)) continue
    env[k] = v
  }
  return { ...env, NO_PROXY: '*', no_proxy: '*', ...extra }
}

/**
 * Runs a command; `onLine` sees each stdout line as it arrives (device-code prompts) and may answer with `reply`,
 * which writes a line to the child's stdin (read it with the prelude's `input()`). Kills the child at the timeout.
 */
export function runChild(
  cmd: string,
  args: readonly string[],
  opts: { env: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; onLine?: LineHandler },
): Promise<ChildRun> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd ?? tmpdir(), stdio: ['pipe', 'pipe', 'pipe'] })
    const reply = (text: string) => {
      child.stdin.write(`${text}\n`)
    }
    child.stdin.on('error', () => {})
    let stdout = ''
    let stderr = ''
    let pending = ''
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, opts.timeoutMs ?? CHILD_TIMEOUT_MS)
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      stdout += d
      pending += d
      let i = pending.indexOf('\n')
      while (i >= 0) {
        const line = pending.slice(0, i)
        pending = pending.slice(i + 1)
        opts.onLine?.(line, reply)
        i = pending.indexOf('\n')
      }
    })
    child.stderr.on('data', (d: string) => {
      stderr += d
    })
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, timedOut, stdout, stderr, ms: Date.now() - started })
    })
  })
}

/** The text to put in an assertion message so that a failure shows what the child said. */
export function describeRun(r: ChildRun): string {
  const head = r.timedOut
    ? `child timed out after ${r.ms} ms`
    : `child exited with ${r.code ?? r.signal} after ${r.ms} ms`
  return `${head}\n--- stdout ---\n${r.stdout.slice(-6000)}\n--- stderr ---\n${r.stderr.slice(-6000)}`
}

/** Every `@@tag <json>` line the child printed, in order. */
export function tagged<T = unknown>(r: ChildRun, tag: string): T[] {
  const out: T[] = []
  for (const line of r.stdout.split('\n'))
    if (line.startsWith(`@@${tag} `)) out.push(JSON.parse(line.slice(tag.length + 3)))
  return out
}

/** The child's single RESULT; throws with the child's output when it did not succeed. */
export function resultOf<T>(r: ChildRun): T {
  const results = tagged<T>(r, 'RESULT')
  if (r.code !== 0 || results.length !== 1) throw new Error(`child did not produce a result: ${describeRun(r)}`)
  return results[0] as T
}

/** The requests a node child sent (see NODE_PRELUDE). */
export function wire(r: ChildRun): WireRequest[] {
  return tagged<WireRequest>(r, 'WIRE')
}

/** The error a child reported with `@@ERROR`; throws when it did not report exactly one. */
export function errorOf(r: ChildRun): ChildError {
  const errors = tagged<ChildError>(r, 'ERROR')
  if (errors.length !== 1) throw new Error(`child reported no error: ${describeRun(r)}`)
  return errors[0] as ChildError
}

export interface ChildError {
  name: string
  message: string
  errorCode?: string
  errorMessage?: string
  stack?: string
}

/** One request a node child sent through node:http(s) or fetch, as the WIRE lines record it. */
export interface WireRequest {
  method: string
  url: string
  body: string
}

/**
 * Prepended to every node child script: `out(tag, value)` prints a tagged line, and `run(main)` prints main's value
 * as RESULT or its error as ERROR (exit code 2). Every request sent with node:http(s) is printed as a WIRE line
 * (method, URL, body), and so is every global fetch() (msal-node 7): observations of node's own HTTP
 * entry points, the clients themselves are untouched.
 */
export const NODE_PRELUDE = `
const out = (tag, value) => process.stdout.write('@@' + tag + ' ' + JSON.stringify(value) + '\\n')
{
  const http = await import('node:http')
  const bodies = new WeakMap()
  const P = http.ClientRequest.prototype
  const write = P.write
  const end = P.end
  const keep = (req, chunk) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return
    const list = bodies.get(req) ?? []
    list.push(Buffer.from(chunk))
    bodies.set(req, list)
  }
  P.write = function (chunk, ...rest) {
    keep(this, chunk)
    return write.call(this, chunk, ...rest)
  }
  P.end = function (chunk, ...rest) {
    keep(this, chunk)
    if (!this.__wireDone) {
      this.__wireDone = true
      const host = this.getHeader('host') ?? this.host
      const body = Buffer.concat(bodies.get(this) ?? []).toString('utf8')
      out('WIRE', { method: this.method, url: (this.protocol ?? 'http:') + '//' + host + this.path, body })
    }
    return end.call(this, chunk, ...rest)
  }
  const fetch = globalThis.fetch
  globalThis.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : (input?.url ?? String(input))
    const body = typeof init?.body === 'string' ? init.body : init?.body instanceof URLSearchParams ? init.body.toString() : ''
    out('WIRE', { method: init?.method ?? input?.method ?? 'GET', url, body })
    return fetch.call(this, input, init)
  }
}
let stdinLines
/** The next line the parent sends on stdin. */
async function input() {
  if (!stdinLines) {
    const readline = await import('node:readline')
    stdinLines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  }
  const next = await stdinLines.next()
  return next.done ? '' : next.value
}
async function run(main) {
  try {
    out('RESULT', await main())
  } catch (e) {
    out('ERROR', { name: e?.name, message: String(e?.message ?? e), errorCode: e?.errorCode, errorMessage: e?.errorMessage, stack: e?.stack })
    process.exitCode = 2
  } finally {
    // An open stdin would keep the child alive.
    if (stdinLines) process.stdin.destroy()
  }
}
`

/** A temporary directory for child scripts and key files; `dispose()` removes it. */
export function scratchDir(prefix = 'azid-conf-'): {
  dir: string
  write(name: string, text: string): string
  dispose(): void
} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {
    dir,
    write(name, text) {
      const p = join(dir, name)
      writeFileSync(p, text, { mode: 0o600 })
      return p
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * The file URL of a package as this project resolves it, for `import()` from a script outside the project
 * (a temp dir has no node_modules).
 */
export function moduleUrl(specifier: string): string {
  return import.meta.resolve(specifier)
}

/** Writes `body` (using the prelude's `out`/`run`) as an ES module in `dir` and runs it with node, trusting `caPath`. */
export function runNode(
  scratch: { write(name: string, text: string): string },
  name: string,
  body: string,
  opts: { caPath: string; env?: Record<string, string>; timeoutMs?: number; onLine?: LineHandler; argv?: string[] },
): Promise<ChildRun> {
  const script = scratch.write(`${name}.mjs`, `${NODE_PRELUDE}\n${body}\n`)
  return runChild(process.execPath, [script, ...(opts.argv ?? [])], {
    env: childEnv({ NODE_EXTRA_CA_CERTS: opts.caPath, ...opts.env }),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.onLine ? { onLine: opts.onLine } : {}),
  })
}
