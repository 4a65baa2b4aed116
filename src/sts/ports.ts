/** Short-lived state of the token service, kept in the store so every node of a cluster sees it. */

export interface DeviceCodeRecord {
  deviceCodeHash: string
  userCode: string
  tenantPath: string
  clientId: string
  scope: string
  status: 'pending' | 'approved' | 'denied' | 'redeemed'
  userId: string | null
  userTenantId: string | null
  intervalS: number
  lastPollAt: number | null
  expiresAt: number
  createdAt: number
}

export interface AuthorizationCodeRecord {
  codeHash: string
  tenantId: string
  clientId: string
  userId: string
  redirectUri: string
  scope: string
  codeChallenge: string | null
  codeChallengeMethod: string | null
  nonce: string | null
  expiresAt: number
  usedAt: number | null
  createdAt: number
}

export interface RefreshTokenRecord {
  tokenHash: string
  tenantId: string
  clientId: string
  userId: string
  scope: string
  familyId: string
  expiresAt: number
  revokedAt: number | null
  createdAt: number
}

export interface StsStateStore {
  insertDeviceCode(r: DeviceCodeRecord): Promise<void>
  getDeviceCode(hash: string): Promise<DeviceCodeRecord | undefined>
  getDeviceCodeByUserCode(userCode: string): Promise<DeviceCodeRecord | undefined>
  /** Updates status/user when the current status equals `fromStatus`; returns whether a row changed. */
  setDeviceCodeStatus(q: {
    hash: string
    fromStatus: DeviceCodeRecord['status']
    status: DeviceCodeRecord['status']
    userId?: string | null
    userTenantId?: string | null
  }): Promise<boolean>
  touchDeviceCodePoll(hash: string, at: number): Promise<void>
  listPendingDeviceCodes(now: number): Promise<DeviceCodeRecord[]>

  insertAuthorizationCode(r: AuthorizationCodeRecord): Promise<void>
  /** Marks the code used; returns the record only for the first caller (one-time use across nodes). */
  consumeAuthorizationCode(hash: string, at: number): Promise<AuthorizationCodeRecord | 'used' | undefined>

  insertRefreshToken(r: RefreshTokenRecord): Promise<void>
  getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>
  revokeRefreshTokens(q: { userId?: string; familyId?: string; at: number }): Promise<number>

  /**
   * Remembers an assertion id with a fingerprint of the whole assertion until it expires. Answers whether the id is
   * new, was seen with the same assertion, or was seen with a different one.
   */
  rememberAssertion(q: { key: string; fingerprint: string; expiresAt: number }): Promise<'new' | 'same' | 'different'>
  /** Deletes expired device codes, codes and assertion ids. */
  purgeExpired(now: number): Promise<void>
}
