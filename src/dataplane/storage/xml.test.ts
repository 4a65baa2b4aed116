import assert from 'node:assert/strict'
import { test } from 'node:test'
import { XmlSyntaxError, el, escapeXml, parseXml } from './xml.ts'

test('parses block lists and key info: declaration, BOM, entities, CDATA, comments, attributes', () => {
  const doc = parseXml(
    '\ufeff<?xml version="1.0" encoding="utf-8"?>\n<!-- c --><BlockList a="1 &amp; 2"><Latest>QQ==</Latest>\n  <Committed><![CDATA[Qg==]]></Committed><Uncommitted>&#81;w==</Uncommitted><Empty/></BlockList>',
  )
  assert.equal(doc.name, 'BlockList')
  assert.equal(doc.attributes.a, '1 & 2')
  assert.deepEqual(
    doc.children.map((c) => [c.name, c.text]),
    [
      ['Latest', 'QQ=='],
      ['Committed', 'Qg=='],
      ['Uncommitted', 'Qw=='],
      ['Empty', ''],
    ],
  )
})

test('refuses malformed documents with a position', () => {
  for (const bad of [
    '<A>',
    '<A></B>',
    '<A>x &bogus; y</A>',
    '<A>a & b</A>',
    '<!DOCTYPE x><A/>',
    '<A/><B/>',
    '',
    'text',
  ])
    assert.throws(() => parseXml(bad), XmlSyntaxError, bad)
  try {
    parseXml('<A>\n<B></C></A>')
  } catch (e) {
    assert.ok(e instanceof XmlSyntaxError)
    assert.equal(e.line, 2)
  }
})

test('escapes like .NET XmlWriter (apostrophes stay) and drops characters XML cannot carry', () => {
  assert.equal(escapeXml(`a&b<c>d"e'f\u0001`), "a&amp;b&lt;c&gt;d&quot;e'f")
  assert.equal(el('Name', ''), '<Name />')
  assert.equal(el('Size', 0), '<Size>0</Size>')
})
