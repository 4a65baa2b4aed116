// Two azid nodes on one PostgreSQL database: tokens, secrets and key rotations made on one node are honoured by the
// other. Runs only with AZID_TEST_PG_DSN (an admin DSN whose role may create databases).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { jwtVerify } from 'jose'
import pg from 'pg'
import { decodeJwt } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { PG_DSN, need } from '../../support/tiers.ts'
import { clientCredentials, jwksBody, localJwks } from './helpers.ts'

const BOOTSTRAP_SECRET = 'multi-node-bootstrap-secret-0123456789'

async function admin<T>(dsn: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: dsn })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

test('two nodes on one PostgreSQL: tokens, secrets and rotated keys cross nodes', { timeout: 60_000 }, async (t) => {
  if (!need(t, PG_DSN ? null : 'AZID_TEST_PG_DSN is not set (PostgreSQL multi-node tier)')) return
  const adminDsn = PG_DSN as string
  const dbName = `azid_mn_${randomBytes(6).toString('hex')}`
  await admin(adminDsn, (c) => c.query(`CREATE DATABASE ${dbName}`))
  const url = new URL(adminDsn)
  url.pathname = `/${dbName}`
  const dsn = url.toString()
  const nodes: TestServer[] = []
  try {
    const cfg = { store: { dsn }, bootstrap: { clientSecret: BOOTSTRAP_SECRET } }
    nodes.push(await startTestServer(cfg))
    nodes.push(await startTestServer(cfg))
    const [n1, n2] = nodes as [TestServer, TestServer]
    assert.equal(n1.clientId, n2.clientId, 'one bootstrap administrator for both nodes')
    assert.equal(n2.clientSecret, BOOTSTRAP_SECRET)
    assert.notEqual(n1.base, n2.base)

    // A token from node 1 verifies with node 2's JWKS.
    const r1 = await clientCredentials(n1, { resource: 'https://management.azure.com/' }, { version: 1 })
    assert.equal(r1.status, 200, r1.text)
    const token1 = r1.json<{ access_token: string }>().access_token
    const opts = {
      algorithms: ['RS256'],
      issuer: `https://sts.windows.net/${n1.tenantId}/`,
      audience: 'https://management.azure.com/',
    }
    await jwtVerify(token1, await localJwks(n2), opts)

    // A secret created through node 1 authenticates at node 2.
    const { application } = await n1.server.directory.createApplication({
      tenantId: n1.tenantId,
      displayName: 'mn app',
    })
    const { secretText } = await n1.server.directory.addPassword({ appId: application.appId })
    const r2 = await clientCredentials(n2, {
      client_id: application.appId,
      client_secret: secretText,
      scope: 'https://storage.azure.com/.default',
    })
    assert.equal(r2.status, 200, r2.text)
    assert.equal(decodeJwt(r2.json<{ access_token: string }>().access_token).claims.appid, application.appId)
    // Node 2 now holds the application's secrets in memory: a second secret added on node 1 works there at once,
    // and a secret removed on node 1 stops working on node 2 within the change notification (5 s at the most).
    const second = await n1.server.directory.addPassword({ appId: application.appId })
    const withSecret = (secret: string) =>
      clientCredentials(n2, {
        client_id: application.appId,
        client_secret: secret,
        scope: 'https://storage.azure.com/.default',
      })
    const r2b = await withSecret(second.secretText)
    assert.equal(r2b.status, 200, r2b.text)
    await n1.server.directory.store.deletePasswordCredential(second.credential.keyId)
    let refused = 0
    for (const until = Date.now() + 5500; Date.now() < until && refused !== 401; )
      refused = (await withSecret(second.secretText)).status
    assert.equal(refused, 401, 'a secret deleted on node 1 is refused on node 2')
    assert.equal((await withSecret(secretText)).status, 200, 'the other secret still works')

    // A key rotated on node 1 is published by node 2 within its key cache (≤ 2 s), and node 2 then signs with it.
    const oldKid = String(decodeJwt(token1).header.kid)
    const { kid: newKid } = await n1.server.keys.rotate()
    assert.notEqual(newKid, oldKid)
    const deadline = Date.now() + 5000
    let published: string[] = []
    while (Date.now() < deadline) {
      published = (await jwksBody(n2)).keys.map((k) => String(k.kid))
      if (published.includes(newKid)) break
      await new Promise((r) => setTimeout(r, 200))
    }
    assert.deepEqual(published.sort(), [oldKid, newKid].sort())
    const r3 = await clientCredentials(n2, { resource: 'https://management.azure.com/' }, { version: 1 })
    const token3 = r3.json<{ access_token: string }>().access_token
    assert.equal(decodeJwt(token3).header.kid, newKid)
    // Both tokens verify against either node's keys.
    for (const n of nodes) {
      const jwks = await localJwks(n)
      await jwtVerify(token1, jwks, opts)
      await jwtVerify(token3, jwks, opts)
    }
  } finally {
    for (const n of nodes) await n.stop()
    await admin(adminDsn, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`))
  }
})
