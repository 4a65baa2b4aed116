import {
  createHash,
  createPublicKey,
  createPrivateKey,
  generateKeyPair,
  X509Certificate as NodeX509Certificate,
  webcrypto,
  type KeyObject,
} from 'node:crypto'
import type { JsonName } from '@peculiar/x509'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { Clock } from '../kernel/clock.ts'
import { DomainError } from '../kernel/errors.ts'
import { type Ids, systemIds } from '../kernel/ids.ts'

type X509 = typeof import('@peculiar/x509')

export interface TlsMaterial {
  certPem: string
  keyPem: string
  caCertPem: string
  caCertPath: string
}

export type PkiErrorCode =
  | 'pki_invalid_name'
  | 'pki_invalid_ip'
  | 'pki_no_names'
  | 'pki_ca_invalid'
  | 'pki_ca_key_missing'
  | 'pki_ca_key_mismatch'
  | 'pki_ca_expired'

const DAY_MS = 86_400_000
const CA_VALIDITY_MS = 3650 * DAY_MS
// CA/Browser Forum Baseline Requirements §6.3.2 cap TLS server certificates at 398 days (Apple and Chrome enforce
// ≤ 398, and 397 is the usual safe figure); the backdate below counts towards it, so 396 days plus one hour.
const LEAF_VALIDITY_MS = 396 * DAY_MS
// Clients whose clocks run a little behind would otherwise see a brand-new certificate as not yet valid.
const BACKDATE_MS = 3_600_000
const RENEW_BEFORE_MS = 30 * DAY_MS
const RSA_BITS = 2048
const SERIAL_BYTES = 16
const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const
const FILES = { caCert: 'ca.pem', caKey: 'ca.key', tlsCert: 'tls.pem', tlsKey: 'tls.key' } as const

const generateRsaKeyPair = promisify(generateKeyPair)

/**
 * Creates (first start) or loads the CA in `dir` (ca.pem, ca.key with mode 0600) and a TLS server certificate
 * (tls.pem, tls.key) signed by it, valid for every DNS name and IP given. The server cert is reissued when
 * the requested names/IPs are not all covered, or when it expires within 30 days; the CA is kept (valid 10 years).
 * `ids` (default: system randomness) supplies serial numbers and temporary file names.
 */
export async function ensurePki(opts: {
  dir: string
  dnsNames: readonly string[]
  ips: readonly string[]
  clock: Clock
  ids?: Ids
}): Promise<TlsMaterial> {
  // @peculiar/x509 (and its ASN.1 stack) loads only when a certificate has to be made: a start on an existing data
  // directory checks its certificates with node:crypto alone.
  let lib: X509 | undefined
  const x509 = async () => {
    lib ??= await loadX509()
    return lib
  }
  const ids = opts.ids ?? systemIds
  const dnsNames = unique(opts.dnsNames.map(canonicalDnsName))
  const ips = unique(opts.ips.map(canonicalIp))
  if (dnsNames.length + ips.length === 0) throw new DomainError<PkiErrorCode>('pki_no_names')
  const now = opts.clock.now()
  const path = (f: keyof typeof FILES) => join(opts.dir, FILES[f])
  await mkdir(opts.dir, { recursive: true, mode: 0o700 })

  const ca =
    (await loadCa({ certPath: path('caCert'), keyPath: path('caKey') })) ??
    (await createCa({ x509: await x509(), ids, now, certPath: path('caCert'), keyPath: path('caKey') }))
  if (ca.notAfterMs <= now) {
    throw new DomainError<PkiErrorCode>('pki_ca_expired', {
      detail: `the CA in ${opts.dir} has expired; delete ca.pem and ca.key to create a new one (and re-trust it)`,
    })
  }

  const leafPem = await readOptional(path('tlsCert'))
  const leafKeyPem = await readOptional(path('tlsKey'))
  if (
    leafPem !== undefined &&
    leafKeyPem !== undefined &&
    leafIsUsable({ ca, certPem: leafPem, keyPem: leafKeyPem, dnsNames, ips, now })
  ) {
    return { certPem: leafPem, keyPem: leafKeyPem, caCertPem: ca.certPem, caCertPath: resolve(path('caCert')) }
  }
  const leaf = await issueLeaf({ x509: await x509(), ca, ids, now, dnsNames, ips })
  // Key first: a crash between the two renames leaves a cert/key mismatch, which the next start detects and repairs.
  await writeFileAtomic({ path: path('tlsKey'), data: leaf.keyPem, mode: 0o600, ids })
  await writeFileAtomic({ path: path('tlsCert'), data: leaf.certPem, mode: 0o644, ids })
  return { certPem: leaf.certPem, keyPem: leaf.keyPem, caCertPem: ca.certPem, caCertPath: resolve(path('caCert')) }
}

