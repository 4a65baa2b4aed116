import { existsSync, readFileSync } from 'node:fs'
import type { ArmStore } from '../arm/index.ts'
import type { Config } from '../config/index.ts'
import type { DirectoryService } from '../directory/index.ts'
import type { Ids } from '../kernel/ids.ts'
import { nameGuid, opaqueToken } from '../kernel/ids.ts'
import { writePrivateFile } from './files.ts'

export interface BootstrapCredentials {
  tenantId: string
  clientId: string
  /** Present when this node created the credentials or they come from config or the data directory. */
  clientSecret: string | null
  servicePrincipalId: string
  userPrincipalName: string
  userPassword: string | null
  userId: string
  /** True on the start that created them. */
  created: boolean
}

const META_KEY = 'bootstrap.v1'

/**
 * First start: the default tenant, an administrator application with a client secret, and a directory user.
 * The secrets are printed once and written to dataDir/bootstrap.json (mode 0600). Safe for several nodes starting
 * together on one PostgreSQL: one of them wins, the others read what it stored.
 */
export async function bootstrapDirectory(deps: {
  config: Config
  directory: DirectoryService
  ids: Ids
  file: string
}): Promise<BootstrapCredentials> {
  const { config, directory, ids } = deps
  const tenant = await directory.ensureTenant({
    id: config.tenant.id,
    domain: config.tenant.domain,
    displayName: config.tenant.displayName,
    isDefault: true,
  })
  const store = directory.store
  const proposedClientId = (config.bootstrap.clientId ?? ids.uuid()).toLowerCase()
  const winner = await store.putMetaIfAbsent(
    META_KEY,
    JSON.stringify({ clientId: proposedClientId, state: 'creating' }),
  )
  const claimed = JSON.parse(winner) as { clientId: string; userId?: string; servicePrincipalId?: string; upn?: string }
  const fromFile = existsSync(deps.file)
    ? (JSON.parse(readFileSync(deps.file, 'utf8')) as Partial<BootstrapCredentials>)
    : undefined

  if (claimed.clientId === proposedClientId && !(await store.getApplicationByAppId(proposedClientId))) {
    const { servicePrincipal } = await directory.createApplication({
      tenantId: tenant.id,
      appId: proposedClientId,
      displayName: 'azid bootstrap administrator',
    })
    const { secretText } = await directory.addPassword({
      appId: proposedClientId,
      displayName: 'bootstrap',
      ...(config.bootstrap.clientSecret ? { secretText: config.bootstrap.clientSecret } : {}),
    })
    const upn = (config.bootstrap.userPrincipalName ?? `admin@${tenant.domain}`).toLowerCase()
    const password = config.bootstrap.userPassword ?? opaqueToken(ids, 15)
    const user =
      (await store.getUserByUpn(upn)) ??
      (await directory.createUser({
        tenantId: tenant.id,
        userPrincipalName: upn,
        displayName: 'azid Administrator',
        password,
      }))
    const creds: BootstrapCredentials = {
      tenantId: tenant.id,
      clientId: proposedClientId,
      clientSecret: secretText,
      servicePrincipalId: servicePrincipal.objectId,
      userPrincipalName: upn,
      userPassword: password,
      userId: user.objectId,
      created: true,
    }
    writePrivateFile(deps.file, `${JSON.stringify({ ...creds, created: undefined }, null, 2)}\n`)
    await store.putMetaIfAbsent(
      `${META_KEY}.done`,
      JSON.stringify({ userId: user.objectId, upn, servicePrincipalId: servicePrincipal.objectId }),
    )
    return creds
  }

  // Another start (this node earlier, or a sibling) created them.
  let done = await store.getMeta(`${META_KEY}.done`)
  for (let i = 0; !done && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100))
    done = await store.getMeta(`${META_KEY}.done`)
  }
  if (!done) throw new Error('bootstrap: another node started creating the administrator but did not finish')
  const d = JSON.parse(done) as { userId: string; upn: string; servicePrincipalId: string }
  const sameClient = fromFile?.clientId === claimed.clientId
  return {
    tenantId: tenant.id,
    clientId: claimed.clientId,
    clientSecret: config.bootstrap.clientSecret ?? (sameClient ? (fromFile?.clientSecret ?? null) : null),
    servicePrincipalId: d.servicePrincipalId,
    userPrincipalName: d.upn,
    userPassword: config.bootstrap.userPassword ?? (sameClient ? (fromFile?.userPassword ?? null) : null),
    userId: d.userId,
    created: false,
  }
}

/** Owner of the default subscription */
export const OWNER_ROLE_ID = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'

/**
 * The default subscription, and Owner on it for the bootstrap administrator and user. Ids are derived from names,
 * so every node (and every restart) writes the same rows.
 */
export async function bootstrapSubscription(deps: {
  config: Config
  store: ArmStore
  creds: BootstrapCredentials
  now: number
}): Promise<void> {
  const { config, store, creds } = deps
  const sub = config.subscription.id.toLowerCase()
  if (!(await store.getSubscription(sub)))
    await store.putSubscription({
      id: sub,
      tenantId: creds.tenantId,
      displayName: config.subscription.displayName,
      state: 'Enabled',
      createdAt: deps.now,
    })
  const grants: [string, 'ServicePrincipal' | 'User'][] = [
    [creds.servicePrincipalId, 'ServicePrincipal'],
    [creds.userId, 'User'],
  ]
  for (const [principalId, principalType] of grants) {
    const id = nameGuid('azid-bootstrap-owner', `${sub}/${principalId}`)
    if (await store.getRoleAssignment(id)) continue
    await store.putRoleAssignment({
      id,
      scope: `/subscriptions/${sub}`,
      roleDefinitionId: OWNER_ROLE_ID,
      principalId,
      principalType,
      description: 'azid bootstrap administrator',
      condition: null,
      conditionVersion: null,
      createdAt: deps.now,
      updatedAt: deps.now,
      createdBy: null,
      updatedBy: null,
    })
  }
}
