/**
 * Table types for Kysely. Times are epoch milliseconds (bigint in PostgreSQL, parsed to number);
 * booleans are 0/1 integers and lists are JSON text, so one migration set serves both dialects.
 */
export interface Db {
  meta: { key: string; value: string }
  tenants: { id: string; domain: string; display_name: string; is_default: number; created_at: number }
  applications: {
    tenant_id: string
    object_id: string
    app_id: string
    display_name: string
    is_public_client: number
    access_token_version: number
    identifier_uris: string
    redirect_uris: string
    app_roles: string
    created_at: number
  }
  service_principals: {
    tenant_id: string
    object_id: string
    app_id: string
    display_name: string
    sp_type: string
    app_owner_tenant_id: string | null
    service_principal_names: string
    alternative_names: string
    mi_resource_id: string | null
    account_enabled: number
    created_at: number
  }
  password_credentials: {
    key_id: string
    tenant_id: string
    app_id: string
    display_name: string
    hint: string
    salt: string
    hash: string
    start_at: number
    end_at: number
    created_at: number
  }
  key_credentials: {
    key_id: string
    tenant_id: string
    app_id: string
    display_name: string
    sha1_hex: string
    sha256_hex: string
    cert_der: string
    start_at: number
    end_at: number
    created_at: number
  }
  federated_credentials: {
    id: string
    tenant_id: string
    app_id: string
    name: string
    issuer: string
    subject: string
    audiences: string
    description: string | null
    resource_id: string | null
    created_at: number
  }
  users: {
    tenant_id: string
    object_id: string
    user_principal_name: string
    display_name: string
    password_hash: string | null
    created_at: number
  }
  app_role_assignments: {
    id: string
    tenant_id: string
    principal_id: string
    resource_app_id: string
    app_role_id: string
    created_at: number
  }
  signing_keys: {
    kid: string
    alg: string
    created_at: number
    activate_at: number
    retire_at: number | null
    private_key_enc: string
    public_jwk: string
    cert_der: string
  }
  device_codes: {
    device_code_hash: string
    user_code: string
    tenant_path: string
    client_id: string
    scope: string
    status: string
    user_id: string | null
    user_tenant_id: string | null
    interval_s: number
    last_poll_at: number | null
    expires_at: number
    created_at: number
  }
  authorization_codes: {
    code_hash: string
    tenant_id: string
    client_id: string
    user_id: string
    redirect_uri: string
    scope: string
    code_challenge: string | null
    code_challenge_method: string | null
    nonce: string | null
    expires_at: number
    used_at: number | null
    created_at: number
  }
  refresh_tokens: {
    token_hash: string
    tenant_id: string
    client_id: string
    user_id: string
    scope: string
    family_id: string
    expires_at: number
    revoked_at: number | null
    created_at: number
  }
  used_assertions: { jti_key: string; fingerprint: string; expires_at: number }
  audit_events: {
    id: string
    seq: number
    at: number
    kind: string
    result: string
    tenant_id: string | null
    client_id: string | null
    principal_id: string | null
    host: string | null
    audience: string | null
    grant_type: string | null
    reason: string | null
    error_code: string | null
    request_id: string | null
    details: string | null
  }
  subscriptions: { id: string; tenant_id: string; display_name: string; state: string; created_at: number }
  resource_groups: {
    id_key: string
    subscription_id: string
    name: string
    location: string
    tags: string
    managed_by: string | null
    state: string
    created_at: number
    updated_at: number
  }
  resources: {
    id_key: string
    id: string
    subscription_id: string
    rg_key: string | null
    type: string
    type_key: string
    name: string
    parent_key: string | null
    location: string | null
    tags: string
    properties: string
    identity: string | null
    extra: string
    etag: string
    created_at: number
    updated_at: number
    created_by: string | null
  }
  role_definitions: {
    id: string
    scope: string
    role_name: string
    description: string
    assignable_scopes: string
    permissions: string
    created_at: number
    updated_at: number
    created_by: string | null
  }
  role_assignments: {
    id: string
    scope: string
    scope_key: string
    role_definition_id: string
    principal_id: string
    principal_type: string
    description: string | null
    condition: string | null
    condition_version: string | null
    created_at: number
    updated_at: number
    created_by: string | null
    updated_by: string | null
  }
  fault_rules: {
    id: string
    match: string
    effect: string
    remaining: number | null
    probability: number
    active_from: number | null
    active_until: number | null
    description: string | null
    created_at: number
  }
}
