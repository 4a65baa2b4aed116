export { type NamespaceRun, runInNamespace, TEMP_PREFIX } from './run.ts'
export type { Forward, NamespaceSpec } from './spec.ts'
export { type NamespaceMode, type NamespaceSupport, namespaceSupport } from './support.ts'