/**
 * A self-signed X.509 certificate (DER) for an existing RSA key pair: used to publish x5c/x5t for token-signing keys,
 * and by tests to make client certificates for service-principal certificate credentials.
 * The serial's top bit is cleared so that it encodes as a positive INTEGER of at most 20 octets (RFC 5280 §4.1.2.2).
 */
export async function selfSignedCertificate(opts: {
  privateKey: KeyObject
  publicKey: KeyObject
  commonName: string
  notBeforeMs: number
  notAfterMs: number
  serial: Buffer
}): Promise<Buffer> {
  const x509 = await loadX509()
  if (opts.privateKey.asymmetricKeyType !== 'rsa' || opts.publicKey.asymmetricKeyType !== 'rsa') {
    throw new TypeError('selfSignedCertificate: an RSA key pair is required')
  }
  const spki = spkiDer(opts.publicKey)
  if (!spki.equals(spkiDer(createPublicKey(opts.privateKey)))) {
    throw new TypeError('selfSignedCertificate: publicKey does not belong to privateKey')
  }
  if (!(opts.notBeforeMs < opts.notAfterMs)) throw new TypeError('selfSignedCertificate: empty validity period')
  const name: JsonName = [{ CN: [opts.commonName] }]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(opts.serial),
    subject: name,
    issuer: name,
    notBefore: new Date(opts.notBeforeMs),
    notAfter: new Date(opts.notAfterMs),
    publicKey: spki,
    signingKey: await signingKey(opts.privateKey),
    signingAlgorithm: RSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(spki),
    ],
  })
  return Buffer.from(cert.rawData)
}

/** SHA-1 and SHA-256 thumbprints of a DER certificate: hex (upper case) and base64url. */
export function thumbprints(der: Buffer): { sha1Hex: string; sha256Hex: string; x5t: string; x5tS256: string } {
  const sha1 = createHash('sha1').update(der).digest()
  const sha256 = createHash('sha256').update(der).digest()
  return {
    sha1Hex: sha1.toString('hex').toUpperCase(),
    sha256Hex: sha256.toString('hex').toUpperCase(),
    x5t: sha1.toString('base64url'),
    x5tS256: sha256.toString('base64url'),
  }
}

/** Convenience for tests and the CLI: new RSA-2048 key pair + self-signed cert, as PEMs. Valid from now, 365 days by default. */
export async function generateCertificate(opts: {
  commonName: string
  clock: Clock
  days?: number
  ids: Ids
}): Promise<{ certPem: string; keyPem: string; certDer: Buffer }> {
  const { publicKey, privateKey } = await generateRsaKeyPair('rsa', { modulusLength: RSA_BITS })
  const now = opts.clock.now()
  const certDer = await selfSignedCertificate({
    privateKey,
    publicKey,
    commonName: opts.commonName,
    notBeforeMs: now,
    notAfterMs: now + (opts.days ?? 365) * DAY_MS,
    serial: opts.ids.bytes(SERIAL_BYTES),
  })
  return { certPem: derToPem(certDer, 'CERTIFICATE'), keyPem: pkcs8Pem(privateKey), certDer }
}

interface LoadedCa {
  certPem: string
  nodeCert: NodeX509Certificate
  /** The end of the CA's validity (epoch ms). */
  notAfterMs: number
  key: KeyObject
}

/** A certificate's validity from node:crypto's strings (`Nov 22 09:07:47 2026 GMT`), as epoch ms. */
function validity(cert: NodeX509Certificate): { notBeforeMs: number; notAfterMs: number } {
  const notBeforeMs = Date.parse(cert.validFrom)
  const notAfterMs = Date.parse(cert.validTo)
  if (!Number.isFinite(notBeforeMs) || !Number.isFinite(notAfterMs)) throw new TypeError('unreadable validity dates')
  return { notBeforeMs, notAfterMs }
}

/**
 * The DNS names and IP addresses of a certificate's subjectAltName, from node:crypto's rendering
 * (`DNS:localhost, IP Address:127.0.0.1`; a value with a comma or quote comes JSON-quoted). Other kinds are ignored.
 */
