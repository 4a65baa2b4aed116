import assert from 'node:assert/strict'
import type {
  AppRoleAssignment,
  Application,
  FederatedCredential,
  KeyCredential,
  PasswordCredential,
  ServicePrincipal,
  Tenant,
  User,
} from '../../directory/model.ts'
import type { DirectoryStore } from '../../directory/ports.ts'
import { createDirectoryStore } from '../directory-store.ts'
import { type Case, type OpenStore, guid, runContract, runOnEveryBackend, sortBy } from './harness.ts'

const T = 1_720_000_000_000 // a fixed epoch-millisecond base; bigger than 2^31 on purpose
const TENANT = guid(1, '7e7a0000')
const OTHER_TENANT = guid(2, '7e7a0000')

const tenant = (over: Partial<Tenant> = {}): Tenant => ({
  id: TENANT,
  domain: 'contoso.onmicrosoft.com',
  displayName: 'Contoso',
  isDefault: true,
  createdAt: T,
  ...over,
})

const application = (n: number, over: Partial<Application> = {}): Application => ({
  tenantId: TENANT,
  objectId: guid(n, '0b1ec700'),
  appId: guid(n, 'a9910000'),
  displayName: `app ${n}`,
  isPublicClient: false,
  accessTokenVersion: 1,
  identifierUris: [],
  redirectUris: [],
  appRoles: [],
  createdAt: T + n,
  ...over,
})

const sp = (n: number, over: Partial<ServicePrincipal> = {}): ServicePrincipal => ({
  tenantId: TENANT,
  objectId: guid(n, '5e7c0000'),
  appId: guid(n, 'a9910000'),
  displayName: `sp ${n}`,
  type: 'Application',
  appOwnerTenantId: TENANT,
  servicePrincipalNames: [guid(n, 'a9910000')],
  alternativeNames: [],
  managedIdentityResourceId: null,
  accountEnabled: true,
  createdAt: T + n,
  ...over,
})

const APP = guid(1, 'a9910000')

const password = (n: number, over: Partial<PasswordCredential> = {}): PasswordCredential => ({
  keyId: guid(n, 'cafe0000'),
  tenantId: TENANT,
  appId: APP,
  displayName: `secret ${n}`,
  hint: 'abc',
  salt: `salt-${n}`,
  hash: `hash-${n}`,
  startAt: T,
  endAt: T + 365 * 86_400_000,
  createdAt: T + n,
  ...over,
})

const SHA1 = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678'
const SHA256 = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'

const keyCred = (n: number, over: Partial<KeyCredential> = {}): KeyCredential => ({
  keyId: guid(n, 'ce270000'),
  tenantId: TENANT,
  appId: APP,
  displayName: `CN=cert ${n}`,
  sha1Hex: SHA1,
  sha256Hex: SHA256,
  certDer: 'MIIBfake==',
  startAt: T,
  endAt: T + 86_400_000,
  createdAt: T + n,
  ...over,
})

const fic = (n: number, over: Partial<FederatedCredential> = {}): FederatedCredential => ({
  id: guid(n, 'f1c00000'),
  tenantId: TENANT,
  appId: APP,
  name: `fic-${n}`,
  issuer: 'https://token.actions.githubusercontent.com',
  subject: `repo:contoso/app:environment:env${n}`,
  audiences: ['api://AzureADTokenExchange'],
  description: null,
  resourceId: null,
  createdAt: T + n,
  ...over,
})

const user = (n: number, over: Partial<User> = {}): User => ({
  tenantId: TENANT,
  objectId: guid(n, '05e40000'),
  userPrincipalName: `user${n}@contoso.onmicrosoft.com`,
  displayName: `User ${n}`,
  passwordHash: `scrypt$16384$salt$hash${n}`,
  createdAt: T + n,
  ...over,
})

const assignment = (n: number, over: Partial<AppRoleAssignment> = {}): AppRoleAssignment => ({
  id: guid(n, 'a7a00000'),
  tenantId: TENANT,
  principalId: guid(1, '5e7c0000'),
  resourceAppId: '00000003-0000-0000-c000-000000000000',
  appRoleId: guid(n, '7a1e0000'),
  createdAt: T + n,
  ...over,
})

const upper = (s: string) => s.toUpperCase()

