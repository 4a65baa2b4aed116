import { DomainError } from '../../kernel/errors.ts'

/**
 * Key Vault's wire-error catalogue: `{"error":{"code","message","innererror"?:{"code"}}}` (KeyVaultError,
 * api-shapes §7.3–§7.5). Texts follow captured Key Vault responses where one is known (AKV10000, AKV10032,
 * SecretNotFound, "Deleted Secret not found", ObjectIsDeletedButRecoverable, SecretDisabled, ForbiddenByRbac,
 * the api-version and invalid-name BadParameters); the others are azid's, in the same envelope.
 */
interface Entry {
  status: number
  code: string
  inner?: string
  message: (a: Record<string, string>) => string
}
const e = (status: number, code: string, message: Entry['message'], inner?: string): Entry =>
  inner ? { status, code, message, inner } : { status, code, message }

export const LATEST_API_VERSION = '2025-07-01'

export const KV_ERRORS = {
  MissingToken: e(401, 'Unauthorized', () => 'AKV10000: Request is missing a Bearer or PoP token.'),
  WrongAudience: e(
    401,
    'Unauthorized',
    (a) => `AKV10022: Invalid audience. Expected https://vault.azure.net, found: ${a.audience}.`,
  ),
  WrongIssuer: e(
    401,
    'Unauthorized',
    (a) => `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${a.tenant}/, found ${a.issuer}.`,
  ),
  TokenExpired: e(401, 'Unauthorized', () => "[TokenExpired] Error validating token: 'S2S12086'."),
  InvalidToken: e(401, 'Unauthorized', () => "[AggregatedAuthenticationFailure] Error validating token: 'S2S17001'."),
  ForbiddenByRbac: e(
    403,
    'Forbidden',
    (a) =>
      'Caller is not authorized to perform action on resource.\r\n' +
      'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
      `Caller: appid=${a.appId};oid=${a.objectId};iss=${a.issuer}\r\n` +
      `Action: '${a.action}'\r\n` +
      `Resource: '${a.resource}'\r\n` +
      'Assignment: (not found)\r\n' +
      'DenyAssignmentId: null\r\n' +
      "DecisionReason: 'DeniedWithNoValidRBAC' \r\n" +
      `Vault: ${a.vault};location=${a.location}\r\n`,
    'ForbiddenByRbac',
  ),
  SecretDisabled: e(403, 'Forbidden', () => 'Operation get is not allowed on a disabled secret.', 'SecretDisabled'),
  PurgeProtected: e(
    403,
    'Forbidden',
    () =>
      'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.',
  ),
  SecretNotFound: e(
    404,
    'SecretNotFound',
    (a) =>
      `A secret with (name/id) ${a.id} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  ),
  DeletedSecretNotFound: e(404, 'SecretNotFound', (a) => `Deleted Secret not found: ${a.name}`),
  VaultNotFound: e(
    404,
    'VaultNotFound',
    (a) =>
      `No key vault named '${a.name}' exists in azid. Create it with ARM (Microsoft.KeyVault/vaults) first; on loopback address it as https://<host>:<vaultPort>/<vault-name>/secrets/….`,
  ),
  NotFound: e(404, 'NotFound', (a) => `The requested path '${a.path}' is not a Key Vault secrets operation.`),
  DeletedButRecoverable: e(
    409,
    'Conflict',
    (a) =>
      `Secret ${a.name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
    'ObjectIsDeletedButRecoverable',
  ),
  RestoreConflict: e(
    409,
    'Conflict',
    (a) =>
      `There was a conflict restoring the secret '${a.name}'. A secret with this name already exists in this key vault (active, or deleted but recoverable): delete and purge it first, or restore into another vault.`,
  ),
  ApiVersionMissing: e(400, 'BadParameter', () => 'The api-version query parameter is required.'),
  ApiVersionUnknown: e(
    400,
    'BadParameter',
    (a) =>
      `The specified version (${a.version}) is not recognized. Consider using the latest supported version (${LATEST_API_VERSION}).`,
  ),
  InvalidName: e(400, 'BadParameter', (a) => `The request URI contains an invalid name: ${a.name}`),
  BadBody: e(400, 'BadParameter', (a) => a.message ?? 'The request body is invalid.'),
  BadBackup: e(
    400,
    'BadParameter',
    () => 'The backup blob is invalid or corrupt, or it was not made by this azid (it cannot be decrypted).',
  ),
  MethodNotAllowed: e(405, 'MethodNotAllowed', (a) => `The HTTP method '${a.method}' is not allowed on '${a.path}'.`),
  NotSupported: e(
    501,
    'NotSupported',
    (a) =>
      `azid serves the Key Vault secrets API only; '${a.collection}' operations are not supported (see docs/deviations.md).`,
  ),
  Internal: e(
    500,
    'InternalServerError',
    (a) => `An internal error occurred (request id ${a.requestId}); see the azid log.`,
  ),
} as const satisfies Record<string, Entry>

export type KvErrorKey = keyof typeof KV_ERRORS

/** A Key Vault wire error; render.ts turns it into a response. */
export class KvError extends DomainError<KvErrorKey> {
  constructor(code: KvErrorKey, args: Record<string, string> = {}, detail?: string) {
    super(code, detail === undefined ? { args } : { args, detail })
  }
}
