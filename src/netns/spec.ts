import { isIP } from 'node:net'

/** A TCP listener inside the namespace whose connections are piped to a Unix socket outside. */
export interface Forward {
  address: string
  port: number
  socket: string
}

export interface NamespaceSpec {
  command: string
  args: readonly string[]
  /** The command's complete environment (it does not inherit azid's); CA variables are added to it. */
  env: Readonly<Record<string, string>>
  cwd?: string
  /** E.g. 127.0.0.1:443 → https.sock, 169.254.169.254:80 → imds-<id>.sock. */
  forwards: readonly Forward[]
  /** Extra addresses to put on lo, e.g. 169.254.169.254. Non-loopback forward addresses are added too. */
  addresses: readonly string[]
  /** Hostnames resolving to 127.0.0.1 inside; `*.suffix` wildcards match one or more labels. */
  names: readonly string[]
  /**
   * Extra CA certificates (PEM) to trust inside: system bundle + these are bind-mounted over
   * /etc/ssl/certs/ca-certificates.crt, and NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, SSL_CERT_FILE point at them.
   */
  caBundlePem?: string
  /** Default 'inherit'. */
  stdio?: 'inherit' | 'pipe'
}

export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'

/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107
const NAME_RE = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?$/i

const isLoopbackOrAny = (a: string): boolean => a.startsWith('127.') || a === '0.0.0.0' || a === '::' || a === '::1'

/** Throws a TypeError naming the first problem in the spec. */
export function validateSpec(spec: NamespaceSpec): void {
  if (!spec.command) throw new TypeError('netns: command is empty')
  const seen = new Set<string>()
  for (const f of spec.forwards) {
    if (!isIP(f.address)) throw new TypeError(`netns: forward address is not an IP address: ${f.address}`)
    if (!Number.isInteger(f.port) || f.port < 1 || f.port > 65535)
      throw new TypeError(`netns: bad forward port: ${f.port}`)
    if (f.port === 53 && (f.address === '127.0.0.1' || f.address === '0.0.0.0'))
      throw new TypeError('netns: 127.0.0.1:53 is taken by the namespace DNS server')
    const key = `${f.address}:${f.port}`
    if (seen.has(key)) throw new TypeError(`netns: duplicate forward ${key}`)
    seen.add(key)
    if (!f.socket) throw new TypeError(`netns: forward ${key} has no socket path`)
    if (Buffer.byteLength(f.socket) > MAX_SOCKET_PATH)
      throw new TypeError(`netns: socket path longer than ${MAX_SOCKET_PATH} bytes: ${f.socket}`)
  }
  for (const a of spec.addresses) if (!isIP(a)) throw new TypeError(`netns: not an IP address: ${a}`)
  for (const n of spec.names) if (!NAME_RE.test(n)) throw new TypeError(`netns: not a host name or wildcard: ${n}`)
}

/** Addresses to add to lo: the requested ones plus non-loopback forward addresses, without 127/8 (lo has it). */
export function addressesToAdd(spec: NamespaceSpec): string[] {
  const all = [...spec.addresses, ...spec.forwards.map((f) => f.address)]
  return [...new Set(all.filter((a) => !isLoopbackOrAny(a)))]
}

/** The namespace's /etc/hosts: localhost, the host's own name, and the exact (non-wildcard) names. */
export function hostsFile(opts: { names: readonly string[]; hostname?: string }): string {
  const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback']
  if (opts.hostname && NAME_RE.test(opts.hostname) && opts.hostname !== 'localhost')
    lines.push(`127.0.0.1 ${opts.hostname}`)
  const exact = [...new Set(opts.names.filter((n) => !n.startsWith('*.')).map((n) => n.toLowerCase()))]
  for (const n of exact) lines.push(`127.0.0.1 ${n}`)
  return `${lines.join('\n')}\n`
}

export const resolvConf = (): string => 'nameserver 127.0.0.1\noptions ndots:1 timeout:1 attempts:2\n'

/** The host's nsswitch.conf with `hosts:` forced to files + dns (no nscd, systemd-resolved, mdns reaching out). */
export function nsswitchConf(original: string): string {
  const lines = original.split('\n').filter((l) => !/^\s*hosts\s*:/.test(l))
  while (lines.length && lines[lines.length - 1] === '') lines.pop()
  lines.push('hosts: files dns')
  return `${lines.join('\n')}\n`
}

/** POSIX shell single-quoting. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
