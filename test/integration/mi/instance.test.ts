// IMDS instance metadata from the host's ARM resource: the document, path filtering, format=text, versions and
// the errors (IMDS-014, docs/wire/mi-endpoints.md §2).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { V } from '../arm/helpers.ts'
import { type Ctx, MD, type Res, http, imdsBase, putVm, setup } from './helpers.ts'

let c: Ctx
let vmPath: string
let vmId: string
let base: string
before(async () => {
  c = await setup({}, ['inst-rg'])
  const v = await putVm(
    c,
    'inst-vm',
    { sa: true },
    { rg: 'inst-rg', tags: { Department: 'IT', TestStatus: 'Pending' }, location: 'eastus' },
  )
  vmPath = v.path
  vmId = v.properties.vmId
  base = await imdsBase(c.s, vmPath)
})
after(() => c.s.stop())

const get = (path: string, headers: Record<string, string> = MD) => http(`${base}${path}`, { headers })
const NEWEST = ['2025-04-07', '2024-07-17', '2024-03-15']
const BAD_VERSION = {
  error:
    'Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds',
  'newest-versions': NEWEST,
}

function json(r: Res, status = 200) {
  assert.equal(r.status, status, r.text)
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  return r.json<Record<string, unknown>>()
}

/** Every primitive in the document is a string ("all primitives will be of type string"). */
function allStrings(v: unknown, path = '$'): void {
  if (Array.isArray(v)) for (const [i, x] of v.entries()) allStrings(x, `${path}[${i}]`)
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) allStrings(x, `${path}.${k}`)
  else assert.equal(typeof v, 'string', `${path} is a string`)
}

test('§2.1: /metadata/instance?api-version=2021-02-01 describes the VM from ARM: ids, name, location, tags and tagsList', async () => {
  const doc = json(await get('/metadata/instance?api-version=2021-02-01'))
  assert.deepEqual(Object.keys(doc), ['compute', 'network'])
  const compute = doc.compute as Record<string, unknown>
  allStrings(doc)
  // Real compute keys come in alphabetical order.
  const keys = Object.keys(compute)
  assert.deepEqual(keys, [...keys].sort())
  assert.equal(compute.resourceId, vmPath)
  assert.equal(compute.name, 'inst-vm')
  assert.equal(compute.location, 'eastus')
  assert.equal(compute.vmId, vmId)
  assert.equal(compute.subscriptionId, c.sub)
  assert.equal(compute.resourceGroupName, 'inst-rg')
  assert.equal(compute.provider, 'Microsoft.Compute')
  assert.equal(compute.vmSize, 'Standard_D2s_v3')
  assert.equal(compute.azEnvironment, 'AzurePublicCloud')
  assert.equal(compute.tags, 'Department:IT;TestStatus:Pending')
  assert.deepEqual(compute.tagsList, [
    { name: 'Department', value: 'IT' },
    { name: 'TestStatus', value: 'Pending' },
  ])
  assert.equal(compute.customData, '')
  const nic = (doc.network as { interface: { macAddress: string }[] }).interface[0]
  assert.match(String(nic?.macAddress), /^[0-9A-F]{12}$/)
  // Tags changed at ARM show at once.
  const patched = await c.admin.patch(vmPath, V.compute, { tags: { Department: 'Ops' } })
  assert.equal(patched.status, 200, patched.text)
  const again = json(await get('/metadata/instance/compute?api-version=2021-02-01'))
  assert.equal(again.tags, 'Department:Ops')
  assert.deepEqual(again.tagsList, [{ name: 'Department', value: 'Ops' }])
  assert.equal(again.vmId, vmId)
})

