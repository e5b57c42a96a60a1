/**
 * Instrumentation of guest modules: gas metering, a deterministic stack-height limit and NaN
 * canonicalization, in one decode + one emit pass per function body (unchanged byte ranges are
 * copied, never re-encoded). Contract with the engine: docs/metering.md.
 */
import {
  decodeBody,
  decodeInstructions,
  F_BULK_MEMORY,
  F_CALL,
  F_DYNAMIC,
  F_LOAD,
  F_MEMORY_GROW,
  F_NAN,
  F_NAN_F32,
  F_NAN_F32X4,
  F_NAN_F64,
  F_NAN_F64X2,
  F_STORE,
  F_TABLE,
  type FuncType,
  importCount,
  OP_FLAGS,
  OP_NAME,
  OP_POP,
  OP_PUSH,
  Reader,
  readModule,
  VALTYPE_BYTE,
  type ValType,
  type WasmModule,
  Writer,
  writeModule,
} from '../../wasm/index.ts';
import { EngineError } from '../types.ts';
import { type CompiledCosts, type CostTable, compileCostTable, DEFAULT_COST_TABLE } from './costs.ts';

export type { CostTable } from './costs.ts';
export { COST_TABLE_VERSION, costListing, DEFAULT_COST_TABLE } from './costs.ts';

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

/**
 * Default stack-height limit, in stack-limiter units (see docs/metering.md): reached well
 * before V8's own stack overflow in every tier with a 984 KiB stack.
 */
export const DEFAULT_STACK_LIMIT = 40_000;
/** Units charged per frame on top of params + locals + max operand stack height. */
export const FRAME_OVERHEAD_UNITS = 8;
/** Leaf functions (no call instructions) whose frame costs at most this many units are not counted. */
export const LEAF_MAX_UNITS = 256;

export interface InstrumentOptions {
  /** Gas metering (default: on with the default cost table); false = no gas instrumentation. */
  gas?: { costTable?: CostTable; checkEveryBlock?: boolean } | false;
  /** Stack-height limit in units (default DEFAULT_STACK_LIMIT); false = no stack limiter. */
  stackLimit?: number | false;
  /** Canonicalize NaNs produced by float operations (default false). */
  canonicalizeNaN?: boolean;
  /** Caps the declared maximum of the memory (pages); a declared minimum above it is rejected (MEMORY_LIMIT). */
  maxMemoryPages?: number;
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
  /** Memory max after capping (pages), when the module has a memory. */
  memoryMaxPages?: number;
}

export interface InstrumentResult {
  bytes: Uint8Array;
  info: InstrumentInfo;
}

const RESERVED_EXPORT = /^__wasmvm_|^__instrumented_use_gas$/;

const BOUNDARY = new Uint8Array(0x300);
for (const k of [0x00, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]) BOUNDARY[k] = 1;

/**
 * For each NaN-propagating operation, the lane shape of its float input (F_NAN_* class), else 0:
 * f32 ops and f64.promote_f32 read f32; f64 ops and f32.demote_f64 read f64; likewise for SIMD.
 */
const NAN_INPUT = new Uint16Array(0x300);
for (let k = 0; k < 0x300; k++) {
  const f = OP_FLAGS[k]! & F_NAN;
  if (!f) continue;
  const name = OP_NAME[k]!;
  if (name === 'f32.demote_f64') NAN_INPUT[k] = F_NAN_F64;
  else if (name === 'f64.promote_f32') NAN_INPUT[k] = F_NAN_F32;
  else if (name === 'f32x4.demote_f64x2_zero') NAN_INPUT[k] = F_NAN_F64X2;
  else if (name === 'f64x2.promote_low_f32x4') NAN_INPUT[k] = F_NAN_F32X4;
  else NAN_INPUT[k] = f;
}
/** Instructions that push one value and pop none (local.get, global.get, constants). */
const PUSH_ONLY = new Uint8Array(0x300);
for (const k of [0x20, 0x23, 0x41, 0x42, 0x43, 0x44, 0x20c]) PUSH_ONLY[k] = 1;

// Canonical NaNs.
const F32_NAN_BITS = 0x7fc00000;
const F64_NAN_BYTES = [0, 0, 0, 0, 0, 0, 0xf8, 0x7f];

interface Ctx {
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
  nanSites: number;
  charges: Float64Array;
  /** 1 where a metered block that can trap or leave the instance starts: the gas local is synced there. */
  syncAt: Uint8Array;
  ctrl: Int32Array;
  w: Writer;
}

function fail(code: 'INVALID_BYTECODE' | 'UNSUPPORTED_FEATURE' | 'MEMORY_LIMIT', msg: string): never {
  throw new EngineError(code, msg);
}

