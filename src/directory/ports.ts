import type {
  AppRoleAssignment,
  Application,
  FederatedCredential,
  KeyCredential,
  PasswordCredential,
  ServicePrincipal,
  Tenant,
  User,
} from './model.ts'

/** What the directory needs from storage. Implemented by store/. */
export interface DirectoryStore {
  transaction<T>(fn: (tx: DirectoryStore) => Promise<T>): Promise<T>

  getTenant(idOrDomain: string): Promise<Tenant | undefined>
  listTenants(): Promise<Tenant[]>
  putTenant(t: Tenant): Promise<void>

  getApplicationByAppId(appId: string): Promise<Application | undefined>
  getApplication(objectId: string): Promise<Application | undefined>
  listApplications(tenantId: string): Promise<Application[]>
  putApplication(a: Application): Promise<void>
  deleteApplication(objectId: string): Promise<void>

  getServicePrincipal(objectId: string): Promise<ServicePrincipal | undefined>
  getServicePrincipalByAppId(tenantId: string, appId: string): Promise<ServicePrincipal | undefined>
  listServicePrincipals(q: {
    tenantId: string
    type?: string
    limit?: number
    after?: string
  }): Promise<ServicePrincipal[]>
  putServicePrincipal(sp: ServicePrincipal): Promise<void>
  deleteServicePrincipal(objectId: string): Promise<void>

  listPasswordCredentials(appId: string): Promise<PasswordCredential[]>
  putPasswordCredential(c: PasswordCredential): Promise<void>
  deletePasswordCredential(keyId: string): Promise<void>

  listKeyCredentials(appId: string): Promise<KeyCredential[]>
  findKeyCredential(q: { appId: string; sha1Hex?: string; sha256Hex?: string }): Promise<KeyCredential | undefined>
  putKeyCredential(c: KeyCredential): Promise<void>
  deleteKeyCredential(keyId: string): Promise<void>

  listFederatedCredentials(appId: string): Promise<FederatedCredential[]>
  putFederatedCredential(c: FederatedCredential): Promise<void>
  deleteFederatedCredential(id: string): Promise<void>

  getUser(objectId: string): Promise<User | undefined>
  getUserByUpn(upn: string): Promise<User | undefined>
  listUsers(tenantId: string): Promise<User[]>
  putUser(u: User): Promise<void>
  deleteUser(objectId: string): Promise<void>

  listAppRoleAssignments(q: { principalId: string; resourceAppId?: string }): Promise<AppRoleAssignment[]>
  putAppRoleAssignment(a: AppRoleAssignment): Promise<void>
  deleteAppRoleAssignment(id: string): Promise<void>

  getMeta(key: string): Promise<string | undefined>
  /** Sets `key` only if absent; returns the value that is stored afterwards (the winner under concurrency). */
  putMetaIfAbsent(key: string, value: string): Promise<string>
}
