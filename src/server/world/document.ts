/**
 * The world file of `azid apply` / `azid export` (configuration as code): what it may hold and its structural
 * validation. Wire spellings are the file's own (camelCase, as Azure's JSON); every list is optional.
 */
import { z } from 'zod'

/** A location in the document: keys and list indexes, e.g. ['roleAssignments', 0, 'role']. */
export type DocPath = (string | number)[]

export interface DocIssue {
  path: DocPath
  message: string
}

/** `roleAssignments[0].role` */
export function formatPath(p: readonly (string | number)[]): string {
  let out = ''
  for (const s of p) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`
  return out || '(document)'
}

/** Host types by the short names the CLI and the file accept. */
export const HOST_ALIASES: Record<string, string> = {
  vm: 'Microsoft.Compute/virtualMachines',
  vmss: 'Microsoft.Compute/virtualMachineScaleSets',
  webapp: 'Microsoft.Web/sites',
  functionapp: 'Microsoft.Web/sites',
  appservice: 'Microsoft.Web/sites',
  aci: 'Microsoft.ContainerInstance/containerGroups',
  container: 'Microsoft.ContainerInstance/containerGroups',
  arc: 'Microsoft.HybridCompute/machines',
}

const guid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
  message: 'must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)',
})
const name = z.string().trim().min(1, { message: 'must not be empty' })
const tags = z.record(z.string(), z.string())
const strings = z.array(z.string())
const isoDate = z.string().refine((s) => Number.isFinite(Date.parse(s)), { message: 'must be an ISO 8601 date' })

const federatedCredential = z
  .object({
    name,
    issuer: z.string().url({ message: 'must be an https URL' }),
    subject: name,
    audiences: strings.optional(),
    description: z.string().optional(),
  })
  .strict()

const secret = z
  .object({
    displayName: name,
    /** The clear-text secret to set (16+ characters). Hashed by azid; never exported. */
    value: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
    /** `sha256:<salt>:<hash>` as `azid export` writes it. */
    hash: z
      .string()
      .regex(/^sha256:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/, {
        message: "must be 'sha256:<salt>:<hash>' as azid export writes",
      })
      .optional(),
    hint: z.string().max(3).optional(),
    keyId: guid.optional(),
    endDateTime: isoDate.optional(),
  })
  .strict()

const certificate = z
  .object({
    displayName: z.string().optional(),
    /** A PEM certificate (public part only). */
    pem: z.string().includes('-----BEGIN CERTIFICATE-----', { message: 'must be a PEM certificate' }),
    keyId: guid.optional(),
  })
  .strict()

const appRole = z
  .object({
    id: guid,
    value: name,
    displayName: z.string().optional(),
    description: z.string().optional(),
    allowedMemberTypes: z.array(z.enum(['Application', 'User'])).optional(),
  })
  .strict()

export const WorldSchema = z
  .object({
    /** Format version; 1 when absent. */
    version: z.literal(1).optional(),
    tenants: z
      .array(z.object({ domain: name, id: guid.optional(), displayName: z.string().optional() }).strict())
      .optional(),
    subscriptions: z
      .array(z.object({ id: guid, displayName: z.string().optional(), tenant: z.string().optional() }).strict())
      .optional(),
    applications: z
      .array(
        z
          .object({
            displayName: name,
            appId: guid.optional(),
            objectId: guid.optional(),
            servicePrincipalId: guid.optional(),
            tenant: z.string().optional(),
            publicClient: z.boolean().optional(),
            accessTokenVersion: z.union([z.literal(1), z.literal(2)]).optional(),
            identifierUris: strings.optional(),
            redirectUris: strings.optional(),
            appRoles: z.array(appRole).optional(),
            secrets: z.array(secret).optional(),
            certificates: z.array(certificate).optional(),
            federatedCredentials: z.array(federatedCredential).optional(),
          })
          .strict(),
      )
      .optional(),
    users: z
      .array(
        z
          .object({
            userPrincipalName: z.string().includes('@', { message: 'must be name@domain' }),
            displayName: z.string().optional(),
            objectId: guid.optional(),
            tenant: z.string().optional(),
            password: z.string().min(8, { message: 'must be at least 8 characters' }).optional(),
            passwordHash: z
              .string()
              .startsWith('scrypt$', { message: "must be 'scrypt$…' as azid export writes" })
              .optional(),
          })
          .strict(),
      )
      .optional(),
    resourceGroups: z
      .array(z.object({ name, location: name, subscription: z.string().optional(), tags: tags.optional() }).strict())
      .optional(),
    customRoles: z
      .array(
        z
          .object({
            name,
            id: guid.optional(),
            description: z.string().optional(),
            actions: strings.optional(),
            notActions: strings.optional(),
            dataActions: strings.optional(),
            notDataActions: strings.optional(),
            assignableScopes: strings.optional(),
          })
          .strict(),
      )
      .optional(),
    identities: z
      .array(
        z
          .object({
            name,
            resourceGroup: name,
            subscription: z.string().optional(),
            location: z.string().optional(),
            tags: tags.optional(),
            principalId: guid.optional(),
            clientId: guid.optional(),
            federatedCredentials: z.array(federatedCredential).optional(),
          })
          .strict(),
      )
      .optional(),
    hosts: z
      .array(
        z
          .object({
            name,
            type: name,
            resourceGroup: name,
            subscription: z.string().optional(),
            location: z.string().optional(),
            tags: tags.optional(),
            /** true, or the ids to keep (export) */
            systemAssigned: z
              .union([z.boolean(), z.object({ principalId: guid, clientId: guid.optional() }).strict()])
              .optional(),
            /** user-assigned identities: `name`, `resourceGroup/name` or a resource id */
            userAssigned: strings.optional(),
            properties: z.record(z.string(), z.unknown()).optional(),
            sku: z.unknown().optional(),
            kind: z.string().optional(),
          })
          .strict(),
      )
      .optional(),
    roleAssignments: z
      .array(
        z
          .object({
            /** object id, app id, UPN, `identity:[rg/]name`, `host:[rg/]name`, `app:displayName` */
            assignee: name,
            /** role name or GUID */
            role: name,
            scope: z.string().optional(),
            resourceGroup: z.string().optional(),
            subscription: z.string().optional(),
            id: guid.optional(),
            description: z.string().optional(),
          })
          .strict(),
      )
      .optional(),
    faults: z
      .array(
        z
          .object({
            name: z.string().optional(),
            effect: z.union([z.string(), z.number()]),
            host: z.string().optional(),
            flavour: z.string().optional(),
            path: z.string().optional(),
            identity: z.string().optional(),
            count: z.number().int().positive().optional(),
            probability: z.number().gt(0).lte(1).optional(),
            retryAfter: z.number().int().nonnegative().optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict()

export type World = z.infer<typeof WorldSchema>
export type WorldApplication = NonNullable<World['applications']>[number]
export type WorldIdentity = NonNullable<World['identities']>[number]
export type WorldHost = NonNullable<World['hosts']>[number]
export type WorldRoleAssignment = NonNullable<World['roleAssignments']>[number]
export type WorldFault = NonNullable<World['faults']>[number]
export type WorldFic = z.infer<typeof federatedCredential>

/** Structural check: every problem, each with the path of the offending key. */
export function parseWorld(raw: unknown): { world: World; issues: [] } | { world: null; issues: DocIssue[] } {
  if (raw === null || raw === undefined) return { world: {}, issues: [] }
  const r = WorldSchema.safeParse(raw)
  if (r.success) return { world: r.data, issues: [] }
  const issues: DocIssue[] = []
  for (const i of r.error.issues) {
    const path = i.path.filter((p): p is string | number => typeof p !== 'symbol')
    if (i.code === 'unrecognized_keys')
      for (const k of i.keys) issues.push({ path: [...path, k], message: `unknown key '${k}'` })
    else if (i.code === 'invalid_type' && /received undefined$/.test(i.message))
      issues.push({ path, message: `is required (${i.expected})` })
    else issues.push({ path, message: i.message.replace(/^Invalid input: /, '') })
  }
  return { world: null, issues }
}

/** What apply did (or would do) to one item. */
export interface Change {
  path: DocPath
  kind: string
  name: string
  action: 'created' | 'updated' | 'unchanged'
  detail?: string
}

export interface ApplyResult {
  dryRun: boolean
  changes: Change[]
  summary: { created: number; updated: number; unchanged: number }
  /** Client secrets azid generated for secrets the file named without a value (shown once). */
  generatedSecrets: { application: string; displayName: string; value: string }[]
  elapsedMs: number
}
