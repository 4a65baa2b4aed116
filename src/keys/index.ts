export type { KeyStore, SigningKeyRecord } from './ports.ts'
export { ensurePki, generateCertificate, selfSignedCertificate, type TlsMaterial, thumbprints } from './pki.ts'
export { type Signer, createSigner } from './signer.ts'
export { type ActiveKey, createKeyService, type Jwk, type KeyService } from './signing-keys.ts'