function translate(e: unknown): never {
  if (e instanceof EngineError) throw e;
  const err = e as { code?: string; message?: string };
  if (err?.code === 'INVALID_BYTECODE')
    throw new EngineError('INVALID_BYTECODE', err.message ?? 'invalid bytecode');
  if (err?.code === 'UNSUPPORTED_FEATURE')
    throw new EngineError('UNSUPPORTED_FEATURE', err.message ?? 'unsupported feature');
  throw e;
}

/**
 * Instruments a module. Throws EngineError: INVALID_BYTECODE (malformed/invalid module),
 * UNSUPPORTED_FEATURE (outside Wasm 2.0, or reserved `__wasmvm_*` export names),
 * MEMORY_LIMIT (declared minimum memory above maxMemoryPages).
 */
export function instrument(bytes: Uint8Array, opts: InstrumentOptions = {}): InstrumentResult {
  let m: WasmModule;
  try {
    m = readModule(bytes);
  } catch (e) {
    translate(e);
  }
  const gasOpt = opts.gas === undefined ? {} : opts.gas;
  let costs: CompiledCosts | null = null;
  if (gasOpt !== false) {
    try {
      costs = compileCostTable(gasOpt.costTable ?? DEFAULT_COST_TABLE);
    } catch (e) {
      throw new EngineError('INVALID_ARGUMENT', (e as Error).message);
    }
  }
  const stackLimit = opts.stackLimit === undefined ? DEFAULT_STACK_LIMIT : opts.stackLimit;
  if (stackLimit !== false && (!Number.isInteger(stackLimit) || stackLimit < 1 || stackLimit > 0x7fffffff))
    throw new EngineError(
      'INVALID_ARGUMENT',
      `stackLimit must be an integer in [1, 2^31-1], got ${stackLimit}`,
    );
  const nan = opts.canonicalizeNaN === true;

  checkFeatures(m);
  const memoryMaxPages = capMemory(m, opts.maxMemoryPages);

  const nImportedFuncs = importCount(m, 'func');
  const nFuncs = nImportedFuncs + m.functions.length;
  const nTypes = m.types.length;
  const typeParams = new Int32Array(nTypes);
  const typeResults = new Int32Array(nTypes);
  for (let i = 0; i < nTypes; i++) {
    typeParams[i] = m.types[i]!.params.length;
    typeResults[i] = m.types[i]!.results.length;
  }
  const funcType = new Int32Array(nFuncs);
  {
    let i = 0;
    for (const im of m.imports) if (im.kind === 'func') funcType[i++] = im.type;
    for (const t of m.functions) funcType[i++] = t;
    for (let j = 0; j < nFuncs; j++)
      if (funcType[j]! >= nTypes) fail('INVALID_BYTECODE', `function ${j} has unknown type ${funcType[j]}`);
  }
  const nGlobals = importCount(m, 'global') + m.globals.length;
  checkConstExprs(m, nGlobals, nFuncs);
  checkIndices(m, nFuncs, nGlobals);

  const ctx: Ctx = {
    m,
    costs,
    stackLimit: stackLimit === false ? 0 : stackLimit,
    nan,
    gasG: -1,
    trapG: -1,
    stackG: -1,
    nGlobals,
    nImportedGlobals: importCount(m, 'global'),
    nTypes,
    nFuncs,
    typeParams,
    typeResults,
    funcType,
    gasChecks: 0,
    gasCharges: 0,
    deferred: 0,
    lazy: costs !== null && gasOpt !== false && gasOpt.checkEveryBlock !== true,
    nanSites: 0,
    charges: new Float64Array(1024),
    syncAt: new Uint8Array(1024),
    ctrl: new Int32Array(768),
    w: new Writer(4096),
  };
  const info: InstrumentInfo = {
    metered: costs !== null,
    canonicalizeNaN: nan,
    functions: m.codes.length,
    gasChecks: 0,
    gasCharges: 0,
    nanSites: 0,
  };
  if (memoryMaxPages !== undefined) info.memoryMaxPages = memoryMaxPages;
  const i64zero = new Uint8Array([0x42, 0x00, 0x0b]);
  const i32zero = new Uint8Array([0x41, 0x00, 0x0b]);
  let nextGlobal = nGlobals;
  if (costs) {
    ctx.gasG = nextGlobal++;
    m.globals.push({ type: 'i64', mutable: true, init: i64zero });
    m.exports.push({ name: GAS_EXPORT, kind: 'global', index: ctx.gasG });
    info.costTableVersion = costs.table.version;
    info.gasExport = GAS_EXPORT;
    if (m.start !== undefined) {
      m.exports.push({ name: START_EXPORT, kind: 'func', index: m.start });
      delete m.start;
      info.startExport = START_EXPORT;
    }
  }
  if (costs || ctx.stackLimit) {
    ctx.trapG = nextGlobal++;
    m.globals.push({ type: 'i32', mutable: true, init: i32zero });
    m.exports.push({ name: TRAP_EXPORT, kind: 'global', index: ctx.trapG });
    info.trapExport = TRAP_EXPORT;
  }
  if (ctx.stackLimit) {
    ctx.stackG = nextGlobal++;
    m.globals.push({ type: 'i32', mutable: true, init: i32zero });
    m.exports.push({ name: STACK_EXPORT, kind: 'global', index: ctx.stackG });
    info.stackExport = STACK_EXPORT;
    info.stackLimit = ctx.stackLimit;
  }

  if (costs || ctx.stackLimit || nan) {
    for (let f = 0; f < m.codes.length; f++) {
      try {
        instrumentFunction(ctx, f, nImportedFuncs + f);
      } catch (e) {
        translate(e);
      }
    }
  }
  if (ctx.deferred > 0) addExitThunks(m, ctx, nFuncs);
  info.gasChecks = ctx.gasChecks;
  info.gasCharges = ctx.gasCharges;
  info.nanSites = ctx.nanSites;
  const out = writeModule(m);
  if (!WebAssembly.validate(out)) {
    if (!WebAssembly.validate(bytes)) fail('INVALID_BYTECODE', 'module does not validate');
    throw new EngineError('INTERNAL', 'instrumented module does not validate (instrumentation bug)');
  }
  return { bytes: out, info };
}

