// Authentication and authorization on the File service, on the wire: OAuth as seed 001 describes it (bearer tokens
// need `x-ms-file-request-intent: backup`; the privileged roles grant read-all / write-all through the
// readFileBackupSemantics / writeFileBackupSemantics dataActions; share and service management refused over OAuth),
// Shared Key, service and account SAS, and what each failure looks like (Azure's status, code and XML).
// Requirements: AFO-001, AFO-002, AFO-003, AFO-005, AFO-006, STG-004, STG-005, STG-006; issue 5 §3 and "Bad input".
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { type Principal, authorizationEvents, newPrincipal } from '../arm/helpers.ts'
import {
  type Account,
  STORAGE_CHALLENGE,
  STORAGE_ROLE,
  createAccount,
  expectStorageError,
  grantRole,
  storageToken,
} from '../blob/helpers.ts'
import { FILE_ROLE, type Files, fileApi, fileOps } from './helpers.ts'

let s: TestServer
let acct: Account
let f: Files
let o: ReturnType<typeof fileOps>
const tokens: Record<string, string> = {}
const principals: Record<string, Principal> = {}

before(async () => {
  s = await startTestServer()
  acct = await createAccount(s, 'authfiles', 'fileauth')
  f = fileApi(s, acct)
  o = fileOps(f)
  assert.equal((await o.share('secure')).status, 201)
  assert.equal((await o.share('other')).status, 201)
  await o.dir('secure/dir')
  await o.create('secure/dir/hello.txt', 5)
  await o.put('secure/dir/hello.txt', 0, Buffer.from('hello'))
  const roles: Record<string, { role: string; scope?: string } | null> = {
    contributor: { role: FILE_ROLE.PrivilegedContributor },
    reader: { role: FILE_ROLE.PrivilegedReader },
    smb: { role: FILE_ROLE.SmbShareContributor },
    blob: { role: STORAGE_ROLE.BlobDataOwner },
    shareOnly: { role: FILE_ROLE.PrivilegedContributor, scope: `${acct.id}/fileServices/default/fileshares/other` },
    nobody: null,
  }
  for (const [name, grant] of Object.entries(roles)) {
    const p = await newPrincipal(s, `files-${name}`)
    principals[name] = p
    if (grant) await grantRole(acct, grant.role, p.objectId, grant.scope)
    tokens[name] = await storageToken(s, p.clientId, p.secret)
  }
})
after(async () => {
  await s?.stop()
})

const bearer = (who: string) => ({ bearer: tokens[who] as string })

