import { spawnSync } from 'node:child_process'

export type NamespaceMode = 'root' | 'user' | 'none'

export interface NamespaceSupport {
  available: boolean
  mode: NamespaceMode
  reason?: string
}

/** The flags `unshare` needs in each mode. */
export const UNSHARE_FLAGS: Record<'root' | 'user', readonly string[]> = {
  root: ['--net', '--mount'],
  user: ['--user', '--map-root-user', '--net', '--mount'],
}

/** PATH for the helper tools: sbin directories are often missing from a normal user's PATH. */
export const toolPath = (): string =>
  [process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin', '/usr/local/sbin', '/usr/sbin', '/sbin'].join(':')

/** What the namespace needs before the forwarder runs: private mounts, a bind mount, lo up. */
const TRIAL = 'mount --make-rprivate / && mount --bind /etc/hosts /etc/hosts && ip link set lo up'

function trial(mode: 'root' | 'user'): string | undefined {
  const r = spawnSync('unshare', [...UNSHARE_FLAGS[mode], '--', 'sh', '-c', TRIAL], {
    env: { PATH: toolPath() },
    encoding: 'utf8',
    timeout: 5000,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  if (r.error) return (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'unshare not found' : r.error.message
  if (r.status === 0) return undefined
  const err = (r.stderr ?? '').trim().split('\n').slice(-2).join('; ')
  return err || `exit status ${r.status ?? r.signal}`
}

let cached: NamespaceSupport | undefined

/**
 * Whether commands can be run in a private network + mount namespace, and how: as root with plain
 * `unshare --net --mount`, or as any user through an unprivileged user namespace. Detected once with a
 * quick trial run (a few milliseconds) and cached.
 */
export function namespaceSupport(opts: { refresh?: boolean } = {}): NamespaceSupport {
  if (cached && !opts.refresh) return cached
  cached = detect()
  return cached
}

function detect(): NamespaceSupport {
  if (process.platform !== 'linux') return { available: false, mode: 'none', reason: 'namespaces need Linux' }
  const reasons: string[] = []
  if (process.getuid?.() === 0) {
    const rootErr = trial('root')
    if (rootErr === undefined) return { available: true, mode: 'root' }
    reasons.push(`as root: ${rootErr}`)
    if (rootErr === 'unshare not found')
      return { available: false, mode: 'none', reason: 'unshare (util-linux) is not installed' }
  }
  const userErr = trial('user')
  if (userErr === undefined) return { available: true, mode: 'user' }
  reasons.push(`user namespace: ${userErr}`)
  if (userErr === 'unshare not found')
    return { available: false, mode: 'none', reason: 'unshare (util-linux) is not installed' }
  return {
    available: false,
    mode: 'none',
    reason:
      `cannot create a network namespace (${reasons.join('; ')}). Run as root, or allow unprivileged user ` +
      'namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, ' +
      'kernel.apparmor_restrict_unprivileged_userns=0); in a container, grant CAP_SYS_ADMIN or a seccomp ' +
      'profile that allows unshare. Also needs `ip` (iproute2) and `mount`.',
  }
}
