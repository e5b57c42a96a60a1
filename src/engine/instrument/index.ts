/**
 * Instrumentation of guest modules: gas metering, a deterministic stack-height limit and NaN
 * canonicalization, in one decode + one emit pass per function body. The driver (driver.ts) runs the
 * checks (validate.ts), the scan (scan.ts) and the emit loop with the gas (gas.ts), stack (stack.ts)
 * and NaN (nan.ts) hooks; the cost table is in cost-table.ts. Contract with the engine: docs/metering.md.
 */
export type { CostTable } from './cost-table.ts';
export { COST_TABLE_VERSION, costListing, DEFAULT_COST_TABLE } from './cost-table.ts';
export { instrument } from './driver.ts';
export { DEFAULT_STACK_LIMIT, FRAME_OVERHEAD_UNITS, LEAF_MAX_UNITS } from './stack.ts';
export {
  GAS_EXPORT,
  type InstrumentInfo,
  type InstrumentOptions,
  type InstrumentResult,
  STACK_EXPORT,
  START_EXPORT,
  TRAP_EXPORT,
  TRAP_NONE,
  TRAP_OUT_OF_GAS,
  TRAP_STACK_EXHAUSTED,
} from './types.ts';
