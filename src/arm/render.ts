import { ARM_ERRORS, type ArmError, type ArmErrorCode, WIRE_CODE } from './errors.ts'

/** ARM's error envelope; 401s carry the bearer challenge (api-shapes §0.2). */
export function renderArmError(err: ArmError): { status: number; body: unknown; headers: Record<string, string> } {
  const entry = ARM_ERRORS[err.code as ArmErrorCode] ?? ARM_ERRORS.InternalServerError
  const code = WIRE_CODE[err.code as ArmErrorCode] ?? err.code
  const headers: Record<string, string> = {}
  if (entry.status === 401) {
    const desc =
      err.code === 'AuthenticationFailed'
        ? "The authentication failed because of missing 'Authorization' header."
        : 'The access token is invalid.'
    headers['WWW-Authenticate'] =
      `Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="${desc}"`
  }
  if (entry.status === 403 || entry.status === 401) headers['x-ms-failure-cause'] = 'gateway'
  return {
    status: entry.status,
    body: { error: { code, message: entry.message(err.args as Record<string, string>) } },
    headers,
  }
}