export function subjectAltNames(cert: NodeX509Certificate): { dns: string[]; ips: string[] } {
  const out = { dns: [] as string[], ips: [] as string[] }
  const re = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy
  const text = cert.subjectAltName ?? ''
  for (let m = re.exec(text); m !== null && m[0] !== ''; m = re.exec(text)) {
    const raw = m[2] as string
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw
    if (m[1] === 'DNS') out.dns.push(value)
    else if (m[1] === 'IP Address') out.ips.push(value)
  }
  return out
}

async function loadCa(opts: { certPath: string; keyPath: string }): Promise<LoadedCa | undefined> {
  const certPem = await readOptional(opts.certPath)
  // Without ca.pem nobody can have trusted this CA yet, so a lone ca.key (a crash during creation) is replaced.
  if (certPem === undefined) return undefined
  const keyPem = await readOptional(opts.keyPath)
  if (keyPem === undefined) {
    throw new DomainError<PkiErrorCode>('pki_ca_key_missing', {
      detail: `${opts.certPath} exists but ${opts.keyPath} does not; restore the key or delete both to create a new CA`,
    })
  }
  let ca: LoadedCa
  try {
    const nodeCert = new NodeX509Certificate(certPem)
    ca = { certPem, nodeCert, notAfterMs: validity(nodeCert).notAfterMs, key: createPrivateKey(keyPem) }
  } catch (cause) {
    throw new DomainError<PkiErrorCode>('pki_ca_invalid', { detail: `cannot parse ${opts.certPath} or its key`, cause })
  }
  if (!ca.nodeCert.ca || !ca.nodeCert.checkPrivateKey(ca.key)) {
    throw new DomainError<PkiErrorCode>('pki_ca_key_mismatch', {
      detail: `${opts.keyPath} does not match ${opts.certPath}, or it is not a CA certificate`,
    })
  }
  return ca
}

async function createCa(opts: { x509: X509; ids: Ids; now: number; certPath: string; keyPath: string }) {
  const { x509 } = opts
  const { publicKey, privateKey } = await generateRsaKeyPair('rsa', { modulusLength: RSA_BITS })
  const spki = spkiDer(publicKey)
  // A distinct name per installation, so that several azid CAs in one trust store can be told apart.
  const name: JsonName = [{ CN: [`azid local CA ${opts.ids.bytes(4).toString('hex')}`] }, { O: ['azid'] }]
  const ski = await x509.SubjectKeyIdentifierExtension.create(spki)
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(opts.ids.bytes(SERIAL_BYTES)),
    subject: name,
    issuer: name,
    notBefore: new Date(opts.now - BACKDATE_MS),
    notAfter: new Date(opts.now + CA_VALIDITY_MS),
    publicKey: spki,
    signingKey: await signingKey(privateKey),
    signingAlgorithm: RSA_SHA256,
    extensions: [
      // pathLen 0: this CA only ever signs end-entity certificates.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ski,
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  })
  const certPem = derToPem(Buffer.from(cert.rawData), 'CERTIFICATE')
  await writeFileAtomic({ path: opts.keyPath, data: pkcs8Pem(privateKey), mode: 0o600, ids: opts.ids })
  await writeFileAtomic({ path: opts.certPath, data: certPem, mode: 0o644, ids: opts.ids })
  const nodeCert = new NodeX509Certificate(certPem)
  return { certPem, nodeCert, notAfterMs: validity(nodeCert).notAfterMs, key: privateKey } satisfies LoadedCa
}

function leafIsUsable(opts: {
  ca: LoadedCa
  certPem: string
  keyPem: string
  dnsNames: readonly string[]
  ips: readonly string[]
  now: number
}): boolean {
  try {
    const node = new NodeX509Certificate(opts.certPem)
    if (!node.checkIssued(opts.ca.nodeCert) || !node.verify(opts.ca.nodeCert.publicKey)) return false
    if (!node.checkPrivateKey(createPrivateKey(opts.keyPem))) return false
    const { notBeforeMs, notAfterMs } = validity(node)
    if (notBeforeMs > opts.now || notAfterMs - opts.now <= RENEW_BEFORE_MS) return false
    const san = subjectAltNames(node)
    const dns = new Set(san.dns.map((n) => n.toLowerCase()))
    const ips = new Set(san.ips.map(canonicalIp))
    return opts.dnsNames.every((n) => dns.has(n)) && opts.ips.every((ip) => ips.has(ip))
  } catch {
    return false
  }
}

