export { isGuid } from './ids.ts'
export { idKey } from './resource-id.ts'
