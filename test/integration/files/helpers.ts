// Shared by the Files integration tests (not a test file): wire-level requests to the file listener, path-style
// (`https://127.0.0.1:<filePort>/<account>/<share>/<path>`), signed with the test suite's own Shared Key signer
// (test/support/storage.ts, written from the specification; the File service signs the same way).
import type { TestServer } from '../../support/server.ts'
import {
  type Auth,
  type StorageCall,
  type StorageClient,
  contentFilesOf,
  storageClient,
} from '../../support/storage.ts'
import type { Account } from '../blob/helpers.ts'

export const FILE_ROLE = {
  PrivilegedContributor: '69566ab7-960f-475b-8e7c-b3118f30c6bd',
  PrivilegedReader: 'b8eda974-7b85-4f76-af95-65846b26df6d',
  SmbShareContributor: '0c867c2a-1d8c-454a-a3db-ab2ea1bdc8bb',
  SmbShareReader: 'aba4ae5f-2193-4029-9191-0cb91df5e314',
} as const

/** The version @azure/storage-file-share 12.31 sends; bearer tokens need 2022-11-02 or later. */
export const FILE_VERSION = '2026-04-06'

export interface FileCall extends Omit<StorageCall, 'signAs' | 'chunked'> {
  /** Leave out `x-ms-file-request-intent` on a bearer request (it is sent by default). */
  noIntent?: boolean
}

export type Files = StorageClient<FileCall>

/** Wire-level requests to the file listener, path-style. Bearer requests carry the backup intent unless told not to. */
export function fileApi(s: TestServer, account: Account, defaultAuth: Auth = { key: account.key }): Files {
  return storageClient<FileCall>(s, {
    endpoint: s.server.endpoints.storage.file,
    account,
    version: FILE_VERSION,
    defaultAuth,
    headers: (c, auth): Record<string, string> =>
      auth !== 'none' && 'bearer' in auth && !c.noIntent ? { 'x-ms-file-request-intent': 'backup' } : {},
  })
}

/** Create Share, Create Directory, Create File + Put Range: the usual setup, with Shared Key. */
export function fileOps(f: Files) {
  return {
    share: (name: string) => f.call({ method: 'PUT', path: `/${name}?restype=share` }),
    dir: (path: string, headers: Record<string, string> = {}) =>
      f.call({ method: 'PUT', path: `/${path}?restype=directory`, headers }),
    create: (path: string, size: number, headers: Record<string, string> = {}) =>
      f.call({
        method: 'PUT',
        path: `/${path}`,
        headers: { 'x-ms-type': 'file', 'x-ms-content-length': String(size), ...headers },
      }),
    put: (path: string, offset: number, data: Buffer, headers: Record<string, string> = {}, auth?: Auth) =>
      f.call({
        method: 'PUT',
        path: `/${path}?comp=range`,
        headers: { 'x-ms-write': 'update', 'x-ms-range': `bytes=${offset}-${offset + data.length - 1}`, ...headers },
        body: data,
        ...(auth ? { auth } : {}),
      }),
    get: (path: string, headers: Record<string, string> = {}, auth?: Auth) =>
      f.call({ method: 'GET', path: `/${path}`, headers, ...(auth ? { auth } : {}) }),
  }
}

/** Content files of the File service on disk (files no row names are garbage). */
export const fileContent = (t: TestServer): string[] => contentFilesOf(t, 'file')

/**
 * The number of content files once `done(count)` holds, waiting up to 2 s: content that a request released is removed
 * after the answer has been sent.
 */
export async function fileContentSettled(t: TestServer, done: (count: number) => boolean): Promise<number> {
  for (let i = 0; i < 100 && !done(fileContent(t).length); i++) await new Promise((res) => setTimeout(res, 20))
  return fileContent(t).length
}