async function issueLeaf(opts: {
  x509: X509
  ca: LoadedCa
  ids: Ids
  now: number
  dnsNames: readonly string[]
  ips: readonly string[]
}): Promise<{ certPem: string; keyPem: string }> {
  const { x509 } = opts
  const ca = { ...opts.ca, cert: new x509.X509Certificate(opts.ca.certPem) }
  const { publicKey, privateKey } = await generateRsaKeyPair('rsa', { modulusLength: RSA_BITS })
  const spki = spkiDer(publicKey)
  const caKeyId = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId
  // Clients match only the SANs (RFC 6125 §6.4.4); the CN is for people reading the certificate, and is limited
  // to 64 characters (RFC 5280 ub-common-name).
  const first = opts.dnsNames[0] ?? opts.ips[0] ?? 'azid'
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(opts.ids.bytes(SERIAL_BYTES)),
    subject: [{ CN: [first.length <= 64 ? first : 'azid'] }, { O: ['azid'] }],
    issuer: ca.cert.subjectName,
    notBefore: new Date(opts.now - BACKDATE_MS),
    notAfter: new Date(Math.min(opts.now + LEAF_VALIDITY_MS, ca.cert.notAfter.getTime())),
    publicKey: spki,
    signingKey: await signingKey(ca.key),
    signingAlgorithm: RSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.SubjectKeyIdentifierExtension.create(spki),
      caKeyId === undefined
        ? await x509.AuthorityKeyIdentifierExtension.create(spkiDer(createPublicKey(ca.key)))
        : new x509.AuthorityKeyIdentifierExtension(caKeyId),
      new x509.SubjectAlternativeNameExtension([
        ...opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...opts.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  })
  return { certPem: derToPem(Buffer.from(cert.rawData), 'CERTIFICATE'), keyPem: pkcs8Pem(privateKey) }
}

async function loadX509(): Promise<X509> {
  // @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata polyfill
  // (its README, "Reflect Polyfill Required"); loaded on first use, not at import time.
  await import('reflect-metadata')
  const x509 = await import('@peculiar/x509')
  x509.cryptoProvider.set(webcrypto)
  return x509
}

function signingKey(privateKey: KeyObject): Promise<webcrypto.CryptoKey> {
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' })
  return webcrypto.subtle.importKey('pkcs8', pkcs8, RSA_SHA256, false, ['sign'])
}

const spkiDer = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' })

const pkcs8Pem = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }) as string

function derToPem(der: Buffer, label: string): string {
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n')
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`
}

function serialHex(serial: Buffer): string {
  if (serial.length === 0 || serial.length > 20) throw new TypeError('certificate serial must be 1 to 20 bytes')
  const b = Buffer.from(serial)
  b[0] = (b[0] ?? 0) & 0x7f
  if (b.every((x) => x === 0)) throw new TypeError('certificate serial must not be zero')
  return b.toString('hex')
}

const DNS_LABEL = '[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?'
const DNS_NAME_RE = new RegExp(`^(\\*\\.)?${DNS_LABEL}(\\.${DNS_LABEL})*$`)

function canonicalDnsName(name: string): string {
  const n = name.trim().toLowerCase().replace(/\.$/, '')
  if (n.length > 253 || !DNS_NAME_RE.test(n) || isIP(n) !== 0) {
    throw new DomainError<PkiErrorCode>('pki_invalid_name', {
      detail: `not a DNS name: ${name} (IP addresses belong in ips)`,
      args: { name },
    })
  }
  return n
}

/** One spelling per address, so requested IPs compare equal to those read back from a certificate. */
function canonicalIp(ip: string): string {
  const family = isIP(ip)
  if (family === 0 || ip.includes('%')) {
    throw new DomainError<PkiErrorCode>('pki_invalid_ip', { detail: `not an IP address: ${ip}`, args: { ip } })
  }
  // WHATWG URL serialisation compresses IPv6 and rewrites embedded IPv4 as hex, which @peculiar/x509 can parse.
  return family === 4 ? ip : new URL(`http://[${ip}]/`).hostname.slice(1, -1)
}

const unique = (xs: readonly string[]): string[] => [...new Set(xs)]

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

async function writeFileAtomic(opts: { path: string; data: string; mode: number; ids: Ids }): Promise<void> {
  const tmp = `${opts.path}.${opts.ids.bytes(6).toString('hex')}.tmp`
  try {
    const fh = await open(tmp, 'wx', opts.mode)
    try {
      await fh.writeFile(opts.data)
      // The process umask may have narrowed the mode given to open(); set it exactly.
      await fh.chmod(opts.mode)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, opts.path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}
