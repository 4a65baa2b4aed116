// `azid start` as a user runs it (issue 2 §13): `node bin/azid.js start` — the compiled bundle, its signing worker
// threads and its data files — on a fresh data directory, then again on the same one; tokens from both, graceful
// stops on SIGINT and SIGTERM.
import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { childEnv } from '../support/child.ts'
import { httpsRequest } from '../support/https.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')
const dataDir = mkdtempSync(join(tmpdir(), 'azid-start-'))
after(() => rmSync(dataDir, { recursive: true, force: true }))

interface Started {
  child: ChildProcessWithoutNullStreams
  out: () => string
  /** The endpoint block azid printed, by label. */
  field: (label: string) => string
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts `azid start` and resolves once it has printed its endpoints (and, on a first start, the credentials). */
async function start(): Promise<Started> {
  const child = spawn(process.execPath, [join('bin', 'azid.js'), 'start', '--data', dataDir, '--port', '0'], {
    cwd: ROOT,
    env: childEnv({}),
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  )
  const deadline = Date.now() + 60_000
  while (!/\n {2}(bootstrap SP|client secret)[^\n]*\n/.test(out)) {
    if (child.exitCode !== null) throw new Error(`azid start exited ${child.exitCode}:\n${out}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`azid start printed no endpoints within 60 s:\n${out}`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  const field = (label: string) => {
    const m = new RegExp(`^ {2}${label} +(\\S+)`, 'm').exec(out)
    assert.ok(m, `no '${label}' line in:\n${out}`)
    return m[1] as string
  }
  return { child, out: () => out, field, exit }
}

/** A client-credentials token for ARM from the authority azid printed, verified against its published JWKS. */
async function armToken(s: Started, clientId: string, secret: string) {
  const authority = s.field('authority')
  const ca = readFileSync(s.field('CA certificate'), 'utf8')
  const r = await httpsRequest(`${authority}/oauth2/v2.0/token`, {
    ca,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
      scope: 'https://management.azure.com/.default',
    }).toString(),
  })
  assert.equal(r.status, 200, r.text)
  const jwks = await httpsRequest(`${authority}/discovery/v2.0/keys`, { ca })
  const { payload } = await jwtVerify(
    r.json<{ access_token: string }>().access_token,
    createLocalJWKSet(jwks.json() as never),
    { audience: 'https://management.azure.com', issuer: `https://sts.windows.net/${s.field('tenant')}/` },
  )
  return payload
}

test('azid start: first start prints endpoints and the bootstrap credentials once; tokens are signed; SIGINT stops it', async () => {
  const first = await start()
  const clientId = first.field('client id')
  const secret = first.field('client secret')
  assert.match(first.out(), /^azid \S+ ready in \d+ ms \(store: .*azid\.db\)$/m)
  const claims = await armToken(first, clientId, secret)
  assert.equal(claims.appid, clientId)
  first.child.kill('SIGINT')
  assert.deepEqual(await first.exit, { code: 0, signal: null })
  assert.match(first.out(), /SIGINT received, finishing in-flight requests/)

  // Same data directory: the credentials are not printed again, they are in bootstrap.json, and they still work.
  const again = await start()
  assert.doesNotMatch(again.out(), /client secret/)
  assert.equal(again.field('bootstrap SP'), clientId)
  const boot = JSON.parse(readFileSync(join(dataDir, 'bootstrap.json'), 'utf8')) as { clientSecret: string }
  assert.equal(boot.clientSecret, secret)
  assert.equal((await armToken(again, clientId, secret)).appid, clientId)
  again.child.kill('SIGTERM')
  assert.deepEqual(await again.exit, { code: 0, signal: null })
  assert.match(again.out(), /SIGTERM received/)
})
