import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GraphError } from './errors.ts'
import {
  applySelect,
  compileFilter,
  decodeSkipToken,
  encodeSkipToken,
  parseFilter,
  parseSelect,
  parseTop,
} from './odata.ts'
import { renderGraphError } from './render.ts'
import { SERVICE_PRINCIPAL_SCHEMA, USER_SCHEMA } from './wire.ts'

const sp = (o: Record<string, unknown>) => ({
  id: '00000000-0000-4000-8000-000000000001',
  appId: 'a',
  displayName: 'vm1',
  servicePrincipalType: 'ManagedIdentity',
  accountEnabled: true,
  servicePrincipalNames: ['a', 'https://identity.azure.net/x+y/z='],
  alternativeNames: [
    'isExplicit=False',
    '/subscriptions/s/resourcegroups/rg/providers/Microsoft.Compute/virtualMachines/vm1',
  ],
  ...o,
})
const matches = (filter: string, o: Record<string, unknown>) =>
  compileFilter(parseFilter(filter), SERVICE_PRINCIPAL_SCHEMA)(o)

function throwsGraph(fn: () => unknown, code: string, args?: Record<string, string>) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GraphError, String(e))
    assert.equal(e.code, code)
    if (args) assert.deepEqual(e.args, args)
    return true
  })
}

test('parses the filter forms az sends, with keywords and names in any case', () => {
  assert.deepEqual(parseFilter("servicePrincipalNames/any(c:c eq 'x')"), {
    k: 'lambda',
    fn: 'any',
    prop: 'servicePrincipalNames',
    inner: { k: 'cmp', op: 'eq', prop: '$it', value: 'x' },
  })
  assert.deepEqual(parseFilter("startswith(displayName,'it''s')"), {
    k: 'fn',
    fn: 'startswith',
    prop: 'displayName',
    value: "it's",
  })
  assert.deepEqual(parseFilter("a eq 'x' AND (b eq true Or c eq null)"), {
    k: 'and',
    l: { k: 'cmp', op: 'eq', prop: 'a', value: 'x' },
    r: {
      k: 'or',
      l: { k: 'cmp', op: 'eq', prop: 'b', value: true },
      r: { k: 'cmp', op: 'eq', prop: 'c', value: null },
    },
  })
  assert.deepEqual(parseFilter("appId in ('a', 'b')"), { k: 'in', prop: 'appId', values: ['a', 'b'] })
})

test('syntax errors are "Invalid filter clause"', () => {
  for (const f of ["a eq 'x", 'a eq', "a eq 'x' b", "a/any(c:c/any(d:d eq 'x'))", '', "a eq 'x' and", "a ~ 'x'"])
    throwsGraph(() => parseFilter(f), 'InvalidFilter')
})

test('evaluates case-insensitively against wire objects', () => {
  assert.ok(matches("displayName eq 'VM1'", sp({})))
  assert.ok(matches("servicePrincipalNames/any(c:c eq 'https://identity.azure.net/x+y/z=')", sp({})))
  assert.ok(matches("servicePrincipalNames/any(c:startswith(c,'HTTPS://identity'))", sp({})))
  assert.ok(!matches("servicePrincipalNames/any(c:c eq 'b')", sp({})))
  assert.ok(matches("alternativeNames/any(x:x eq 'isExplicit=False') and accountEnabled eq true", sp({})))
  assert.ok(matches("displayName eq 'nope' or startswith(displayName,'vm')", sp({})))
  assert.ok(matches("appId in ('z', 'A')", sp({})))
  assert.ok(!matches("servicePrincipalType eq 'Application'", sp({})))
})

test('refusals name the property or operator as Graph does', () => {
  const c = (f: string) => () => compileFilter(parseFilter(f), SERVICE_PRINCIPAL_SCHEMA)
  throwsGraph(c("homepage eq 'x'"), 'UnsupportedFilterProperty', { property: 'homepage', resource: 'ServicePrincipal' })
  throwsGraph(c("servicePrincipalNames eq 'x'"), 'UnsupportedFilterProperty', {
    property: 'servicePrincipalNames',
    resource: 'ServicePrincipal',
  })
  throwsGraph(c("displayName ne 'x'"), 'UnsupportedFilterOperator', { operator: 'NotEqualsMatch' })
  throwsGraph(c("not(displayName eq 'x')"), 'UnsupportedFilterOperator', { operator: 'Not' })
  throwsGraph(c("alternativeNames/any(x:startswith(x,'i'))"), 'UnsupportedFilterOperator', {
    operator: 'StartsWithMatch',
  })
  throwsGraph(c("servicePrincipalNames/all(x:x eq 'i')"), 'UnsupportedFilterOperator', { operator: 'All' })
  throwsGraph(c("DisplayNam eq 'x'"), 'UnknownFilterProperty', { property: 'DisplayNam', type: 'servicePrincipal' })
  throwsGraph(c('displayName eq 5'), 'InvalidFilter')
  throwsGraph(c("servicePrincipalNames/any(c:d eq 'x')"), 'InvalidFilter')
  throwsGraph(() => compileFilter(parseFilter("appId eq 'x'"), USER_SCHEMA), 'UnknownFilterProperty', {
    property: 'appId',
    type: 'user',
  })
})

test('$select keeps wire order and @odata.type; $top bounds; skip tokens round-trip and reject garbage', () => {
  const sel = parseSelect('APPID, id', SERVICE_PRINCIPAL_SCHEMA)
  assert.deepEqual(sel, ['id', 'appId'])
  assert.deepEqual(applySelect({ '@odata.type': 't', appId: 'a', id: 'i', displayName: 'd' }, sel), {
    '@odata.type': 't',
    id: 'i',
    appId: 'a',
  })
  assert.equal(parseSelect(undefined, SERVICE_PRINCIPAL_SCHEMA), null)
  throwsGraph(() => parseSelect('id,nope', SERVICE_PRINCIPAL_SCHEMA), 'UnknownSelectProperty')
  assert.equal(parseTop(undefined, 100), 100)
  assert.equal(parseTop('999', 100), 999)
  for (const t of ['0', '1000', '-1', 'x', '1.5']) throwsGraph(() => parseTop(t, 100), 'InvalidPageSize')
  const id = '00000000-0000-4000-8000-00000000000a'
  assert.equal(decodeSkipToken(encodeSkipToken(id)), id)
  assert.equal(decodeSkipToken(undefined), null)
  throwsGraph(() => decodeSkipToken('garbage'), 'InvalidSkipToken')
})

test("the error envelope: innerError date to the second without 'Z', request ids in order", () => {
  const r = renderGraphError(new GraphError('ResourceNotFound', { id: 'x' }), {
    requestId: 'r',
    clientRequestId: 'c',
    now: Date.UTC(2024, 8, 19, 11, 52, 23, 456),
  })
  assert.equal(r.status, 404)
  assert.equal(
    JSON.stringify(r.body),
    '{"error":{"code":"Request_ResourceNotFound","message":"Resource \'x\' does not exist or one of its queried reference-property objects are not present.","innerError":{"date":"2024-09-19T11:52:23","request-id":"r","client-request-id":"c"}}}',
  )
  const auth = renderGraphError(new GraphError('AccessTokenEmpty'), { requestId: 'r', clientRequestId: 'r', now: 0 })
  assert.equal(auth.status, 401)
  assert.match(String(auth.headers['WWW-Authenticate']), /^Bearer realm=""/)
})
