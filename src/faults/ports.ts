import type { FaultRule } from './model.ts'

export interface FaultStore {
  listFaultRules(): Promise<FaultRule[]>
  putFaultRule(r: FaultRule): Promise<void>
  deleteFaultRule(id: string): Promise<boolean>
  clearFaultRules(): Promise<number>
  /** Takes one use of a count-limited rule; false when none is left (across nodes). */
  consumeFaultRule(id: string): Promise<boolean>
}