function checkFeatures(m: WasmModule): void {
  let memories = m.memories.length;
  for (const im of m.imports) {
    if (im.kind === 'memory') {
      memories++;
      checkMemory(im.memory);
    }
  }
  for (const mem of m.memories) checkMemory(mem);
  if (memories > 1) fail('UNSUPPORTED_FEATURE', 'unsupported Wasm feature: multiple memories');
  for (const e of m.exports)
    if (RESERVED_EXPORT.test(e.name))
      fail('UNSUPPORTED_FEATURE', `export name '${e.name}' is reserved for the metering instrumentation`);
}

function checkMemory(mem: { shared?: boolean; index64?: boolean }): void {
  if (mem.shared) fail('UNSUPPORTED_FEATURE', 'unsupported Wasm feature: threads (shared memory)');
  if (mem.index64) fail('UNSUPPORTED_FEATURE', 'unsupported Wasm feature: memory64');
}

function capMemory(m: WasmModule, cap: number | undefined): number | undefined {
  let mem = m.memories[0];
  for (const im of m.imports) if (im.kind === 'memory') mem = im.memory;
  if (!mem) return undefined;
  if (cap === undefined) return mem.max;
  if (!Number.isInteger(cap) || cap < 0 || cap > 65536)
    throw new EngineError('INVALID_ARGUMENT', `maxMemoryPages must be an integer in [0, 65536], got ${cap}`);
  if (mem.min > cap)
    fail('MEMORY_LIMIT', `module declares a minimum of ${mem.min} memory pages, above the limit of ${cap}`);
  mem.max = mem.max === undefined ? cap : Math.min(mem.max, cap);
  return mem.max;
}

/** Index-space references outside code (the instrumentation appends globals/types: they must not be reachable). */
function checkIndices(m: WasmModule, nFuncs: number, nGlobals: number): void {
  const count = {
    func: nFuncs,
    global: nGlobals,
    table: importCount(m, 'table') + m.tables.length,
    memory: importCount(m, 'memory') + m.memories.length,
  };
  for (const e of m.exports)
    if (e.index >= count[e.kind])
      fail('INVALID_BYTECODE', `export '${e.name}' refers to unknown ${e.kind} ${e.index}`);
  if (m.start !== undefined && m.start >= nFuncs)
    fail('INVALID_BYTECODE', `unknown start function ${m.start}`);
  for (const el of m.elements) {
    if (el.mode === 'active' && el.table >= count.table)
      fail('INVALID_BYTECODE', `unknown table ${el.table}`);
    if (el.funcs)
      for (const f of el.funcs) if (f >= nFuncs) fail('INVALID_BYTECODE', `unknown function ${f} in element`);
  }
}

