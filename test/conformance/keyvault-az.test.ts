// A known client defect, recorded: Debian's az 2.45 cannot run any `az keyvault` command — its keyvault module
// imports `azure.keyvault.v7_0`, which Debian's python3-azure does not ship (clients.md §6.2). The command fails
// while loading, before any login check or request, so azid cannot make it work; Key Vault is proven with the
// JS and Python SDKs and curl instead (keyvault-js, keyvault-python, keyvault-curl). If a Debian update fixes the
// package this test fails, and az keyvault tests should be written in its place.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { describeRun } from '../support/child.ts'
import { needAz, runAzInNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

let s: TestServer | undefined
let configDir = ''

before(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'azid-kv-az-'))
})
after(async () => {
  await s?.stop()
  rmSync(configDir, { recursive: true, force: true })
})

test('az 2.45 (Debian) `az keyvault secret show` fails loading its own module (known defect, not azid)', async (t) => {
  if (!needAz(t)) return
  s = await startTestServer()
  const r = await runAzInNamespace(
    s,
    ['keyvault', 'secret', 'show', '--vault-name', 'mytestkeyvault', '--name', 'MyTestSecret'],
    {
      configDir,
      timeoutMs: 60_000,
    },
  )
  assert.equal(r.code, 1, describeRun(r))
  assert.match(r.stderr, /No module named 'azure\.keyvault\.v7_0'/, describeRun(r))
})
