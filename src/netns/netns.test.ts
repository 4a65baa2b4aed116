import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before, beforeEach, describe, test } from 'node:test'
import { type NamespaceSpec, namespaceSupport, runInNamespace, TEMP_PREFIX } from './index.ts'

const support = namespaceSupport()
if (!support.available) console.log(`# netns tests skipped: ${support.reason}`)

const PYTHON = '/usr/bin/python3'
const pythonReason = (): string | undefined => {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`
  const r = spawnSync(PYTHON, ['-c', 'import requests'], { stdio: 'ignore' })
  return r.status === 0 ? undefined : `${PYTHON} has no requests module`
}

type Seen = { sock: string; host: string | undefined; url: string | undefined }

describe('namespace mode', { skip: support.available ? false : support.reason }, () => {
  let dir = ''
  let caPem = ''
  const seen: Seen[] = []
  const servers: { close(cb?: () => void): unknown }[] = []
  let mountsBefore = ''
  const baseEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', LANG: 'C' }

  const handler = (sock: string) => (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ sock, host: req.headers.host, url: req.url })
    res.end(`${sock} ${req.headers.host} ${req.url}`)
  }

  const spec = (command: string, args: string[], extra: Partial<NamespaceSpec> = {}): NamespaceSpec => ({
    command,
    args,
    env: baseEnv,
    forwards: [
      { address: '127.0.0.1', port: 443, socket: join(dir, 'https.sock') },
      { address: '169.254.169.254', port: 80, socket: join(dir, 'imds.sock') },
    ],
    addresses: ['169.254.169.254'],
    names: ['login.microsoftonline.com', 'management.azure.com', '*.blob.core.windows.net', '*.vault.azure.net'],
    caBundlePem: caPem,
    stdio: 'pipe',
    ...extra,
  })

  /** Runs to completion, collecting output. */
  async function run(s: NamespaceSpec) {
    const { child, exited } = runInNamespace(s)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d
    })
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d
    })
    const r = await exited
    return { ...r, stdout, stderr }
  }

  const tempDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith(TEMP_PREFIX))

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'azid-nstest-'))
    const o = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
    o(
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1'],
      ...['-subj', '/CN=azid netns test CA', '-addext', 'basicConstraints=critical,CA:TRUE'],
      ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    )
    writeFileSync(
      join(dir, 'ext.cnf'),
      'subjectAltName=DNS:login.microsoftonline.com,DNS:management.azure.com,DNS:*.blob.core.windows.net,IP:127.0.0.1\n' +
        'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
    )
    o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=azid')
    o(
      ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-out', 'server.pem', '-days', '1', '-extfile', 'ext.cnf'],
    )
    caPem = readFileSync(join(dir, 'ca.pem'), 'utf8')
    const https = createHttpsServer(
      { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')) },
      handler('https'),
    )
    const http = createHttpServer(handler('imds'))
    await new Promise<void>((r) => https.listen(join(dir, 'https.sock'), r))
    await new Promise<void>((r) => http.listen(join(dir, 'imds.sock'), r))
    servers.push(https, http)
  })

  after(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()))
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  beforeEach(() => {
    seen.length = 0
    mountsBefore = readFileSync('/proc/self/mountinfo', 'utf8')
  })

  afterEach(() => {
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8'), mountsBefore, 'mounts leaked into the root namespace')
    assert.deepEqual(tempDirs(), [], 'temp dirs left behind')
  })

  test('curl trusts the CA through the bind-mounted system bundle alone', async () => {
    const r = await run(
      spec('env', [
        '-u',
        'SSL_CERT_FILE',
        '-u',
        'CURL_CA_BUNDLE',
        'curl',
        '-sS',
        'https://login.microsoftonline.com/x',
      ]),
    )
    assert.equal(r.stderr, '')
    assert.equal(r.code, 0)
    assert.equal(r.stdout, 'https login.microsoftonline.com /x')
    assert.deepEqual(seen, [{ sock: 'https', host: 'login.microsoftonline.com', url: '/x' }])
  })

  test('node fetch to a wildcard name (NODE_EXTRA_CA_CERTS)', async () => {
    const js = "fetch('https://acct123.blob.core.windows.net/').then(r => r.text()).then(t => process.stdout.write(t))"
    const r = await run(spec(process.execPath, ['-e', js]))
    assert.equal(r.stderr, '')
    assert.equal(r.stdout, 'https acct123.blob.core.windows.net /')
  })

  test('python requests (REQUESTS_CA_BUNDLE)', { skip: pythonReason() ?? false }, async () => {
    const py = "import requests, sys; sys.stdout.write(requests.get('https://acct123.blob.core.windows.net/py').text)"
    const r = await run(spec(PYTHON, ['-c', py]))
    assert.equal(r.stderr, '')
    assert.equal(r.stdout, 'https acct123.blob.core.windows.net /py')
  })

  test('IMDS address reaches its own socket', async () => {
    const url = 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x'
    const r = await run(spec('curl', ['-sS', '-H', 'Metadata:true', url]))
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `imds 169.254.169.254 ${url.slice('http://169.254.169.254'.length)}`)
    assert.deepEqual(
      seen.map((s) => s.sock),
      ['imds'],
    )
  })

  test('unknown names do not resolve; wildcard names added later do', async () => {
    const script = [
      'getent hosts example.com; echo "getent=$?"',
      'curl -sS -m 5 https://unknown.example.org/ 2>/dev/null; echo "curl=$?"',
      'getent ahostsv4 fresh-vault.vault.azure.net | head -n 1',
    ].join('\n')
    const r = await run(spec('sh', ['-c', script]))
    const lines = r.stdout.trim().split('\n')
    assert.equal(lines[0], 'getent=2')
    assert.equal(lines[1], 'curl=6') // CURLE_COULDNT_RESOLVE_HOST
    assert.match(lines[2] ?? '', /^127\.0\.0\.1\s/)
  })

  test('DNS server: A, NODATA for AAAA, NXDOMAIN, TCP', async () => {
    const js = `
      const dns = require('node:dns').promises, net = require('node:net')
      const code = (p) => p.then((v) => v, (e) => e.code)
      const tcp = () => new Promise((resolve, reject) => {
        const names = ['x', 'blob', 'core', 'windows', 'net']
        const parts = [Buffer.from('123401000001000000000000', 'hex')]
        for (const n of names) parts.push(Buffer.from([n.length]), Buffer.from(n))
        parts.push(Buffer.from('0000010001', 'hex'))
        const msg = Buffer.concat(parts), len = Buffer.alloc(2); len.writeUInt16BE(msg.length)
        const s = net.connect(53, '127.0.0.1', () => s.write(Buffer.concat([len, msg])))
        s.on('data', (d) => { s.destroy(); resolve([...d.subarray(-4)].join('.') + ' rcode=' + (d[5] & 15)) })
        s.on('error', reject)
      })
      ;(async () => {
        const out = {
          a: await dns.resolve4('AcCt9.Blob.Core.Windows.Net'),
          aaaa: await code(dns.resolve6('acct9.blob.core.windows.net')),
          exact: await dns.resolve4('management.azure.com'),
          bare: await code(dns.resolve4('blob.core.windows.net')),
          other: await code(dns.resolve4('example.com')),
          tcp: await tcp(),
        }
        process.stdout.write(JSON.stringify(out))
      })()`
    const r = await run(spec(process.execPath, ['-e', js]))
    assert.equal(r.stderr, '')
    assert.deepEqual(JSON.parse(r.stdout), {
      a: ['127.0.0.1'],
      aaaa: 'ENODATA',
      exact: ['127.0.0.1'],
      bare: 'ENOTFOUND',
      other: 'ENOTFOUND',
      tcp: '127.0.0.1 rcode=0',
    })
  })

  test('exit status is passed through', async () => {
    assert.equal((await run(spec('sh', ['-c', 'exit 7']))).code, 7)
    assert.equal((await run(spec('sh', ['-c', 'kill -KILL $$']))).code, 128 + 9)
    const missing = await run(spec('/nonexistent/azid-cmd', []))
    assert.equal(missing.code, 127)
    assert.match(missing.stderr, /cannot run/)
  })

  test('SIGTERM to the child ends the command promptly', async () => {
    const { child, exited } = runInNamespace(spec('sh', ['-c', 'echo ready; exec sleep 30']))
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()))
    const t0 = Date.now()
    child.kill('SIGTERM')
    const r = await exited
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`)
    assert.equal(r.code, 128 + 15)
  })

  test('background processes die with the namespace', async () => {
    const r = await run(spec('sh', ['-c', 'sleep 60 >/dev/null 2>&1 & echo $!']))
    const pid = Number(r.stdout.trim())
    assert.ok(pid > 0)
    const gone = () => {
      try {
        return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
      } catch {
        return true
      }
    }
    for (let i = 0; i < 50 && !gone(); i++) await new Promise((res) => setTimeout(res, 20))
    assert.ok(gone(), `pid ${pid} still running`)
  })

  test('two namespaces at once have separate port spaces', async () => {
    const curl = () => run(spec('curl', ['-sS', 'https://management.azure.com/sub']))
    const [a, b] = await Promise.all([curl(), curl()])
    assert.equal(a.stdout, 'https management.azure.com /sub')
    assert.equal(b.stdout, 'https management.azure.com /sub')
  })

  test('rejects invalid specs before creating anything', () => {
    assert.throws(() => runInNamespace(spec('true', [], { names: ['bad name'] })), TypeError)
    assert.throws(
      () => runInNamespace(spec('true', [], { forwards: [{ address: '127.0.0.1', port: 53, socket: '/x' }] })),
      TypeError,
    )
  })
})
