// The programmatic API as a test suite uses it (issue 6 item 4): `import { startAzid } from 'azid'` through the
// package's own exports, a world applied at start, `env(host)` given to the real @azure/identity
// ManagedIdentityCredential, faults, logs, token(), reset() and stop().
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { test } from 'node:test'
import { ManagedIdentityCredential } from '@azure/identity'
import { type Azid, AzidConfigError, startAzid } from 'azid'

/** Runs `fn` with `env` in process.env (what a process on the host sees), then puts process.env back. */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env }
  Object.assign(process.env, env)
  try {
    return await fn()
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString())

test('startAzid: a VM with identities, tokens through @azure/identity, faults, logs, reset, stop', async () => {
  const azid: Azid = await startAzid({
    world: {
      resourceGroups: [{ name: 'rg', location: 'westeurope' }],
      identities: [{ name: 'app-id', resourceGroup: 'rg' }],
      hosts: [{ name: 'vm1', type: 'vm', resourceGroup: 'rg', systemAssigned: true, userAssigned: ['app-id'] }],
    },
  })
  try {
    assert.ok(existsSync(azid.dataDir))
    assert.match(azid.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    const world = await azid.export()
    const uami = world.identities?.[0] as { clientId: string; principalId: string }
    const sys = world.hosts?.[0]?.systemAssigned as { principalId: string }

    // The user's three lines: env(host) into the process, the real credential, a token.
    const env = await azid.env('vm1')
    assert.equal(env.AZURE_TENANT_ID, azid.endpoints.tenantId)
    const token = await withEnv(env, () =>
      new ManagedIdentityCredential().getToken('https://management.azure.com/.default'),
    )
    assert.equal(claims(token.token).oid, sys.principalId)
    const userToken = await withEnv(env, () =>
      new ManagedIdentityCredential({ clientId: uami.clientId }).getToken('https://vault.azure.net/.default'),
    )
    assert.equal(claims(userToken.token).oid, uami.principalId)
    assert.equal(claims(userToken.token).aud, 'https://vault.azure.net')

    // token(): the same endpoint without a client.
    const t = await azid.token('vm1', 'https://storage.azure.com/', { clientId: uami.clientId })
    assert.equal(claims(t.access_token).oid, uami.principalId)

    // Faults: the next request fails as IMDS would.
    const rule = await azid.faults.add({ effect: 503, match: { host: 'vm1' }, count: 1 })
    assert.equal((await azid.faults.list()).length, 1)
    await assert.rejects(azid.token('vm1', 'https://management.azure.com/'), /503/)
    assert.equal((await azid.faults.list())[0]?.id, rule.id)
    assert.equal(await azid.faults.clear(), 1)

    // Logs: the tokens issued through the endpoint, by principal.
    const logs = await azid.logs({ kind: 'token', principalId: uami.principalId })
    assert.ok(logs.some((e) => e.result === 'success' && e.audience === 'https://vault.azure.net'))

    // apply() refuses a bad world with the path named; reset() empties the world.
    await assert.rejects(
      azid.apply({ roleAssignments: [{ assignee: 'identity:app-id', role: 'Readr', resourceGroup: 'rg' }] }),
      (e: unknown) =>
        e instanceof AzidConfigError &&
        e.issues[0]?.path.join('.') === 'roleAssignments.0.role' &&
        /unknown role 'Readr'/.test(e.message),
    )
    const r = await azid.apply({ roleAssignments: [{ assignee: 'host:vm1', role: 'Reader', resourceGroup: 'rg' }] })
    assert.equal(r.summary.created, 1)
    await azid.reset()
    assert.deepEqual(await azid.export(), { version: 1 })
    await assert.rejects(azid.env('vm1'), /no host named 'vm1'/)
  } finally {
    await azid.stop()
  }
  assert.equal(existsSync(azid.dataDir), false, 'the temporary data directory is removed at stop')
})

test('startAzid on SQLite, two instances side by side', async () => {
  const [a, b] = await Promise.all([startAzid({ store: 'sqlite' }), startAzid()])
  try {
    assert.notEqual(a.url, b.url)
    assert.ok(existsSync(`${a.dataDir}/azid.db`))
    await a.apply({ resourceGroups: [{ name: 'only-in-a', location: 'westeurope' }] })
    assert.deepEqual((await b.export()).resourceGroups, undefined)
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
})
