/**
 * The instrumentation's public vocabulary (options, result, the export names and trap codes the
 * engine relies on) and the per-module context the passes share. Contract: docs/metering.md.
 */
import type { WasmModule, Writer } from '../../wasm/index.ts';
import type { CompiledCosts, CostTable } from './cost-table.ts';

/** Export names of the instrumentation globals (the engine reads/writes them). */
export const GAS_EXPORT = '__wasmvm_gas';
export const TRAP_EXPORT = '__wasmvm_trap';
export const STACK_EXPORT = '__wasmvm_stack';
/** The module's start function, moved to an export when gas metering is on (see docs/metering.md). */
export const START_EXPORT = '__wasmvm_start';
/** Values of `__wasmvm_trap` set right before the instrumentation executes `unreachable`. */
export const TRAP_NONE = 0;
export const TRAP_OUT_OF_GAS = 1;
export const TRAP_STACK_EXHAUSTED = 2;

export interface InstrumentOptions {
  /** Gas metering (default: on with the default cost table); false = no gas instrumentation. */
  gas?: { costTable?: CostTable; checkEveryBlock?: boolean } | false;
  /** Stack-height limit in units (default DEFAULT_STACK_LIMIT); false = no stack limiter. */
  stackLimit?: number | false;
  /** Canonicalize NaNs produced by float operations (default false). */
  canonicalizeNaN?: boolean;
  /** Caps the declared maximum of the memory (pages); a declared minimum above it is rejected (MEMORY_LIMIT). */
  maxMemoryPages?: number;
  /**
   * The reference form (default false): every metered block checked, no exit thunks, and every counted
   * function keeps the stack height in `__wasmvm_stack` (no internal calling convention). Outcomes are
   * identical to the default form (docs/metering.md); the differential tests compare the two.
   * `gas.checkEveryBlock: true` implies it.
   */
  reference?: boolean;
}

export interface InstrumentInfo {
  /** Whether gas metering was added (then `__wasmvm_gas` is exported). */
  metered: boolean;
  costTableVersion?: string;
  /** Stack-height limit applied, in units (undefined when the limiter is off). */
  stackLimit?: number;
  canonicalizeNaN: boolean;
  /** Export names the engine uses. */
  gasExport?: string;
  trapExport?: string;
  stackExport?: string;
  /** When set, the engine must call this export (no params, no results) after setting the gas
   * and before calling the entry function: it is the module's original start function. */
  startExport?: string;
  /** Number of defined functions instrumented. */
  functions: number;
  /** Gas checks inserted (static + dynamic charges that compare and trap). */
  gasChecks: number;
  /** Gas charges inserted (checked or not). */
  gasCharges: number;
  /** NaN canonicalization sites inserted. */
  nanSites: number;
  /** Functions given the internal calling convention (gas and stack height passed in parameters). */
  internalFunctions: number;
  /** Memory max after capping (pages), when the module has a memory. */
  memoryMaxPages?: number;
}

export interface InstrumentResult {
  bytes: Uint8Array;
  info: InstrumentInfo;
}

/** Per-module state shared by the passes (indices of the added globals, counters, scratch buffers). */
export interface Ctx {
  m: WasmModule;
  costs: CompiledCosts | null;
  stackLimit: number;
  nan: boolean;
  gasG: number;
  trapG: number;
  stackG: number;
  nGlobals: number;
  nImportedGlobals: number;
  nTypes: number;
  nFuncs: number;
  typeParams: Int32Array;
  typeResults: Int32Array;
  funcType: Int32Array;
  gasChecks: number;
  gasCharges: number;
  deferred: number;
  lazy: boolean;
  /**
   * 1 for each function index with the internal calling convention: defined functions only ever
   * reached by a direct `call` (not exported, not the start function, not in an element segment or a
   * global's initializer) take the gas (i64) and the stack height (i32) as extra trailing parameters and
   * return the gas as an extra trailing result. Null when the convention is off.
   */
  internal: Uint8Array | null;
  nanSites: number;
  charges: Float64Array;
  /** 1 where a metered block that can trap or leave the instance starts: the gas local is synced there. */
  syncAt: Uint8Array;
  ctrl: Int32Array;
  w: Writer;
}
