// Lookups several pages share, cached for the tab's life (they change rarely): regions, role definitions, groups,
// and directory names of principals.
import { V, arm, graph } from './api.js'

/** @type {Map<string, Promise<any>>} */
const cache = new Map()
/**
 * @template T
 * @param {string} key
 * @param {() => Promise<T>} load
 * @returns {Promise<T>}
 */
function once(key, load) {
  let p = cache.get(key)
  if (!p) {
    p = load()
    cache.set(key, p)
    p.catch(() => cache.delete(key))
  }
  return p
}

/** Forget a cached lookup (after a write that changes it). @param {string} prefix */
export const forget = (prefix) => {
  for (const k of [...cache.keys()]) if (k.startsWith(prefix)) cache.delete(k)
}

/** @param {string} sub @returns {Promise<{ name: string, displayName: string }[]>} */
export const locations = (sub) =>
  once(`locations:${sub}`, async () => {
    const r = await arm.get(`/subscriptions/${sub}/locations`, V.subscriptions)
    return (r?.value ?? []).sort((/** @type {any} */ a, /** @type {any} */ b) =>
      a.displayName.localeCompare(b.displayName),
    )
  })

/** @param {string} sub @returns {Promise<any[]>} */
export const resourceGroups = (sub) =>
  once(`groups:${sub}`, async () => {
    const all = await arm.all(`/subscriptions/${sub}/resourcegroups`, V.resources)
    return all.sort((a, b) => a.name.localeCompare(b.name))
  })

/**
 * Role definitions readable at `scope` (built-in and custom), sorted by name.
 * @param {string} scope
 * @returns {Promise<any[]>}
 */
export const roleDefinitions = (scope) =>
  once(`roles:${scope.toLowerCase()}`, async () => {
    const all = await arm.all(`${scope}/providers/Microsoft.Authorization/roleDefinitions`, V.authorization)
    return all.sort((a, b) => a.properties.roleName.localeCompare(b.properties.roleName))
  })

/** The GUID at the end of a role definition id. @param {string} id */
export const roleGuid = (id) => (/([0-9a-f-]{36})\/?$/i.exec(id)?.[1] ?? id).toLowerCase()

/** @type {Map<string, { id: string, displayName: string, kind: string, type: string }>} */
const principals = new Map()

/**
 * Directory names of principals (users, service principals) by object id, via Graph's getByIds.
 * Unknown ids (deleted principals) come back as "Identity not found", as the portal shows them.
 * @param {string[]} ids
 */
export async function principalNames(ids) {
  const missing = [...new Set(ids.map((i) => i.toLowerCase()))].filter((i) => !principals.has(i))
  for (let i = 0; i < missing.length; i += 1000) {
    const chunk = missing.slice(i, i + 1000)
    const r = await graph.post('/v1.0/directoryObjects/getByIds', {
      ids: chunk,
      types: ['user', 'servicePrincipal', 'group'],
    })
    for (const o of r?.value ?? []) {
      const t = String(o['@odata.type'] ?? '')
      const kind = t.endsWith('user')
        ? 'User'
        : o.servicePrincipalType === 'ManagedIdentity'
          ? 'Managed identity'
          : t.endsWith('group')
            ? 'Group'
            : 'App'
      principals.set(String(o.id).toLowerCase(), {
        id: o.id,
        displayName: o.displayName ?? o.userPrincipalName ?? o.id,
        kind,
        type: o.servicePrincipalType ?? (t.endsWith('user') ? 'User' : ''),
      })
    }
    for (const id of chunk)
      if (!principals.has(id)) principals.set(id, { id, displayName: 'Identity not found', kind: 'Unknown', type: '' })
  }
  return principals
}
