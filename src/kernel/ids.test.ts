import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { base64url, isGuid, nameGuid, opaqueToken, sequentialIds, systemIds, timeOrderedUuid } from './ids.ts'

describe('isGuid', () => {
  test('accepts the 8-4-4-4-12 hex form in any case, nothing else', () => {
    assert.equal(isGuid('4f1c2a9e-6b3d-4e8a-9c71-2d5f0b8e3a14'), true)
    assert.equal(isGuid('4F1C2A9E-6B3D-4E8A-9C71-2D5F0B8E3A14'), true)
    assert.equal(isGuid('00000003-0000-0000-c000-000000000000'), true)
    for (const bad of [
      '',
      '4f1c2a9e6b3d4e8a9c712d5f0b8e3a14',
      '{4f1c2a9e-6b3d-4e8a-9c71-2d5f0b8e3a14}',
      '4f1c2a9e-6b3d-4e8a-9c71-2d5f0b8e3a1',
      '4f1c2a9e-6b3d-4e8a-9c71-2d5f0b8e3a14 ',
      'g f1c2a9e-6b3d-4e8a-9c71-2d5f0b8e3a1',
      'https://management.azure.com/',
    ])
      assert.equal(isGuid(bad), false, bad)
  })
})

describe('nameGuid', () => {
  test('is stable, version-5 shaped (version 5, RFC 4122 variant) and lower case', () => {
    const a = nameGuid('ns', 'name')
    assert.equal(nameGuid('ns', 'name'), a)
    assert.ok(isGuid(a))
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  test('differs by namespace and by name, and the separator keeps them apart', () => {
    const a = nameGuid('ns', 'name')
    assert.notEqual(nameGuid('ns2', 'name'), a)
    assert.notEqual(nameGuid('ns', 'name2'), a)
    assert.notEqual(nameGuid('a', 'bc'), nameGuid('ab', 'c'))
  })
})

describe('sequentialIds', () => {
  test('uuids count up and are valid v4-shaped GUIDs', () => {
    const ids = sequentialIds()
    assert.equal(ids.uuid(), '00000000-0000-4000-8000-000000000001')
    assert.equal(ids.uuid(), '00000000-0000-4000-8000-000000000002')
    assert.ok(isGuid(ids.uuid()))
  })

  test('bytes are deterministic per seed, of the length asked, and do not repeat', () => {
    const a = sequentialIds('s')
    const b = sequentialIds('s')
    const x = a.bytes(50)
    assert.equal(x.length, 50)
    assert.deepEqual(b.bytes(50), x)
    assert.notDeepEqual(a.bytes(50), x)
    assert.notDeepEqual(sequentialIds('t').bytes(50), x)
    assert.equal(a.bytes(0).length, 0)
  })
})

describe('systemIds, base64url, opaqueToken', () => {
  test('system uuids are GUIDs and differ; bytes have the length asked', () => {
    assert.ok(isGuid(systemIds.uuid()))
    assert.notEqual(systemIds.uuid(), systemIds.uuid())
    assert.equal(systemIds.bytes(7).length, 7)
  })

  test('opaqueToken is base64url of the requested entropy', () => {
    assert.equal(base64url(Buffer.from([0xfb, 0xff])), '-_8')
    const t = opaqueToken(sequentialIds('o'))
    assert.match(t, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(opaqueToken(sequentialIds('o'), 16).length, 22)
  })
})

describe('systemIds.bytes', () => {
  test('gives distinct values of the asked length, each in a buffer of its own (no view of a shared pool)', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const b = systemIds.bytes(16)
      assert.equal(b.length, 16)
      assert.equal(b.buffer.byteLength, 16)
      seen.add(b.toString('hex'))
    }
    assert.equal(seen.size, 2000)
    assert.equal(systemIds.bytes(1000).length, 1000)
    assert.equal(systemIds.bytes(0).length, 0)
  })
})

describe('timeOrderedUuid', () => {
  test('GUID-shaped, version 7, the time in the first 48 bits, the rest of the v4 kept; sorts by time', () => {
    const u = '3f2a7c1e-5b6d-4e8f-9a0b-1c2d3e4f5a6b'
    const t = timeOrderedUuid(u, 0x0193_1234_5678)
    assert.equal(t, '01931234-5678-7e8f-9a0b-1c2d3e4f5a6b')
    assert.ok(isGuid(t))
    const ids = [1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000].map((ms) =>
      timeOrderedUuid(systemIds.uuid(), ms),
    )
    assert.deepEqual([...ids].sort(), ids)
    assert.equal(new Set(Array.from({ length: 1000 }, () => timeOrderedUuid(systemIds.uuid(), 5))).size, 1000)
    assert.equal(timeOrderedUuid(u, -5).slice(0, 13), '00000000-0000')
  })
})
