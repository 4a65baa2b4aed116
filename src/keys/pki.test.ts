import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import tls from 'node:tls'
import { manualClock, systemClock } from '../kernel/clock.ts'
import { sequentialIds } from '../kernel/ids.ts'
import { ensurePki, generateCertificate, selfSignedCertificate, subjectAltNames, thumbprints } from './pki.ts'

const DAY_MS = 86_400_000
const DNS_NAMES = ['localhost', 'login.microsoftonline.com', '*.blob.core.windows.net', 'management.azure.com']
const IPS = ['127.0.0.1', '::1']

const dirs: string[] = []
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'azid-pki-'))
  dirs.push(d)
  return d
}

const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8' })

const readAll = async (dir: string) => ({
  ca: await readFile(join(dir, 'ca.pem'), 'utf8'),
  caKey: await readFile(join(dir, 'ca.key'), 'utf8'),
  leaf: await readFile(join(dir, 'tls.pem'), 'utf8'),
  leafKey: await readFile(join(dir, 'tls.key'), 'utf8'),
})

const opensslDate = (out: string, field: 'notBefore' | 'notAfter'): number => {
  const m = new RegExp(`${field}=(.+)`).exec(out)
  assert.ok(m?.[1], `${field} in ${out}`)
  return Date.parse(m[1])
}

const fingerprint = (file: string, alg: 'sha1' | 'sha256', inform = 'PEM'): string => {
  const out = openssl('x509', '-inform', inform, '-in', file, '-noout', '-fingerprint', `-${alg}`)
  return out.trim().split('=')[1]!.replaceAll(':', '').toUpperCase()
}