function checkConstExprs(m: WasmModule, nGlobals: number, nFuncs: number): void {
  const check = (expr: Uint8Array | undefined): void => {
    if (!expr) return;
    if (expr.length === 3 && (expr[0] === 0x41 || expr[0] === 0x42) && expr[2] === 0x0b) return; // fast path
    for (const ins of decodeInstructions(expr)) {
      if (ins.op === 0x23 && ins.a! >= nGlobals)
        fail('INVALID_BYTECODE', `unknown global ${ins.a} in constant expression`);
      if (ins.op === 0xd2 && ins.a! >= nFuncs)
        fail('INVALID_BYTECODE', `unknown function ${ins.a} in constant expression`);
    }
  };
  try {
    for (const g of m.globals) check(g.init);
    for (const el of m.elements) {
      check(el.offset);
      if (el.exprs) for (const e of el.exprs) check(e);
    }
    for (const d of m.datas) check(d.offset);
  } catch (e) {
    translate(e);
  }
}

function valSlots(t: ValType): number {
  return t === 'v128' ? 2 : 1;
}

/** Finds or appends the type [] -> results (for the stack limiter's wrapper block). */
function blockTypeFor(m: WasmModule, results: readonly ValType[]): number {
  if (results.length === 0) return -64;
  if (results.length === 1) return VALTYPE_BYTE[results[0]!] - 0x80;
  for (let i = 0; i < m.types.length; i++) {
    const t = m.types[i]!;
    if (
      t.params.length === 0 &&
      t.results.length === results.length &&
      t.results.every((r, j) => r === results[j])
    )
      return i;
  }
  m.types.push({ params: [], results: [...results] });
  return m.types.length - 1;
}

/** Instructions that can trap or have effects outside the instance (their block's charge is checked at once). */
const IMPURE = new Uint8Array(0x300);
for (let k = 0; k < 0x300; k++) {
  if (OP_FLAGS[k]! & (F_CALL | F_LOAD | F_STORE | F_TABLE | F_BULK_MEMORY | F_DYNAMIC)) IMPURE[k] = 1;
}
// unreachable, integer division/remainder, trapping float-to-int conversions
for (const k of [
  0x00, 0x6d, 0x6e, 0x6f, 0x70, 0x7f, 0x80, 0x81, 0x82, 0xa8, 0xa9, 0xaa, 0xab, 0xae, 0xaf, 0xb0, 0xb1,
])
  IMPURE[k] = 1;

/**
 * Deferred checks: exported functions are re-pointed to thunks that call them and check the gas on
 * return, so a run never returns to the host with the gas overdrawn. The originals are kept declared
 * (a declarative element segment) for `ref.func`.
 */
function addExitThunks(m: WasmModule, ctx: Ctx, nFuncs: number): void {
  const thunkOf = new Map<number, number>();
  const w = new Writer(64);
  for (const e of m.exports) {
    if (e.kind !== 'func') continue;
    let t = thunkOf.get(e.index);
    if (t === undefined) {
      const typeIdx = e.index < nFuncs ? ctx.funcType[e.index]! : 0;
      w.len = 0;
      const np = ctx.typeParams[typeIdx]!;
      for (let p = 0; p < np; p++) {
        w.u8(0x20);
        w.u32(p);
      }
      w.u8(0x10);
      w.u32(e.index);
      w.u8(0x23);
      w.u32(ctx.gasG);
      w.u8(0x42);
      w.u8(0x00);
      w.u8(0x53); // i64.lt_s
      emitTrap(w, ctx.trapG, 1);
      w.u8(0x0b);
      t = nFuncs + thunkOf.size;
      m.functions.push(typeIdx);
      m.codes.push({ locals: [], body: w.finish() });
      thunkOf.set(e.index, t);
    }
    e.index = t;
  }
  if (thunkOf.size > 0)
    m.elements.push({ flags: 3, mode: 'declarative', table: 0, type: 'funcref', funcs: [...thunkOf.keys()] });
}

function emitTrap(w: Writer, trapG: number, code: number): void {
  // if ; i32.const code ; global.set trap ; unreachable ; end
  w.u8(0x04);
  w.u8(0x40);
  w.u8(0x41);
  w.u8(code);
  w.u8(0x24);
  w.u32(trapG);
  w.u8(0x00);
  w.u8(0x0b);
}

/** The gas local -> `__wasmvm_gas` (stack-neutral). */
function emitSync(w: Writer, ctx: Ctx, gasL: number): void {
  w.u8(0x20);
  w.u32(gasL);
  w.u8(0x24);
  w.u32(ctx.gasG);
}

/** `__wasmvm_gas` -> the gas local (stack-neutral). */
function emitReload(w: Writer, ctx: Ctx, gasL: number): void {
  w.u8(0x23);
  w.u32(ctx.gasG);
  w.u8(0x21);
  w.u32(gasL);
}

