/** A signing key as stored: the private half encrypted. */
export interface SigningKeyRecord {
  kid: string
  alg: 'RS256'
  createdAt: number
  /** From this time on the key signs new tokens. */
  activateAt: number
  /** From this time on the key is no longer published; null while it is current. */
  retireAt: number | null
  /** AES-256-GCM(PKCS#8 DER), base64: iv | tag | ciphertext. */
  privateKeyEnc: string
  publicJwk: { kty: 'RSA'; n: string; e: string }
  /** Self-signed certificate over the public key, base64 DER (published as x5c). */
  certDer: string
}

export interface KeyStore {
  listSigningKeys(): Promise<SigningKeyRecord[]>
  insertSigningKey(k: SigningKeyRecord): Promise<void>
  /** Sets retire_at on every key that is current (retire_at null) and activated before `activatedBefore`. */
  retireCurrentKeys(q: { activatedBefore: number; retireAt: number }): Promise<number>
  /** Removes keys whose retire_at is before `before`. */
  deleteRetiredKeys(before: number): Promise<number>
  /** Serialises rotations across nodes; runs fn in one transaction. */
  transaction<T>(fn: (tx: KeyStore) => Promise<T>): Promise<T>
}
