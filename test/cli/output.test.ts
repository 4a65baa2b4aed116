// The CLI's output formats and argument parser, as az shapes them (no server).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Document, LineCounter, parseDocument } from 'yaml'
import { UsageError, parseArgs, values } from '../../src/cli/args.ts'
import { render, renderTable } from '../../src/cli/output.ts'
import { lineOfPath } from '../../src/cli/world.ts'

const ids = [
  {
    name: 'b',
    location: 'westeurope',
    id: '/x/b',
    type: 'T',
    tags: { a: '1' },
    principalId: 'p2',
    enabled: true,
    n: null,
  },
  { name: 'a', location: 'northeurope', id: '/x/a', type: 'T', tags: {}, principalId: 'p1', enabled: false, n: null },
]

test('json is az’s: keys sorted at every level, two-space indent; --query is JMESPath', () => {
  assert.equal(
    render({ b: 1, a: { d: 2, c: 3 } }, { format: 'json' }),
    '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}',
  )
  assert.equal(render(ids, { format: 'json', query: '[?enabled].name | [0]' }), '"b"')
  assert.equal(render(ids, { format: 'json', query: 'length(@)' }), '2')
  assert.equal(render(undefined, { format: 'json' }), undefined)
  assert.equal(render(ids, { format: 'none' }), undefined)
  assert.throws(() => render(ids, { format: 'json', query: '[?' }), UsageError)
  assert.match(
    render({ a: 'x' }, { format: 'jsonc', colour: true }) as string,
    /\x1b\[94m"a"\x1b\[0m: \x1b\[32m"x"\x1b\[0m/,
  )
  assert.equal(render({ b: [1], a: 'x' }, { format: 'yaml' }), 'a: x\nb:\n  - 1')
})

test('table: scalar columns, sorted, id/type skipped, capitalised; transformers apply without --query', () => {
  const t = render(ids, { format: 'table' }) as string
  assert.equal(
    t,
    [
      'Enabled    Location     Name    PrincipalId',
      '---------  -----------  ------  -------------',
      'True       westeurope   b       p2',
      'False      northeurope  a       p1',
    ].join('\n'),
  )
  const custom = (d: unknown) => (d as { name: string }[]).map((x) => ({ Name: x.name }))
  assert.equal(render(ids, { format: 'table', table: custom }), 'Name\n------\nb\na')
  // With a query, az uses the query's keys in their order (no transformer, no sorting).
  assert.equal(
    render(ids, { format: 'table', table: custom, query: '[].{Z:name, A:location}' }),
    ['Z    A', '---  -----------', 'b    westeurope', 'a    northeurope'].join('\n'),
  )
  assert.equal(render('x', { format: 'table' }), 'Result\n--------\nx')
  assert.equal(renderTable([]), '')
})

test('tsv: values of scalar members in key order, nested objects skipped, booleans lower case', () => {
  assert.equal(
    render(ids, { format: 'tsv' }),
    'true\t/x/b\twesteurope\t\tb\tp2\tT\nfalse\t/x/a\tnortheurope\t\ta\tp1\tT',
  )
  assert.equal(render(ids, { format: 'tsv', query: '[].[name, principalId]' }), 'b\tp2\na\tp1')
  assert.equal(render('p1', { format: 'tsv' }), 'p1')
  assert.equal(render(null, { format: 'tsv' }), '')
})

test('arguments: aliases, several values, optional values, unknown flags refused before they swallow a value', () => {
  const spec = {
    multi: ['assign-identity', 'identities'],
    booleans: ['yes'],
    aliases: { g: 'resource-group', n: 'name' },
  }
  const p = parseArgs(['create', '-g', 'rg', '--name=vm', '--assign-identity', '--admin-username', 'u'], spec)
  assert.deepEqual(p.positionals, ['create'])
  assert.deepEqual(values(p, 'assign-identity'), [])
  assert.equal(p.flags.has('assign-identity'), true)
  const q = parseArgs(['--identities', '[system]', '/sub/id1', 'id2', '-n', 'x'], spec)
  assert.deepEqual(values(q, 'identities'), ['[system]', '/sub/id1', 'id2'])
  assert.throws(() => parseArgs(['-g'], spec), /argument --resource-group: expected one argument/)
  assert.throws(() => parseArgs(['--bogus', 'x'], { ...spec, known: ['name'] }), /unrecognized arguments: --bogus/)
})

test('a path of the world file maps to its line (key line for a member, item line for a list entry)', () => {
  const text = 'hosts:\n  - name: a\n    type: vm\n  - name: b\n    type: vmss\n    bogus: 1\n'
  const counter = new LineCounter()
  const doc: Document = parseDocument(text, { lineCounter: counter })
  assert.equal(lineOfPath(doc, counter, ['hosts', 1, 'bogus']), 6)
  assert.equal(lineOfPath(doc, counter, ['hosts', 1]), 4)
  assert.equal(lineOfPath(doc, counter, ['hosts', 0, 'type']), 3)
  assert.equal(lineOfPath(doc, counter, ['hosts', 1, 'resourceGroup']), 4, 'a missing member: the item’s line')
  assert.equal(lineOfPath(doc, counter, ['identities']), 1)
})