/** if gas < 0 { __wasmvm_gas = gas; trap = 1; unreachable }, gas (the local) on the stack. */
function emitGasCheck(w: Writer, ctx: Ctx, gasL: number): void {
  w.u8(0x42);
  w.u8(0x00);
  w.u8(0x53); // i64.lt_s
  w.u8(0x04);
  w.u8(0x40);
  emitSync(w, ctx, gasL);
  w.u8(0x41);
  w.u8(TRAP_OUT_OF_GAS);
  w.u8(0x24);
  w.u32(ctx.trapG);
  w.u8(0x00);
  w.u8(0x0b);
}

/**
 * Static charge on the function's gas local: gas -= cost; [__wasmvm_gas = gas]; [if gas < 0 trap].
 * `sync` writes the local back to the global (the block can trap or leave the instance).
 */
function emitCharge(w: Writer, ctx: Ctx, cost: number, gasL: number, checked: boolean, sync: boolean): void {
  w.u8(0x20);
  w.u32(gasL);
  w.u8(0x42);
  if (cost < 64) w.u8(cost);
  else w.s64(BigInt(cost));
  w.u8(0x7d); // i64.sub
  ctx.gasCharges++;
  if (!checked && !sync) {
    // deferred check (see docs/metering.md, "Checks"): subtract only
    w.u8(0x21);
    w.u32(gasL);
    return;
  }
  w.u8(0x22);
  w.u32(gasL);
  if (sync) {
    w.u8(0x24);
    w.u32(ctx.gasG);
    if (!checked) return;
    w.u8(0x20);
    w.u32(gasL);
  }
  emitGasCheck(w, ctx, gasL);
  ctx.gasChecks++;
}

/** Dynamic charge from the i32 operand on top of the stack (kept on the stack); syncs the gas local. */
function emitDynamicCharge(w: Writer, ctx: Ctx, perUnit: number, gasL: number, tmp32: number): void {
  w.u8(0x21);
  w.u32(tmp32); // local.set n
  w.u8(0x20);
  w.u32(gasL);
  w.u8(0x20);
  w.u32(tmp32);
  w.u8(0xad); // i64.extend_i32_u
  if (perUnit !== 1) {
    w.u8(0x42);
    w.s64(BigInt(perUnit));
    w.u8(0x7e); // i64.mul
  }
  w.u8(0x7d); // i64.sub
  w.u8(0x22);
  w.u32(gasL);
  w.u8(0x24);
  w.u32(ctx.gasG);
  w.u8(0x20);
  w.u32(gasL);
  emitGasCheck(w, ctx, gasL);
  w.u8(0x20);
  w.u32(tmp32); // local.get n
  ctx.gasChecks++;
}

function emitCanon(w: Writer, flags: number, local: number): void {
  w.u8(0x22);
  w.u32(local);
  if (flags & F_NAN_F32) {
    w.u8(0x43);
    w.f32Bits(F32_NAN_BITS);
  } else if (flags & F_NAN_F64) {
    w.u8(0x44);
    for (const b of F64_NAN_BYTES) w.u8(b);
  } else {
    w.u8(0xfd);
    w.u8(0x0c); // v128.const
    const f32 = (flags & F_NAN_F32X4) !== 0;
    for (let lane = 0; lane < (f32 ? 4 : 2); lane++) {
      if (f32) w.f32Bits(F32_NAN_BITS);
      else for (const b of F64_NAN_BYTES) w.u8(b);
    }
  }
  w.u8(0x20);
  w.u32(local);
  w.u8(0x20);
  w.u32(local);
  if (flags & F_NAN_F32) {
    w.u8(0x5b); // f32.eq
    w.u8(0x1b); // select
  } else if (flags & F_NAN_F64) {
    w.u8(0x61); // f64.eq
    w.u8(0x1b);
  } else {
    w.u8(0xfd);
    w.u8(flags & F_NAN_F32X4 ? 0x41 : 0x47); // f32x4.eq / f64x2.eq
    w.u8(0xfd);
    w.u8(0x52); // v128.bitselect
  }
}

