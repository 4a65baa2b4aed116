// Action patterns (role-definitions.md "Actions"): case-insensitive, `*` matches any run of characters across
// segments. A `/*/` also matches a single `/`, so Managed Identity Operator's
// `Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action` covers
// `…/userAssignedIdentities/assign/action`, which is the operation ARM checks (api-shapes §4.7, inferred).
export function compilePattern(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
    .replaceAll('/.*/', '(?:/.*)?/')
  return new RegExp(`^${body}$`, 'i')
}

const cache = new Map<string, RegExp>()

export function actionMatches(pattern: string, action: string): boolean {
  let re = cache.get(pattern)
  if (!re) {
    if (cache.size > 10_000) cache.clear()
    re = compilePattern(pattern)
    cache.set(pattern, re)
  }
  return re.test(action)
}