describe('ensurePki', () => {
  test('issues a CA and a server certificate that openssl verifies, with every SAN', async () => {
    const dir = await tempDir()
    const material = await ensurePki({ dir, dnsNames: DNS_NAMES, ips: IPS, clock: systemClock })
    const caPath = join(dir, 'ca.pem')
    const leafPath = join(dir, 'tls.pem')
    assert.equal(material.caCertPath, caPath)
    assert.equal(material.caCertPem, await readFile(caPath, 'utf8'))
    assert.equal(material.certPem, await readFile(leafPath, 'utf8'))

    assert.equal(openssl('verify', '-CAfile', caPath, leafPath).trim(), `${leafPath}: OK`)
    assert.equal(
      openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', caPath, leafPath).trim(),
      `${leafPath}: OK`,
    )

    const san = openssl('x509', '-in', leafPath, '-noout', '-ext', 'subjectAltName')
    for (const n of DNS_NAMES) assert.match(san, new RegExp(`DNS:${n.replace(/[.*]/g, '\\$&')}(,|\\s|$)`))
    assert.match(san, /IP Address:127\.0\.0\.1(,|\s|$)/)
    assert.match(san, /IP Address:0:0:0:0:0:0:0:1(,|\s|$)/)

    const caText = openssl('x509', '-in', caPath, '-noout', '-text')
    assert.match(caText, /X509v3 Basic Constraints: critical\s+CA:TRUE/)
    assert.match(caText, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\s/)
    assert.match(caText, /X509v3 Subject Key Identifier:/)
    assert.match(caText, /Public-Key: \(2048 bit\)/)
    assert.match(caText, /Signature Algorithm: sha256WithRSAEncryption/)
    const caDates = openssl('x509', '-in', caPath, '-noout', '-dates')
    assert.ok(opensslDate(caDates, 'notAfter') - opensslDate(caDates, 'notBefore') >= 3650 * DAY_MS)

    const leafText = openssl('x509', '-in', leafPath, '-noout', '-text')
    assert.match(leafText, /X509v3 Basic Constraints: critical\s+CA:FALSE/)
    assert.match(leafText, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\s/)
    assert.match(leafText, /X509v3 Extended Key Usage:\s+TLS Web Server Authentication\s/)
    assert.match(leafText, /X509v3 Authority Key Identifier:/)
    assert.match(leafText, /Public-Key: \(2048 bit\)/)
    assert.match(leafText, /Signature Algorithm: sha256WithRSAEncryption/)
    const leafDates = openssl('x509', '-in', leafPath, '-noout', '-dates')
    const validity = opensslDate(leafDates, 'notAfter') - opensslDate(leafDates, 'notBefore')
    assert.ok(validity <= 397 * DAY_MS && validity > 390 * DAY_MS, `leaf validity ${validity / DAY_MS} days`)

    const serial = openssl('x509', '-in', leafPath, '-noout', '-serial').trim().replace('serial=', '')
    assert.ok(Number.parseInt(serial.slice(0, 2), 16) < 0x80, `serial ${serial} is positive`)
  })

  test('a node:tls server with the material is trusted for each SAN, and only for them', async () => {
    const dir = await tempDir()
    const material = await ensurePki({ dir, dnsNames: DNS_NAMES, ips: IPS, clock: systemClock })
    const server = tls.createServer({ cert: material.certPem, key: material.keyPem }, (socket) => {
      socket.end('hello')
    })
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
    const address = server.address()
    assert.ok(address !== null && typeof address === 'object')
    const connect = (o: { servername?: string; ca?: string }) =>
      new Promise<string>((res, rej) => {
        const socket = tls.connect({ host: '127.0.0.1', port: address.port, ...o })
        let data = ''
        socket.setEncoding('utf8')
        socket.on('data', (d: string) => {
          data += d
        })
        socket.on('end', () => res(data))
        socket.on('error', rej)
      })
    try {
      for (const servername of ['login.microsoftonline.com', 'myacct.blob.core.windows.net', '127.0.0.1']) {
        assert.equal(await connect({ servername, ca: material.caCertPem }), 'hello', servername)
      }
      // No servername: the identity check falls back to the host, 127.0.0.1, an IP SAN.
      assert.equal(await connect({ ca: material.caCertPem }), 'hello')
      await assert.rejects(connect({ servername: 'evil.example.com', ca: material.caCertPem }), {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      })
      await assert.rejects(connect({ servername: '10.9.8.7', ca: material.caCertPem }), {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      })
      // A wildcard covers one label only (RFC 6125 §6.4.3).
      await assert.rejects(connect({ servername: 'a.b.blob.core.windows.net', ca: material.caCertPem }), {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      })
      await assert.rejects(connect({ servername: 'login.microsoftonline.com' }), {
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      })
    } finally {
      await new Promise<void>((res, rej) => server.close((e) => (e ? rej(e) : res())))
    }
  })

  test('a second start keeps the CA and leaf; a new name reissues only the leaf', async () => {
    const dir = await tempDir()
    const start = systemClock.now()
    const clock = manualClock(start)
    await ensurePki({ dir, dnsNames: DNS_NAMES, ips: IPS, clock })
    const first = await readAll(dir)

    clock.advance(DAY_MS)
    const again = await ensurePki({ dir, dnsNames: DNS_NAMES, ips: IPS, clock })
    assert.deepEqual(await readAll(dir), first)
    assert.equal(again.certPem, first.leaf)
    assert.equal(again.keyPem, first.leafKey)

    // Differently spelt but equal requests, and a subset, are covered too.
    await ensurePki({ dir, dnsNames: ['LOGIN.microsoftonline.com.'], ips: ['0:0:0:0:0:0:0:1'], clock })
    assert.deepEqual(await readAll(dir), first)

    const more = await ensurePki({ dir, dnsNames: [...DNS_NAMES, 'vault.azure.net'], ips: IPS, clock })
    const second = await readAll(dir)
    assert.equal(second.ca, first.ca)
    assert.equal(second.caKey, first.caKey)
    assert.notEqual(second.leaf, first.leaf)
    assert.notEqual(second.leafKey, first.leafKey)
    assert.equal(more.certPem, second.leaf)
    const leafPath = join(dir, 'tls.pem')
    const verifyAtClock = () =>
      openssl('verify', '-attime', String(Math.floor(clock.now() / 1000)), '-CAfile', join(dir, 'ca.pem'), leafPath)
    assert.equal(verifyAtClock().trim(), `${leafPath}: OK`)
    assert.match(openssl('x509', '-in', leafPath, '-noout', '-ext', 'subjectAltName'), /DNS:vault\.azure\.net/)

    // 370 days on, the leaf (396 days) has under 30 left: reissued; the CA stays.
    clock.set(start + 370 * DAY_MS)
    await ensurePki({ dir, dnsNames: DNS_NAMES, ips: IPS, clock })
    const third = await readAll(dir)
    assert.equal(third.ca, first.ca)
    assert.notEqual(third.leaf, second.leaf)
    assert.equal(verifyAtClock().trim(), `${leafPath}: OK`)

    const files = await readdir(dir)
    assert.deepEqual(files.sort(), ['ca.key', 'ca.pem', 'tls.key', 'tls.pem'])
  })

  test("subjectAltNames reads node:crypto's rendering: DNS and IP entries, quoted values, other kinds skipped", async () => {
    const dir = await tempDir()
    const m = await ensurePki({ dir, dnsNames: DNS_NAMES, ips: IPS, clock: systemClock })
    assert.deepEqual(subjectAltNames(new X509Certificate(m.certPem)), {
      dns: DNS_NAMES,
      ips: ['127.0.0.1', '0:0:0:0:0:0:0:1'],
    })
    const fake = (subjectAltName: string | undefined) => ({ subjectAltName }) as X509Certificate
    assert.deepEqual(
      subjectAltNames(fake('URI:https://x.example/a, DNS:"we\\"ird,name", email:a@b.example, IP Address:10.0.0.1')),
      { dns: ['we"ird,name'], ips: ['10.0.0.1'] },
    )
    assert.deepEqual(subjectAltNames(fake(undefined)), { dns: [], ips: [] })
  })

  test('a leaf whose key no longer matches is reissued', async () => {
    const dir = await tempDir()
    await ensurePki({ dir, dnsNames: ['localhost'], ips: [], clock: systemClock })
    const first = await readAll(dir)
    const stray = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    await writeFile(join(dir, 'tls.key'), stray.export({ type: 'pkcs8', format: 'pem' }))
    const m = await ensurePki({ dir, dnsNames: ['localhost'], ips: [], clock: systemClock })
    assert.notEqual(m.certPem, first.leaf)
    assert.ok(new X509Certificate(m.certPem).checkPrivateKey(createPrivateKey(m.keyPem)))
    assert.equal((await readAll(dir)).ca, first.ca)
  })

  test('keys are written with mode 0600', async () => {
    const dir = await tempDir()
    await ensurePki({ dir, dnsNames: ['localhost'], ips: ['127.0.0.1'], clock: systemClock })
    assert.equal((await stat(join(dir, 'ca.key'))).mode & 0o777, 0o600)
    assert.equal((await stat(join(dir, 'tls.key'))).mode & 0o777, 0o600)
  })

  test('refuses to replace a CA whose key is missing, and rejects bad names', async () => {
    const dir = await tempDir()
    await ensurePki({ dir, dnsNames: ['localhost'], ips: [], clock: systemClock })
    const ca = await readFile(join(dir, 'ca.pem'), 'utf8')
    await rm(join(dir, 'ca.key'))
    await assert.rejects(ensurePki({ dir, dnsNames: ['localhost'], ips: [], clock: systemClock }), {
      code: 'pki_ca_key_missing',
    })
    assert.equal(await readFile(join(dir, 'ca.pem'), 'utf8'), ca)

    const other = await tempDir()
    const bad = (dnsNames: string[], ips: string[]) => ensurePki({ dir: other, dnsNames, ips, clock: systemClock })
    await assert.rejects(bad(['exa mple.com'], []), { code: 'pki_invalid_name' })
    await assert.rejects(bad(['10.0.0.1'], []), { code: 'pki_invalid_name' })
    await assert.rejects(bad([], ['localhost']), { code: 'pki_invalid_ip' })
    await assert.rejects(bad([], []), { code: 'pki_no_names' })
  })
})