function instrumentFunction(ctx: Ctx, defIndex: number, funcIndex: number): void {
  const m = ctx.m;
  const code = m.codes[defIndex]!;
  const typeIdx = ctx.funcType[funcIndex]!;
  const ft: FuncType = m.types[typeIdx]!;
  const body = code.body;
  const d = decodeBody(body, code.offset ?? 0);
  const { op, pos, imm, count } = d;
  const nParams = ft.params.length;
  let nLocals = nParams;
  let slots = 0;
  for (const p of ft.params) slots += valSlots(p);
  for (const [c, t] of code.locals) {
    nLocals += c;
    slots += c * valSlots(t);
  }
  const costs = ctx.costs;
  const costOp = costs ? costs.op : null;
  if (ctx.charges.length < count + 1) {
    ctx.charges = new Float64Array((count + 1) * 2);
    ctx.syncAt = new Uint8Array((count + 1) * 2);
  }
  const charges = ctx.charges;
  charges.fill(0, 0, count + 1);
  const syncAt = ctx.syncAt;
  syncAt.fill(0, 0, count + 1);

  // ---- pass 1: metered blocks, operand stack height, index checks, needed temporaries
  const maxDepth = d.maxDepth + 2;
  if (ctx.ctrl.length < maxDepth * 5) ctx.ctrl = new Int32Array(maxDepth * 10);
  const ctrl = ctx.ctrl;
  const cBase = ctrl.subarray(0, maxDepth);
  const cRes = ctrl.subarray(maxDepth, maxDepth * 2);
  const cPar = ctrl.subarray(maxDepth * 2, maxDepth * 3);
  // opener opcode of each open block, and whether any branch targets its label
  const cKind = ctrl.subarray(maxDepth * 3, maxDepth * 4);
  const cTgt = ctrl.subarray(maxDepth * 4, maxDepth * 5);
  let brReader: Reader | null = null;
  let sp = 0;
  cRes[0] = ft.results.length;
  cBase[0] = 0;
  cPar[0] = 0;
  let h = 0;
  let maxH = 0;
  let cur = 0;
  let insAt = 0;
  let pure = 1;
  let loopHead = 0;
  const lazy = ctx.lazy;
  let needNan = 0;
  let needDyn = false;
  let hasCall = false;
  const nTypes = ctx.nTypes;
  const nGlobals = ctx.nGlobals;
  for (let i = 0; i < count; i++) {
    const k = op[i]!;
    const fl = OP_FLAGS[k]!;
    if (costOp) cur += costOp[k]!;
    if (fl & (F_NAN | F_DYNAMIC | F_CALL)) {
      if (fl & F_NAN) needNan |= fl & F_NAN;
      else if (fl & F_CALL) hasCall = true;
      else needDyn = true;
    }
    let boundary = BOUNDARY[k]!;
    const pops = OP_POP[k]!;
    if (pops >= 0) {
      h -= pops;
      if (h < cBase[sp]!) h = cBase[sp]!;
      h += OP_PUSH[k]!;
      if (h > maxH) maxH = h;
      if (k >= 0x20 && k <= 0x24) {
        const x = imm[i]! >>> 0;
        if (k <= 0x22 ? x >= nLocals : x >= nGlobals)
          fail('INVALID_BYTECODE', `unknown ${k <= 0x22 ? 'local' : 'global'} ${x} in function ${funcIndex}`);
      } else if (k === 0xd2 && imm[i]! >>> 0 >= ctx.nFuncs)
        fail('INVALID_BYTECODE', `unknown function ${imm[i]! >>> 0} in function ${funcIndex}`);
    } else {
      switch (k) {
        case 0x02:
        case 0x03:
        case 0x04: {
          if (k === 0x04) h--;
          const bt = imm[i]!;
          let np = 0;
          let nr = 0;
          if (bt >= 0) {
            if (bt >= nTypes) fail('INVALID_BYTECODE', `unknown block type ${bt} in function ${funcIndex}`);
            np = ctx.typeParams[bt]!;
            nr = ctx.typeResults[bt]!;
          } else if (bt !== -64) nr = 1;
          h -= np;
          if (h < cBase[sp]!) h = cBase[sp]!;
          sp++;
          cBase[sp] = h;
          cPar[sp] = np;
          cRes[sp] = nr;
          cKind[sp] = k;
          cTgt[sp] = 0;
          h += np;
          if (h > maxH) maxH = h;
          break;
        }
        case 0x05:
          h = cBase[sp]! + cPar[sp]!;
          break;
        case 0x0b:
          h = cBase[sp]! + cRes[sp]!;
          if (h > maxH) maxH = h;
          if (sp > 0) {
            // The code after the `end` of a loop, or of a block no branch targets, is only reached by
            // falling through the end: it stays in the same metered block.
            if (cKind[sp] === 0x03 || (cKind[sp] === 0x02 && cTgt[sp] === 0)) boundary = 0;
            sp--;
          }
          break;
        case 0x0d:
        case 0x0c: {
          const t = sp - (imm[i]! >>> 0);
          if (t > 0) cTgt[t] = 1;
          if (k === 0x0d) {
            h--;
            if (h < cBase[sp]!) h = cBase[sp]!;
          } else h = cBase[sp]!;
          break;
        }
        case 0x0e: {
          brReader ??= new Reader(body);
          brReader.pos = pos[i]! + 1;
          const n = brReader.u32();
          for (let j = 0; j <= n; j++) {
            const t = sp - brReader.u32();
            if (t > 0) cTgt[t] = 1;
          }
          h = cBase[sp]!;
          break;
        }
        case 0x0f:
          h = cBase[sp]!;
          break;
        case 0x10:
        case 0x11: {
          let t: number;
          if (k === 0x10) {
            const f = imm[i]! >>> 0;
            if (f >= ctx.nFuncs) fail('INVALID_BYTECODE', `unknown function ${f} in function ${funcIndex}`);
            t = ctx.funcType[f]!;
          } else {
            t = imm[i]! >>> 0;
            if (t >= nTypes) fail('INVALID_BYTECODE', `unknown type ${t} in function ${funcIndex}`);
            h--;
          }
          h -= ctx.typeParams[t]!;
          if (h < cBase[sp]!) h = cBase[sp]!;
          h += ctx.typeResults[t]!;
          if (h > maxH) maxH = h;
          break;
        }
      }
    }
    // (a global.set of an imported global is visible to the host: not pure)
    if (IMPURE[k] || (k === 0x24 && imm[i]! >>> 0 < ctx.nImportedGlobals)) pure = 0;
    if (boundary) {
      // negative = the charge's check may be deferred (pure block that is not a loop header)
      if (cur > 0) charges[insAt] = pure && !loopHead && lazy ? -cur : cur;
      if (!pure) syncAt[insAt] = 1;
      cur = 0;
      insAt = i + 1;
      pure = 1;
      loopHead = k === 0x03 ? 1 : 0;
    }
  }
  if (cur > 0 && insAt < count) charges[insAt] = pure && !loopHead && lazy ? -cur : cur;
  if (!pure && insAt < count) syncAt[insAt] = 1;

  // ---- temporaries (appended after the declared locals: no renumbering)
  const newLocals = code.locals.slice();
  let next = nLocals;
  const add = (t: ValType): number => {
    const last = newLocals[newLocals.length - 1];
    if (last && last[1] === t) newLocals[newLocals.length - 1] = [last[0] + 1, t];
    else newLocals.push([1, t]);
    return next++;
  };
  // The remaining gas lives in this local inside the function (a register, where a global is a load
  // and a store); it is written back to `__wasmvm_gas` at the start of every metered block that can
  // trap or leave the instance (calls, memory access, ...), before every exit and on the out-of-gas
  // trap path, and reloaded after every call.
  const gasL = costs ? add('i64') : -1;
  // Small leaf functions (no calls) are not counted by the stack limiter: they add at most one bounded
  // frame on top of the deepest counted one, which the limit's headroom covers.
  const frameCost = FRAME_OVERHEAD_UNITS + slots + maxH;
  const stackOn = ctx.stackLimit > 0 && (hasCall || frameCost > LEAF_MAX_UNITS);
  // the stack height after the prologue: the epilogue restores the height from it (no global load)
  const stackL = stackOn ? add('i32') : -1;
  const tmp32 = costs && needDyn ? add('i32') : -1;
  let tF32 = -1;
  let tF64 = -1;
  let tV128 = -1;
  if (ctx.nan && needNan) {
    if (needNan & F_NAN_F32) tF32 = add('f32');
    if (needNan & F_NAN_F64) tF64 = add('f64');
    if (needNan & (F_NAN_F32X4 | F_NAN_F64X2)) tV128 = add('v128');
  }

  if (next > 50_000)
    throw new EngineError(
      'LIMIT_EXCEEDED',
      `function ${funcIndex} has too many locals to instrument (${nLocals})`,
    );

  // ---- pass 2: emit
  const w = ctx.w;
  w.len = 0;
  if (stackOn) {
    w.u8(0x23);
    w.u32(ctx.stackG);
    w.u8(0x41);
    w.s32(frameCost);
    w.u8(0x6a); // i32.add
    w.u8(0x22);
    w.u32(stackL);
    w.u8(0x24);
    w.u32(ctx.stackG);
    w.u8(0x20);
    w.u32(stackL);
    w.u8(0x41);
    w.s32(ctx.stackLimit);
    w.u8(0x4b); // i32.gt_u
    emitTrap(w, ctx.trapG, 2);
  }
  if (costOp) emitReload(w, ctx, gasL);
  if (stackOn) {
    w.u8(0x02);
    w.s33(blockTypeFor(m, ft.results));
  }
  let copyFrom = 0;
  let depth = 0;
  const nanOn = ctx.nan;
  const last = count - 1;
  for (let i = 0; i < count; i++) {
    const k = op[i]!;
    if (costOp) {
      const c = charges[i]!;
      if (c !== 0) {
        w.bytes(body, copyFrom, pos[i]!);
        copyFrom = pos[i]!;
        if (c < 0) ctx.deferred++;
        emitCharge(w, ctx, c > 0 ? c : -c, gasL, c > 0, syncAt[i] === 1);
      } else if (syncAt[i]) {
        w.bytes(body, copyFrom, pos[i]!);
        copyFrom = pos[i]!;
        emitSync(w, ctx, gasL);
      }
    }
    if (k < 0x10) {
      if (k === 0x02 || k === 0x03 || k === 0x04) depth++;
      else if (k === 0x0b) {
        // the function's final `end` (without the wrapper block): write the gas back first
        if (i === last && costOp && !stackOn) {
          w.bytes(body, copyFrom, pos[i]!);
          copyFrom = pos[i]!;
          emitSync(w, ctx, gasL);
        }
        depth--;
      } else if (k === 0x0f && stackOn) {
        // return -> br to the wrapper block (which has the function's results)
        w.bytes(body, copyFrom, pos[i]!);
        w.u8(0x0c);
        w.u32(depth);
        copyFrom = pos[i + 1]!;
      } else if (costOp && !stackOn && exitsFunction(k, i, depth, body, pos, imm)) {
        // return, or a branch to the function's label: write the gas back first
        w.bytes(body, copyFrom, pos[i]!);
        copyFrom = pos[i]!;
        emitSync(w, ctx, gasL);
      }
      continue;
    }
    const fl = OP_FLAGS[k]!;
    if (fl === 0) continue;
    if (fl & F_DYNAMIC && costs) {
      const per =
        fl & F_MEMORY_GROW
          ? costs.table.memoryGrowPerPage
          : fl & F_TABLE
            ? costs.table.tablePerElement
            : costs.table.bulkMemoryPerByte;
      if (per > 0) {
        w.bytes(body, copyFrom, pos[i]!);
        copyFrom = pos[i]!;
        emitDynamicCharge(w, ctx, per, gasL, tmp32);
      }
    }
    if (fl & F_CALL && costOp) {
      // the callee (or the host) charged the global: reload
      const end = pos[i + 1]!;
      w.bytes(body, copyFrom, end);
      copyFrom = end;
      emitReload(w, ctx, gasL);
    }
    if (fl & F_NAN && nanOn) {
      // A NaN consumed right away by another NaN-producing operation on the same lane shape need not be
      // canonicalized: that operation's result is a NaN whenever this one is, and is canonicalized itself.
      const cls = fl & F_NAN;
      const k1 = op[i + 1]!;
      if (NAN_INPUT[k1] === cls) continue;
      if (PUSH_ONLY[k1] && NAN_INPUT[op[i + 2]!] === cls && OP_POP[op[i + 2]!] === 2) continue;
      const end = pos[i + 1]!;
      w.bytes(body, copyFrom, end);
      copyFrom = end;
      emitCanon(w, fl, fl & F_NAN_F32 ? tF32 : fl & F_NAN_F64 ? tF64 : tV128);
      ctx.nanSites++;
    }
  }
  if (stackOn) {
    // the original final `end` closes the wrapper block; then the epilogue and the function's end
    w.bytes(body, copyFrom, pos[last + 1]!);
    if (costOp) emitSync(w, ctx, gasL);
    // height = (height after the prologue) - frame: every callee restored what it added
    w.u8(0x20);
    w.u32(stackL);
    w.u8(0x41);
    w.s32(frameCost);
    w.u8(0x6b); // i32.sub
    w.u8(0x24);
    w.u32(ctx.stackG);
    w.u8(0x0b);
  } else w.bytes(body, copyFrom, pos[last + 1]!);
  m.codes[defIndex] = { locals: newLocals, body: w.finish() };
}

/** Whether instruction i (return, br, br_if, br_table at block depth `depth`) can leave the function. */
function exitsFunction(
  k: number,
  i: number,
  depth: number,
  body: Uint8Array,
  pos: ArrayLike<number>,
  imm: ArrayLike<number>,
): boolean {
  if (k === 0x0f) return true;
  if (k === 0x0c || k === 0x0d) return imm[i]! >>> 0 === depth;
  if (k === 0x0e) {
    const r = new Reader(body);
    r.pos = pos[i]! + 1;
    const n = r.u32();
    for (let j = 0; j <= n; j++) if (r.u32() === depth) return true;
  }
  return false;
}
