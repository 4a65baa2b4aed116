export {
  FLAVOURS,
  type FaultEffect,
  type FaultMatch,
  type FaultRequest,
  type FaultRule,
  type Flavour,
} from './model.ts'
export type { FaultStore } from './ports.ts'
export { createFaults, type FaultInput, FaultRuleError, type Faults, parseFaultInput } from './service.ts'