describe('OAuth (seed 001)', () => {
  test('without x-ms-file-request-intent: 400 MissingRequiredHeader naming it; a value other than backup: 400', async () => {
    const r = await f.call({
      method: 'GET',
      path: '/secure/dir/hello.txt',
      auth: bearer('contributor'),
      noIntent: true,
    })
    expectStorageError(r, 400, 'MissingRequiredHeader', {
      message: "An HTTP header that's mandatory for this request is not specified.",
    })
    assert.match(r.text, /<HeaderName>x-ms-file-request-intent<\/HeaderName>/)
    expectStorageError(
      await f.call({
        method: 'GET',
        path: '/secure/dir/hello.txt',
        auth: bearer('contributor'),
        headers: { 'x-ms-file-request-intent': 'restore' },
      }),
      400,
      'InvalidHeaderValue',
    )
    // The version must know the header (2022-11-02 and later).
    expectStorageError(
      await f.call({
        method: 'GET',
        path: '/secure/dir/hello.txt',
        auth: bearer('contributor'),
        headers: { 'x-ms-version': '2021-12-02' },
      }),
      403,
      'AuthenticationFailed',
      { detail: 'Authentication scheme Bearer is not supported in this version.' },
    )
  })

  test('Storage File Data Privileged Contributor: read, write, delete; Privileged Reader: read only', async () => {
    const c = bearer('contributor')
    assert.equal((await f.call({ method: 'PUT', path: '/secure/dir/sub?restype=directory', auth: c })).status, 201)
    assert.equal((await o.create('secure/dir/sub/t.txt', 3, {})).status, 201)
    let r = await f.call({
      method: 'PUT',
      path: '/secure/dir/sub/t.txt?comp=range',
      auth: c,
      headers: { 'x-ms-write': 'update', 'x-ms-range': 'bytes=0-2' },
      body: 'abc',
    })
    assert.equal(r.status, 201, r.text)
    r = await f.call({ method: 'GET', path: '/secure/dir/sub/t.txt', auth: bearer('reader') })
    assert.equal(r.text, 'abc')
    r = await f.call({ method: 'GET', path: '/secure/dir?restype=directory&comp=list', auth: bearer('reader') })
    assert.match(r.text, /<Name>hello\.txt<\/Name>/)
    for (const call of [
      { method: 'PUT', path: '/secure/dir/r.txt', headers: { 'x-ms-type': 'file', 'x-ms-content-length': '1' } },
      { method: 'DELETE', path: '/secure/dir/sub/t.txt' },
      { method: 'PUT', path: '/secure/dir/sub?restype=directory&comp=metadata' },
    ])
      expectStorageError(await f.call({ ...call, auth: bearer('reader') }), 403, 'AuthorizationPermissionMismatch')
    assert.equal((await f.call({ method: 'DELETE', path: '/secure/dir/sub/t.txt', auth: c })).status, 202)
    assert.equal((await f.call({ method: 'DELETE', path: '/secure/dir/sub?restype=directory', auth: c })).status, 202)
  })

  test('the SMB roles (no backup semantics), Blob roles and no role are refused; every decision is audited', async () => {
    for (const who of ['smb', 'blob', 'nobody']) {
      const r = await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: bearer(who) })
      expectStorageError(r, 403, 'AuthorizationPermissionMismatch', {
        message: 'This request is not authorized to perform this operation using this permission.',
      })
    }
    const r = await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: bearer('smb') })
    const events = await authorizationEvents(s, String(r.headers['x-ms-request-id']))
    const smb = principals.smb as Principal
    // files/read is granted by the SMB role; readFileBackupSemantics is what is missing.
    assert.ok(
      events.some(
        (e) =>
          e.result === 'failure' &&
          e.principalId === smb.objectId &&
          String((e.details as { action?: string }).action).endsWith('fileServices/readFileBackupSemantics/action'),
      ),
      JSON.stringify(events),
    )
  })

  test('a role on one share (…/fileServices/default/fileshares/<share>) covers that share only', async () => {
    const c = bearer('shareOnly')
    assert.equal((await f.call({ method: 'PUT', path: '/other/mine?restype=directory', auth: c })).status, 201)
    expectStorageError(
      await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: c }),
      403,
      'AuthorizationPermissionMismatch',
    )
  })

  test('share and service management are refused over OAuth, whatever the role (409 FileOAuthManagementApiRestrictedToSrp)', async () => {
    const c = bearer('contributor')
    for (const call of [
      { method: 'PUT', path: '/newshare?restype=share' },
      { method: 'GET', path: '/secure?restype=share' },
      { method: 'PUT', path: '/secure?restype=share&comp=metadata' },
      { method: 'DELETE', path: '/secure?restype=share' },
      { method: 'GET', path: '/?comp=list' },
      { method: 'GET', path: '/secure?restype=share&comp=stats' },
    ])
      expectStorageError(await f.call({ ...call, auth: c }), 409, 'FileOAuthManagementApiRestrictedToSrp', {
        message:
          'This API does not support bearer tokens. For OAuth, use the Storage Resource Provider APIs instead. Learn more: https://aka.ms/azurefiles/restapi.',
      })
    expectStorageError(
      await f.call({ method: 'GET', path: '/?restype=service&comp=properties', auth: c }),
      403,
      'AuthenticationFailed',
    )
    // The share still exists: management refused means nothing happened.
    assert.equal((await f.call({ method: 'GET', path: '/secure?restype=share' })).status, 200)
    // Create Permission and Get Permission are the share-level operations OAuth may call.
    const r = await f.call({
      method: 'PUT',
      path: '/secure?restype=share&comp=filepermission',
      auth: c,
      body: JSON.stringify({ permission: 'O:BAG:BAD:(A;;FA;;;WD)' }),
    })
    assert.equal(r.status, 201, r.text)
  })

  test('bad tokens: 401 InvalidAuthenticationInfo with the Storage challenge; no token at all: 401 NoAuthenticationInformation', async () => {
    let r = await f.call({
      method: 'GET',
      path: '/secure/dir/hello.txt',
      auth: { bearer: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' },
    })
    expectStorageError(r, 401, 'InvalidAuthenticationInfo')
    assert.equal(r.headers['www-authenticate'], STORAGE_CHALLENGE(s.tenantId))
    const arm = await storageToken(
      s,
      (principals.contributor as Principal).clientId,
      (principals.contributor as Principal).secret,
      'https://management.azure.com/.default',
    )
    r = await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: { bearer: arm } })
    expectStorageError(r, 401, 'InvalidAuthenticationInfo', {
      detail: 'Audience validation failed. Audience did not match.',
    })
    r = await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: 'none' })
    expectStorageError(r, 401, 'NoAuthenticationInformation')
    assert.equal(r.headers['www-authenticate'], STORAGE_CHALLENGE(s.tenantId))
  })

  test('an explicit security descriptor needs …/files/modifypermissions/action (Privileged Contributor has it)', async () => {
    const sddl = 'O:BAG:SYD:(A;;FA;;;SY)'
    let r = await f.call({
      method: 'PUT',
      path: '/secure/dir?restype=directory&comp=properties',
      auth: bearer('contributor'),
      headers: { 'x-ms-file-permission': sddl },
    })
    assert.equal(r.status, 200, r.text)
    r = await f.call({
      method: 'PUT',
      path: '/secure/dir?restype=directory&comp=properties',
      auth: bearer('reader'),
      headers: { 'x-ms-file-permission': sddl },
    })
    expectStorageError(r, 403, 'AuthorizationPermissionMismatch')
  })
})