describe('thumbprints', () => {
  test('match openssl fingerprints', async () => {
    const dir = await tempDir()
    const { certPem } = await ensurePki({ dir, dnsNames: ['localhost'], ips: [], clock: systemClock })
    const der = Buffer.from(new X509Certificate(certPem).raw)
    const t = thumbprints(der)
    const path = join(dir, 'tls.pem')
    assert.equal(t.sha1Hex, fingerprint(path, 'sha1'))
    assert.equal(t.sha256Hex, fingerprint(path, 'sha256'))
    assert.equal(t.x5t, Buffer.from(t.sha1Hex, 'hex').toString('base64url'))
    assert.equal(t.x5tS256, Buffer.from(t.sha256Hex, 'hex').toString('base64url'))
    assert.match(t.x5t, /^[A-Za-z0-9_-]{27}$/)
    assert.match(t.x5tS256, /^[A-Za-z0-9_-]{43}$/)
  })
})

describe('selfSignedCertificate', () => {
  test('produces a certificate for the given key pair that Node and openssl parse', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const notBeforeMs = Date.UTC(2030, 0, 1)
    const der = await selfSignedCertificate({
      privateKey,
      publicKey,
      commonName: 'token signing',
      notBeforeMs,
      notAfterMs: notBeforeMs + 90 * DAY_MS,
      serial: Buffer.from('ff0102030405060708090a0b0c0d0e0f', 'hex'),
    })
    const cert = new X509Certificate(der)
    assert.ok(cert.publicKey.equals(publicKey))
    assert.ok(cert.verify(publicKey))
    assert.ok(cert.checkPrivateKey(privateKey))
    assert.equal(cert.subject, 'CN=token signing')
    assert.equal(cert.serialNumber, '7F0102030405060708090A0B0C0D0E0F')
    assert.equal(Date.parse(cert.validFrom), notBeforeMs)
    assert.equal(Date.parse(cert.validTo), notBeforeMs + 90 * DAY_MS)

    const dir = await tempDir()
    const path = join(dir, 'signing.der')
    await writeFile(path, der)
    assert.equal(thumbprints(der).sha1Hex, fingerprint(path, 'sha1', 'DER'))
    assert.match(openssl('x509', '-inform', 'DER', '-in', path, '-noout', '-subject'), /CN\s?=\s?token signing/)
  })

  test('rejects a public key from another pair', async () => {
    const a = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const b = generateKeyPairSync('rsa', { modulusLength: 2048 })
    await assert.rejects(
      selfSignedCertificate({
        privateKey: a.privateKey,
        publicKey: b.publicKey,
        commonName: 'x',
        notBeforeMs: 0,
        notAfterMs: DAY_MS,
        serial: Buffer.from([1]),
      }),
      TypeError,
    )
  })
})

describe('generateCertificate', () => {
  test('returns a matching key and certificate, valid from the clock for the given days', async () => {
    const start = Date.UTC(2031, 5, 1)
    const { certPem, keyPem, certDer } = await generateCertificate({
      commonName: 'client-app',
      clock: manualClock(start),
      days: 30,
      ids: sequentialIds('pki-test'),
    })
    const cert = new X509Certificate(certPem)
    assert.deepEqual(Buffer.from(cert.raw), certDer)
    assert.ok(cert.checkPrivateKey(createPrivateKey(keyPem)))
    assert.equal(Date.parse(cert.validFrom), start)
    assert.equal(Date.parse(cert.validTo), start + 30 * DAY_MS)
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/)
    const dir = await tempDir()
    const path = join(dir, 'client.pem')
    await writeFile(path, certPem)
    assert.match(openssl('x509', '-in', path, '-noout', '-text'), /Public-Key: \(2048 bit\)/)
  })
})
