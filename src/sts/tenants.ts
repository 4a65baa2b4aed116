import type { DirectoryStore, Tenant } from '../directory/index.ts'
import { isGuid } from '../kernel/ids.ts'
import { StsError } from './errors.ts'

/** The tenant segment of an authority URL: a real tenant, or one of Entra's aliases that leave it to the sign-in. */
export type TenantRef =
  | { kind: 'tenant'; tenant: Tenant; path: string }
  | { kind: 'multi'; alias: 'common' | 'organizations' | 'consumers'; path: string }

/** A DNS name, or a single label: Entra looks `secrets` up as a tenant name (90002), not as malformed (900023). */
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z][a-z0-9-]{0,62}$/i

export async function resolveTenant(store: DirectoryStore, segment: string): Promise<TenantRef> {
  const lower = segment.toLowerCase()
  if (lower === 'common' || lower === 'organizations' || lower === 'consumers') {
    return { kind: 'multi', alias: lower, path: lower }
  }
  if (!isGuid(segment) && !DOMAIN_RE.test(segment)) throw new StsError('tenantNameInvalid', { tenant: segment })
  const tenant = await store.getTenant(lower)
  if (!tenant) throw new StsError('tenantNotFound', { tenant: segment })
  return { kind: 'tenant', tenant, path: segment }
}