describe('Shared Key and SAS', () => {
  test('a wrong key: 403 AuthenticationFailed with the string to sign; either account key signs', async () => {
    const r = await f.call({
      method: 'GET',
      path: '/secure/dir/hello.txt',
      auth: { key: Buffer.alloc(64, 3).toString('base64') },
    })
    expectStorageError(r, 403, 'AuthenticationFailed', {
      detail:
        /^The MAC signature found in the HTTP request '.*' is not the same as any computed signature\. Server used following string to sign: 'GET\n/,
    })
    assert.equal(
      (await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: { key: acct.key2 } })).text,
      'hello',
    )
  })

  test('service SAS sr=f / sr=s and account SAS ss=f: permissions, resource types, services, expiry', async () => {
    const sas = async (body: Record<string, string>) => {
      const r = await acct.arm.post(`${acct.id}/ListServiceSas`, '2024-01-01', {
        signedExpiry: new Date(Date.now() + 3600_000).toISOString(),
        ...body,
      })
      assert.equal(r.status, 200, r.text)
      return r.json<{ serviceSasToken: string }>().serviceSasToken
    }
    const fileRead = await sas({
      canonicalizedResource: `/file/${acct.name}/secure/dir/hello.txt`,
      signedResource: 'f',
      signedPermission: 'r',
    })
    assert.equal(
      (await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: { sas: fileRead } })).text,
      'hello',
    )
    expectStorageError(
      await f.call({ method: 'PUT', path: '/secure/dir/hello.txt?comp=metadata', auth: { sas: fileRead } }),
      403,
      'AuthorizationPermissionMismatch',
    )
    // A file SAS signs one path: another file does not verify.
    expectStorageError(
      await f.call({ method: 'GET', path: '/secure/dir/other.txt', auth: { sas: fileRead } }),
      403,
      'AuthenticationFailed',
    )
    const shareList = await sas({
      canonicalizedResource: `/file/${acct.name}/secure`,
      signedResource: 's',
      signedPermission: 'l',
    })
    assert.equal(
      (await f.call({ method: 'GET', path: '/secure/dir?restype=directory&comp=list', auth: { sas: shareList } }))
        .status,
      200,
    )
    // Share management is for account SAS only.
    expectStorageError(
      await f.call({ method: 'DELETE', path: '/secure?restype=share', auth: { sas: shareList } }),
      403,
      'AuthorizationFailure',
    )
    const acctSas = async (body: Record<string, string>) => {
      const r = await acct.arm.post(`${acct.id}/ListAccountSas`, '2024-01-01', {
        signedExpiry: new Date(Date.now() + 3600_000).toISOString(),
        ...body,
      })
      assert.equal(r.status, 200, r.text)
      return r.json<{ accountSasToken: string }>().accountSasToken
    }
    const objects = await acctSas({ signedServices: 'f', signedResourceTypes: 'o', signedPermission: 'rl' })
    assert.equal((await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: { sas: objects } })).text, 'hello')
    expectStorageError(
      await f.call({ method: 'GET', path: '/?comp=list', auth: { sas: objects } }),
      403,
      'AuthorizationResourceTypeMismatch',
    )
    const service = await acctSas({ signedServices: 'f', signedResourceTypes: 's', signedPermission: 'l' })
    assert.equal((await f.call({ method: 'GET', path: '/?comp=list', auth: { sas: service } })).status, 200)
    const blobOnly = await acctSas({ signedServices: 'b', signedResourceTypes: 'sco', signedPermission: 'rl' })
    expectStorageError(
      await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: { sas: blobOnly } }),
      403,
      'AuthorizationServiceMismatch',
    )
    const expired = await acctSas({
      signedServices: 'f',
      signedResourceTypes: 'o',
      signedPermission: 'r',
      signedStart: new Date(Date.now() - 7200_000).toISOString(),
      signedExpiry: new Date(Date.now() - 3600_000).toISOString(),
    })
    expectStorageError(
      await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: { sas: expired } }),
      403,
      'AuthenticationFailed',
      {
        detail: /^Signature not valid in the specified time frame/,
      },
    )
    const forged = fileRead.replace(/sig=[^&]+/, 'sig=AAAA')
    expectStorageError(
      await f.call({ method: 'GET', path: '/secure/dir/hello.txt', auth: { sas: forged } }),
      403,
      'AuthenticationFailed',
      {
        detail: /^Signature did not match/,
      },
    )
  })

  test('allowSharedKeyAccess false: keys and key-signed SAS refused with 403 KeyBasedAuthenticationNotPermitted, tokens still work', async () => {
    const locked = await createAccount(s, 'lockedfiles', 'fileauth', { allowSharedKeyAccess: false })
    const lf = fileApi(s, locked)
    expectStorageError(
      await lf.call({ method: 'PUT', path: '/data?restype=share' }),
      403,
      'KeyBasedAuthenticationNotPermitted',
    )
    // The share is created through ARM (the management path seed 001 recommends), the data through a token.
    assert.equal(
      (await locked.arm.put(`${locked.id}/fileServices/default/shares/data`, '2024-01-01', { properties: {} })).status,
      201,
    )
    const p = await newPrincipal(s, 'locked-files')
    await grantRole(locked, FILE_ROLE.PrivilegedContributor, p.objectId)
    const t = await storageToken(s, p.clientId, p.secret)
    assert.equal((await lf.call({ method: 'PUT', path: '/data/d?restype=directory', auth: { bearer: t } })).status, 201)
  })
})
