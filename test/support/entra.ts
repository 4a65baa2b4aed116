/**
 * Field orders of Entra's token answers (docs/wire/, api-shapes.md §8), shared by the renderer's unit test and the
 * integration tests that read them from the wire.
 */

/** v1 `/oauth2/token`, app-only (client credentials): every value a string. */
export const V1_APP_TOKEN_FIELDS = [
  'token_type',
  'expires_in',
  'ext_expires_in',
  'expires_on',
  'not_before',
  'resource',
  'access_token',
] as const

/** v1 `/oauth2/token` for a user (device code, authorization code, refresh token): `scope` after `token_type`, the
 * refresh and id tokens at the end. */
export const V1_USER_TOKEN_FIELDS = [
  'token_type',
  'scope',
  ...V1_APP_TOKEN_FIELDS.slice(1),
  'refresh_token',
  'id_token',
] as const