const CASES: readonly Case<DirectoryStore>[] = [
  [
    'tenants: put, get by id or domain (case-insensitive, stored lower case), list by creation',
    async (s) => {
      assert.deepEqual(await s.listTenants(), [])
      await s.putTenant(tenant({ id: upper(TENANT), domain: 'Contoso.OnMicrosoft.com' }))
      await s.putTenant(tenant({ id: OTHER_TENANT, domain: 'fabrikam.example', isDefault: false, createdAt: T - 1 }))
      const expected = tenant()
      assert.deepEqual(await s.getTenant(TENANT), expected)
      assert.deepEqual(await s.getTenant(upper(TENANT)), expected)
      assert.deepEqual(await s.getTenant('contoso.onmicrosoft.com'), expected)
      assert.deepEqual(await s.getTenant('CONTOSO.onmicrosoft.COM'), expected)
      assert.equal((await s.getTenant('fabrikam.example'))?.isDefault, false)
      assert.equal(await s.getTenant('nobody.example'), undefined)
      assert.equal(await s.getTenant(guid(99)), undefined)
      assert.deepEqual(
        (await s.listTenants()).map((x) => x.id),
        [OTHER_TENANT, TENANT],
      )
    },
  ],
  [
    'tenants: put again upserts domain and display name, keeps createdAt; domains are unique',
    async (s) => {
      await s.putTenant(tenant())
      await s.putTenant(tenant({ domain: 'contoso.example', displayName: 'Contoso Ltd', createdAt: T + 5 }))
      const got = await s.getTenant(TENANT)
      assert.equal(got?.domain, 'contoso.example')
      assert.equal(got?.displayName, 'Contoso Ltd')
      assert.equal(got?.createdAt, T)
      assert.equal(await s.getTenant('contoso.onmicrosoft.com'), undefined)
      assert.equal((await s.listTenants()).length, 1)
      await assert.rejects(s.putTenant(tenant({ id: OTHER_TENANT, domain: 'CONTOSO.example' })))
      assert.equal((await s.listTenants()).length, 1)
    },
  ],
  [
    'applications: put, get by object id and by app id (case-insensitive), JSON fields round trip',
    async (s) => {
      const roles = [
        {
          id: guid(1, '7a1e0000'),
          value: 'Data.Read',
          displayName: 'Read data',
          description: 'Reads "data" — ünïcode',
          allowedMemberTypes: ['Application', 'User'] as const,
          isEnabled: true,
        },
      ]
      const a = application(1, {
        isPublicClient: true,
        accessTokenVersion: 2,
        identifierUris: ['api://contoso-api', 'https://api.contoso.example/'],
        redirectUris: ['http://localhost', 'https://app.contoso.example/callback'],
        appRoles: roles,
      })
      await s.putApplication({ ...a, objectId: upper(a.objectId), appId: upper(a.appId) })
      assert.deepEqual(await s.getApplication(a.objectId), a)
      assert.deepEqual(await s.getApplication(upper(a.objectId)), a)
      assert.deepEqual(await s.getApplicationByAppId(upper(a.appId)), a)
      assert.deepEqual(await s.getApplicationByAppId(a.appId), a)
      assert.equal(await s.getApplication(a.appId), undefined, 'object id and app id are different keys')
      assert.equal(await s.getApplicationByAppId(guid(42)), undefined)
      const plain = application(2)
      await s.putApplication(plain)
      assert.deepEqual(await s.getApplication(plain.objectId), plain)
    },
  ],
  [
    'applications: list per tenant in creation order; put again updates; app ids are unique; delete',
    async (s) => {
      await s.putApplication(application(3))
      await s.putApplication(application(1))
      await s.putApplication(application(2, { tenantId: OTHER_TENANT }))
      assert.deepEqual(
        (await s.listApplications(TENANT)).map((a) => a.displayName),
        ['app 1', 'app 3'],
      )
      assert.deepEqual(
        (await s.listApplications(OTHER_TENANT)).map((a) => a.displayName),
        ['app 2'],
      )
      assert.deepEqual(await s.listApplications(guid(77)), [])

      const changed = application(1, {
        displayName: 'renamed',
        accessTokenVersion: 2,
        identifierUris: ['api://renamed'],
        createdAt: T + 999,
      })
      await s.putApplication(changed)
      const got = await s.getApplication(changed.objectId)
      assert.deepEqual(got, { ...changed, createdAt: T + 1 }, 'createdAt is kept')

      await assert.rejects(s.putApplication(application(9, { appId: upper(application(1).appId) })))
      assert.equal(await s.getApplication(application(9).objectId), undefined)

      await s.deleteApplication(upper(application(1).objectId))
      assert.equal(await s.getApplication(application(1).objectId), undefined)
      assert.equal(await s.getApplicationByAppId(application(1).appId), undefined)
      await s.deleteApplication(guid(12345)) // absent: no error
      assert.equal((await s.listApplications(TENANT)).length, 1)
    },
  ],
  [
    'service principals: put, get by object id and by (tenant, app id), every field round trips',
    async (s) => {
      const mi = sp(1, {
        type: 'ManagedIdentity',
        appOwnerTenantId: null,
        servicePrincipalNames: [guid(1, 'a9910000'), 'https://identity.azure.net/abc='],
        alternativeNames: ['isExplicit=True', '/subscriptions/s/resourcegroups/rg/providers/x/y/id1'],
        managedIdentityResourceId:
          '/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1',
        accountEnabled: false,
      })
      await s.putServicePrincipal({ ...mi, objectId: upper(mi.objectId), appId: upper(mi.appId) })
      assert.deepEqual(await s.getServicePrincipal(mi.objectId), mi)
      assert.deepEqual(await s.getServicePrincipal(upper(mi.objectId)), mi)
      assert.deepEqual(await s.getServicePrincipalByAppId(TENANT, upper(mi.appId)), mi)
      assert.equal(await s.getServicePrincipalByAppId(OTHER_TENANT, mi.appId), undefined)
      assert.equal(await s.getServicePrincipal(guid(404)), undefined)
    },
  ],
  [
    'service principals: one per (tenant, app id); the same app in another tenant is fine; upsert; delete',
    async (s) => {
      await s.putServicePrincipal(sp(1))
      await assert.rejects(s.putServicePrincipal(sp(1, { objectId: guid(50, '5e7c0000') })))
      await assert.rejects(
        s.putServicePrincipal(sp(1, { objectId: guid(51, '5e7c0000'), appId: upper(sp(1).appId) })),
        'unique on the lower-cased app id',
      )
      await s.putServicePrincipal(sp(1, { objectId: guid(52, '5e7c0000'), tenantId: OTHER_TENANT }))
      assert.equal((await s.getServicePrincipalByAppId(OTHER_TENANT, sp(1).appId))?.objectId, guid(52, '5e7c0000'))
      assert.equal((await s.getServicePrincipalByAppId(TENANT, sp(1).appId))?.objectId, sp(1).objectId)

      await s.putServicePrincipal(sp(1, { displayName: 'renamed', accountEnabled: false, createdAt: T + 77 }))
      const got = await s.getServicePrincipal(sp(1).objectId)
      assert.equal(got?.displayName, 'renamed')
      assert.equal(got?.accountEnabled, false)
      assert.equal(got?.createdAt, T + 1)

      await s.deleteServicePrincipal(upper(sp(1).objectId))
      assert.equal(await s.getServicePrincipal(sp(1).objectId), undefined)
      assert.equal(await s.getServicePrincipalByAppId(TENANT, sp(1).appId), undefined)
      // after deletion the (tenant, app id) pair is free again
      await s.putServicePrincipal(sp(1, { objectId: guid(53, '5e7c0000') }))
      assert.equal((await s.getServicePrincipalByAppId(TENANT, sp(1).appId))?.objectId, guid(53, '5e7c0000'))
    },
  ],
  [
    'service principals: list per tenant by object id, filtered by type, paged with after and limit',
    async (s) => {
      for (const n of [5, 3, 1, 4, 2])
        await s.putServicePrincipal(sp(n, n % 2 === 0 ? { type: 'ManagedIdentity', appOwnerTenantId: null } : {}))
      await s.putServicePrincipal(sp(6, { tenantId: OTHER_TENANT }))
      const ids = (xs: ServicePrincipal[]) => xs.map((x) => x.objectId)
      assert.deepEqual(
        ids(await s.listServicePrincipals({ tenantId: TENANT })),
        [1, 2, 3, 4, 5].map((n) => sp(n).objectId),
      )
      assert.deepEqual(ids(await s.listServicePrincipals({ tenantId: TENANT, type: 'ManagedIdentity' })), [
        sp(2).objectId,
        sp(4).objectId,
      ])
      assert.deepEqual(ids(await s.listServicePrincipals({ tenantId: TENANT, type: 'Application' })), [
        sp(1).objectId,
        sp(3).objectId,
        sp(5).objectId,
      ])
      assert.deepEqual(ids(await s.listServicePrincipals({ tenantId: TENANT, limit: 2 })), [
        sp(1).objectId,
        sp(2).objectId,
      ])
      assert.deepEqual(ids(await s.listServicePrincipals({ tenantId: TENANT, limit: 2, after: sp(2).objectId })), [
        sp(3).objectId,
        sp(4).objectId,
      ])
      assert.deepEqual(ids(await s.listServicePrincipals({ tenantId: TENANT, after: sp(5).objectId })), [])
      assert.deepEqual(ids(await s.listServicePrincipals({ tenantId: OTHER_TENANT })), [sp(6).objectId])
      assert.deepEqual(await s.listServicePrincipals({ tenantId: guid(7) }), [])
    },
  ],
  [
    'password credentials: put, list by app id (case-insensitive), key ids unique, delete',
    async (s) => {
      await s.putPasswordCredential(password(1, { appId: upper(APP) }))
      await s.putPasswordCredential(password(2))
      await s.putPasswordCredential(password(3, { appId: guid(2, 'a9910000') }))
      const list = sortBy(await s.listPasswordCredentials(upper(APP)), (c) => c.keyId)
      assert.deepEqual(list, [password(1), password(2)])
      assert.deepEqual(await s.listPasswordCredentials(guid(2, 'a9910000')), [
        password(3, { appId: guid(2, 'a9910000') }),
      ])
      assert.deepEqual(await s.listPasswordCredentials(guid(9, 'a9910000')), [])
      await assert.rejects(s.putPasswordCredential(password(1, { displayName: 'again' })))
      await s.deletePasswordCredential(password(1).keyId)
      assert.deepEqual(await s.listPasswordCredentials(APP), [password(2)])
      await s.deletePasswordCredential(password(1).keyId) // absent: no error
    },
  ],
  [
    'key credentials: thumbprints stored upper case; findKeyCredential by SHA-1 or SHA-256 hex in any case',
    async (s) => {
      await s.putKeyCredential(keyCred(1, { appId: upper(APP) }))
      await s.putKeyCredential(
        keyCred(2, { sha1Hex: '1111111111111111111111111111111111111111', sha256Hex: 'ff'.repeat(32) }),
      )
      const one = keyCred(1, { sha1Hex: upper(SHA1), sha256Hex: upper(SHA256) })
      assert.deepEqual(sortBy(await s.listKeyCredentials(APP), (c) => c.keyId)[0], one)
      assert.equal((await s.listKeyCredentials(upper(APP))).length, 2)
      assert.deepEqual(await s.findKeyCredential({ appId: APP, sha1Hex: SHA1 }), one)
      assert.deepEqual(await s.findKeyCredential({ appId: upper(APP), sha1Hex: upper(SHA1) }), one)
      assert.deepEqual(await s.findKeyCredential({ appId: APP, sha256Hex: SHA256 }), one)
      assert.deepEqual(await s.findKeyCredential({ appId: APP, sha256Hex: upper(SHA256) }), one)
      assert.equal((await s.findKeyCredential({ appId: APP, sha256Hex: 'FF'.repeat(32) }))?.keyId, keyCred(2).keyId)
      assert.equal(await s.findKeyCredential({ appId: APP }), undefined, 'no thumbprint: no match')
      assert.equal(await s.findKeyCredential({ appId: APP, sha1Hex: '22'.repeat(20) }), undefined)
      assert.equal(await s.findKeyCredential({ appId: guid(3, 'a9910000'), sha1Hex: SHA1 }), undefined, 'other app')
      await assert.rejects(s.putKeyCredential(keyCred(1)))
      await s.deleteKeyCredential(keyCred(1).keyId)
      assert.equal(await s.findKeyCredential({ appId: APP, sha1Hex: SHA1 }), undefined)
      assert.deepEqual(
        (await s.listKeyCredentials(APP)).map((c) => c.keyId),
        [keyCred(2).keyId],
      )
    },
  ],
  [
    'federated credentials: list by app in creation order, upsert by id, (app, name) unique, delete',
    async (s) => {
      const two = fic(2, { audiences: ['api://AzureADTokenExchange', 'https://other'], description: 'desc "2"' })
      await s.putFederatedCredential(two)
      await s.putFederatedCredential(
        fic(1, {
          appId: upper(APP),
          resourceId: '/subscriptions/s/resourceGroups/rg/providers/x/y/z/federatedIdentityCredentials/fic-1',
        }),
      )
      await s.putFederatedCredential(fic(3, { appId: guid(2, 'a9910000') }))
      const list = await s.listFederatedCredentials(upper(APP))
      assert.deepEqual(list, [
        fic(1, { resourceId: '/subscriptions/s/resourceGroups/rg/providers/x/y/z/federatedIdentityCredentials/fic-1' }),
        two,
      ])
      await s.putFederatedCredential({
        ...two,
        subject: 'repo:contoso/app:ref:refs/heads/main',
        audiences: ['a'],
        description: null,
      })
      const after = (await s.listFederatedCredentials(APP)).find((c) => c.id === two.id)
      assert.equal(after?.subject, 'repo:contoso/app:ref:refs/heads/main')
      assert.deepEqual(after?.audiences, ['a'])
      assert.equal(after?.description, null)
      await assert.rejects(s.putFederatedCredential(fic(9, { name: 'fic-2' })), 'name is unique per app')
      await s.putFederatedCredential(fic(10, { name: 'fic-2', appId: guid(3, 'a9910000') }))
      await s.deleteFederatedCredential(two.id)
      assert.deepEqual(
        (await s.listFederatedCredentials(APP)).map((c) => c.id),
        [fic(1).id],
      )
      assert.deepEqual(await s.listFederatedCredentials(guid(99, 'a9910000')), [])
    },
  ],
  [
    'users: UPN stored lower case and looked up in any case; list by UPN; upsert; UPN unique; delete',
    async (s) => {
      await s.putUser(
        user(2, { objectId: upper(user(2).objectId), userPrincipalName: 'User2@Contoso.OnMicrosoft.com' }),
      )
      await s.putUser(user(1, { passwordHash: null }))
      await s.putUser(user(3, { tenantId: OTHER_TENANT }))
      assert.deepEqual(await s.getUser(user(2).objectId), user(2))
      assert.deepEqual(await s.getUser(upper(user(2).objectId)), user(2))
      assert.deepEqual(await s.getUserByUpn('USER2@contoso.onmicrosoft.com'), user(2))
      assert.equal((await s.getUser(user(1).objectId))?.passwordHash, null)
      assert.equal(await s.getUserByUpn('nobody@contoso.onmicrosoft.com'), undefined)
      assert.deepEqual(
        (await s.listUsers(TENANT)).map((u) => u.userPrincipalName),
        ['user1@contoso.onmicrosoft.com', 'user2@contoso.onmicrosoft.com'],
      )
      await s.putUser(
        user(1, { userPrincipalName: 'Renamed@contoso.onmicrosoft.com', displayName: 'R', passwordHash: 'h' }),
      )
      assert.equal(await s.getUserByUpn('user1@contoso.onmicrosoft.com'), undefined)
      const renamed = await s.getUserByUpn('renamed@contoso.onmicrosoft.com')
      assert.equal(renamed?.objectId, user(1).objectId)
      assert.equal(renamed?.displayName, 'R')
      assert.equal(renamed?.passwordHash, 'h')
      await assert.rejects(s.putUser(user(9, { userPrincipalName: 'USER2@contoso.onmicrosoft.com' })))
      await s.deleteUser(upper(user(2).objectId))
      assert.equal(await s.getUser(user(2).objectId), undefined)
      assert.deepEqual(
        (await s.listUsers(TENANT)).map((u) => u.objectId),
        [user(1).objectId],
      )
    },
  ],
  [
    'app role assignments: list by principal (and resource), a repeated triple is a no-op, delete by id',
    async (s) => {
      const principal = assignment(1).principalId
      await s.putAppRoleAssignment(assignment(1, { principalId: upper(principal) }))
      await s.putAppRoleAssignment(assignment(2))
      await s.putAppRoleAssignment(assignment(3, { resourceAppId: upper('e406a681-f3d4-42a8-90b6-c2b029497af1') }))
      await s.putAppRoleAssignment(assignment(4, { principalId: guid(2, '5e7c0000') }))
      // the same (principal, resource, role) again under another id changes nothing
      await s.putAppRoleAssignment(assignment(1, { id: guid(99, 'a7a00000'), createdAt: T + 99 }))
      const all = sortBy(await s.listAppRoleAssignments({ principalId: upper(principal) }), (a) => a.id)
      assert.deepEqual(all, [
        assignment(1),
        assignment(2),
        assignment(3, { resourceAppId: 'e406a681-f3d4-42a8-90b6-c2b029497af1' }),
      ])
      const graph = await s.listAppRoleAssignments({
        principalId: principal,
        resourceAppId: '00000003-0000-0000-C000-000000000000',
      })
      assert.deepEqual(
        sortBy(graph, (a) => a.id).map((a) => a.id),
        [assignment(1).id, assignment(2).id],
      )
      await s.deleteAppRoleAssignment(assignment(1).id)
      await s.deleteAppRoleAssignment(guid(99, 'a7a00000')) // never stored: no error
      assert.deepEqual(
        sortBy(await s.listAppRoleAssignments({ principalId: principal }), (a) => a.id).map((a) => a.id),
        [assignment(2).id, assignment(3).id],
      )
      assert.deepEqual(await s.listAppRoleAssignments({ principalId: guid(3, '5e7c0000') }), [])
    },
  ],
  [
    'meta: getMeta of an absent key; putMetaIfAbsent sets once and returns the winner, also under a race',
    async (s) => {
      assert.equal(await s.getMeta('bootstrap'), undefined)
      assert.equal(await s.putMetaIfAbsent('bootstrap', 'first'), 'first')
      assert.equal(await s.putMetaIfAbsent('bootstrap', 'second'), 'first')
      assert.equal(await s.getMeta('bootstrap'), 'first')
      assert.equal(await s.getMeta('Bootstrap'), undefined, 'keys are case-sensitive')
      const contenders = ['a', 'b', 'c', 'd', 'e', 'f']
      const answers = await Promise.all(contenders.map((v) => s.putMetaIfAbsent('race', v)))
      const winner = answers[0] as string
      assert.ok(contenders.includes(winner))
      assert.deepEqual(
        answers,
        contenders.map(() => winner),
      )
      assert.equal(await s.getMeta('race'), winner)
      const big = 'x'.repeat(100_000)
      assert.equal(await s.putMetaIfAbsent('big', big), big)
    },
  ],
  [
    'transaction: commits on success and returns the value; rolls everything back on a throw; nests',
    async (s) => {
      const v = await s.transaction(async (tx) => {
        await tx.putTenant(tenant())
        await tx.putApplication(application(1))
        assert.equal((await tx.getTenant(TENANT))?.id, TENANT, 'reads its own writes')
        return tx.transaction(async (inner) => {
          await inner.putUser(user(1))
          return 42
        })
      })
      assert.equal(v, 42)
      assert.ok(await s.getTenant(TENANT))
      assert.ok(await s.getApplication(application(1).objectId))
      assert.ok(await s.getUser(user(1).objectId))

      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.putTenant(tenant({ id: OTHER_TENANT, domain: 'fabrikam.example' }))
          await tx.putServicePrincipal(sp(1))
          await tx.transaction(async (inner) => inner.putUser(user(2)))
          throw new Error('boom')
        }),
        /boom/,
      )
      assert.equal(await s.getTenant(OTHER_TENANT), undefined)
      assert.equal(await s.getServicePrincipal(sp(1).objectId), undefined)
      assert.equal(await s.getUser(user(2).objectId), undefined)

      // a constraint violation inside rolls back the earlier writes of the same transaction
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.putUser(user(3))
          await tx.putApplication(application(7, { appId: application(1).appId }))
        }),
      )
      assert.equal(await s.getUser(user(3).objectId), undefined)
      assert.ok(await s.getApplication(application(1).objectId))
    },
  ],
]

/** The DirectoryStore contract against one backend; `open` gives an empty store for each case. */
export function runDirectoryStoreContract(
  name: string,
  open: OpenStore<DirectoryStore>,
  opts: { unavailable?: string | null; dispose?: () => Promise<void> } = {},
): void {
  runContract({ port: 'DirectoryStore', backend: name, open, ...opts, cases: CASES })
}

runOnEveryBackend((db) => createDirectoryStore(db), runDirectoryStoreContract)