test('§2.2: leaves with format=text are plain text; a leaf without it → 400; subtrees and arrays as JSON', async () => {
  const loc = await get('/metadata/instance/compute/location?api-version=2021-02-01&format=text')
  assert.equal(loc.status, 200)
  assert.equal(loc.text, 'eastus')
  assert.equal(loc.headers['content-type'], 'text/plain; charset=utf-8')
  const id = await get('/metadata/instance/compute/vmId?api-version=2021-02-01&format=text')
  assert.equal(id.text, vmId)
  const fd = await get('/metadata/instance/compute/platformFaultDomain?api-version=2019-03-11&format=text')
  assert.equal(fd.text, '0')
  const leaf = await get('/metadata/instance/compute/location?api-version=2021-02-01')
  assert.deepEqual(json(leaf, 400), { error: 'Bad request. Leaf values need format=text' })
  const leafJson = await get('/metadata/instance/compute/location?api-version=2021-02-01&format=json')
  assert.equal(leafJson.status, 400)
  const list = await get('/metadata/instance/compute/tagsList?api-version=2021-02-01')
  assert.equal(list.status, 200)
  assert.deepEqual(list.json(), [{ name: 'Department', value: 'Ops' }])
  const nic = await get('/metadata/instance/network/interface/0?api-version=2021-02-01')
  assert.deepEqual(Object.keys(json(nic)), ['ipv4', 'ipv6', 'macAddress'])
  const text = await get('/metadata/instance/compute?api-version=2021-02-01&format=text')
  assert.equal(text.status, 400)
  const missing = await get('/metadata/instance/compute/nothing?api-version=2021-02-01')
  assert.deepEqual(json(missing, 404), { error: 'Not found' })
  const beyond = await get('/metadata/instance/network/interface/7?api-version=2021-02-01')
  assert.deepEqual(json(beyond, 404), { error: 'Not found' })
})

test('§2.2: api-version missing or unknown → 400 with newest-versions; /metadata/versions lists them all', async () => {
  for (const path of [
    '/metadata/instance',
    '/metadata/instance?api-version=2099-01-01',
    '/metadata/instance/compute/location?format=text',
    '/metadata/instance/compute?format=json',
  ]) {
    const r = await get(path)
    assert.deepEqual(json(r, 400), BAD_VERSION, path)
    assert.equal(
      r.text,
      '{"error":"Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds","newest-versions":["2025-04-07","2024-07-17","2024-03-15"]}',
    )
  }
  const versions = json(await get('/metadata/versions'))
  const list = versions.apiVersions as string[]
  assert.deepEqual(Object.keys(versions), ['apiVersions'])
  assert.equal(list.length, 35)
  assert.equal(list[0], '2017-03-01')
  assert.equal(list.at(-1), '2025-04-07')
  assert.deepEqual(list, [...list].sort())
  for (const v of ['2018-02-01', '2019-08-15', '2021-02-01', '2021-12-13', '2023-07-01']) assert.ok(list.includes(v), v)
  // Every listed version is accepted by the instance endpoint.
  for (const v of list)
    assert.equal((await get(`/metadata/instance/compute/name?api-version=${v}&format=text`)).text, 'inst-vm', v)
})

test('§2 rules: Metadata required, X-Forwarded-For refused, GET only', async () => {
  const missing = await get('/metadata/instance?api-version=2021-02-01', {})
  assert.deepEqual(json(missing, 400), { error: 'Bad request: . Required metadata header not specified' })
  const wrong = await get('/metadata/instance?api-version=2021-02-01', { Metadata: 'yes' })
  assert.equal(wrong.status, 400)
  const fwd = await get('/metadata/instance?api-version=2021-02-01', { ...MD, 'X-Forwarded-For': '10.1.1.1' })
  assert.equal(fwd.status, 400)
  assert.match(String(json(fwd, 400).error), /X-Forwarded-For/)
  const post = await http(`${base}/metadata/instance?api-version=2021-02-01`, { method: 'POST', headers: MD, body: '' })
  assert.equal(post.status, 405)
  const unknown = await get('/metadata/something?api-version=2021-02-01')
  assert.equal(unknown.status, 404)
  assert.deepEqual(unknown.json(), { error: 'Not found' })
})
