import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  addressesToAdd,
  hostsFile,
  type NamespaceSpec,
  nsswitchConf,
  resolvConf,
  SYSTEM_CA_BUNDLE,
  shellQuote,
  validateSpec,
} from './spec.ts'
import { namespaceSupport, toolPath, UNSHARE_FLAGS } from './support.ts'

export interface NamespaceRun {
  /** The namespace's first process (unshare → sh → the forwarder, by exec); signal it to signal the command. */
  child: ChildProcess
  /**
   * Settles once the namespace is gone and its temp files are removed. `code` is the command's exit code,
   * 128 + n when it was killed by signal n, 125 when the forwarder failed, 127 when the command was not found.
   */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Prefix of the temp directories (hosts, resolv.conf, CA bundle, forwarder config); removed after each run. */
export const TEMP_PREFIX = 'azid-netns-'

const NSCD_DIRS = ['/run/nscd', '/var/run/nscd']

/**
 * Runs `spec.command` in a new network + mount namespace where `spec.names` resolve to 127.0.0.1, the
 * forwards' ports pipe to Unix sockets outside, and `spec.caBundlePem` is trusted. Nothing persists after it
 * ends: no named namespace, no files under /etc, no mounts in the caller's namespace. Throws when
 * namespaces are not available (see namespaceSupport) or the spec is invalid.
 */
export function runInNamespace(spec: NamespaceSpec): NamespaceRun {
  validateSpec(spec)
  const support = namespaceSupport()
  if (!support.available || support.mode === 'none')
    throw new Error(`namespace mode is not available: ${support.reason ?? 'unknown reason'}`)

  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX))
  let child: ChildProcess
  try {
    const script = prepare(spec, dir)
    child = spawn('unshare', [...UNSHARE_FLAGS[support.mode], '--', 'sh', '-c', script, 'azid-netns'], {
      env: { PATH: toolPath() },
      stdio: spec.stdio ?? 'inherit',
      // Without a terminal, keep the namespace out of azid's process group: it gets signals only through
      // `child`, never twice from a group-wide one (e.g. Ctrl-C to azid).
      detached: spec.stdio === 'pipe',
    })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    let result: { code: number | null; signal: NodeJS.Signals | null } | undefined
    let settled = false
    const cleanup = () => rmSync(dir, { recursive: true, force: true })
    const settle = () => {
      if (settled || !result) return
      settled = true
      resolve(result)
    }
    child.once('error', (err) => {
      if (child.pid !== undefined || settled) return // only a failed spawn ends the run here
      settled = true
      cleanup()
      reject(err)
    })
    child.once('exit', (code, signal) => {
      result = { code, signal }
      cleanup()
      // 'close' follows once stdio is drained; don't hang if something else still holds the pipes.
      const timer = setTimeout(settle, 2000)
      child.once('close', () => {
        clearTimeout(timer)
        settle()
      })
    })
  })
  return { child, exited }
}

/** Writes the namespace's files into `dir` and returns the setup script that ends by exec'ing the forwarder. */
function prepare(spec: NamespaceSpec, dir: string): string {
  const env: Record<string, string> = { ...spec.env }
  const lines = ['set -e', 'mount --make-rprivate /']
  const bind = (file: string, content: string, target: string) => {
    const path = join(dir, file)
    writeFileSync(path, content, { mode: 0o644 })
    if (existsSync(target)) lines.push(`mount --bind ${shellQuote(path)} ${shellQuote(target)}`)
    return path
  }

  bind('hosts', hostsFile({ names: spec.names, hostname: hostname() }), '/etc/hosts')
  bind('resolv.conf', resolvConf(), '/etc/resolv.conf') // if absent, glibc already defaults to 127.0.0.1
  if (existsSync('/etc/nsswitch.conf'))
    bind('nsswitch.conf', nsswitchConf(readFileSync('/etc/nsswitch.conf', 'utf8')), '/etc/nsswitch.conf')
  for (const d of NSCD_DIRS) if (existsSync(d)) lines.push(`mount -t tmpfs -o size=16k azid-nscd ${shellQuote(d)}`)

  if (spec.caBundlePem) {
    const system = existsSync(SYSTEM_CA_BUNDLE) ? readFileSync(SYSTEM_CA_BUNDLE, 'utf8') : ''
    const extra = spec.caBundlePem.endsWith('\n') ? spec.caBundlePem : `${spec.caBundlePem}\n`
    const sep = system === '' || system.endsWith('\n') ? '' : '\n'
    const path = bind('ca-certificates.crt', system + sep + extra, SYSTEM_CA_BUNDLE)
    env['NODE_EXTRA_CA_CERTS'] = path
    env['REQUESTS_CA_BUNDLE'] = path
    env['SSL_CERT_FILE'] = path
  }

  lines.push('ip link set lo up')
  for (const a of addressesToAdd(spec))
    lines.push(a.includes(':') ? `ip -6 addr add ${a}/128 dev lo` : `ip addr add ${a}/32 dev lo`)

  const config = {
    command: spec.command,
    args: spec.args,
    env,
    cwd: spec.cwd,
    forwards: spec.forwards.map((f) => ({ address: f.address, port: f.port, socket: f.socket })),
    names: spec.names,
    outerNetns: readlinkSync('/proc/self/ns/net'),
    parentPid: process.pid,
    tempDir: dir,
  }
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 })
  const forwarder = fileURLToPath(new URL('./forwarder.mjs', import.meta.url))
  lines.push(`exec ${shellQuote(process.execPath)} ${shellQuote(forwarder)} ${shellQuote(configPath)}`)
  return lines.join('\n')
}
