/**
 * The instrumentation driver: decodes the module, runs the checks, adds the instrumentation globals,
 * and instruments each function body in one scan (scan.ts) and one emit loop that calls the gas, stack
 * and NaN hooks (unchanged byte ranges are copied, never re-encoded). Contract: docs/metering.md.
 */
import {
  decodeBody,
  decodeInstructions,
  F_CALL,
  F_DYNAMIC,
  F_NAN,
  F_NAN_F32,
  F_NAN_F32X4,
  F_NAN_F64,
  F_NAN_F64X2,
  type FuncType,
  importCount,
  OP_FLAGS,
  readModule,
  type ValType,
  type WasmModule,
  Writer,
  writeModule,
} from '../../wasm/index.ts';
import { EngineError } from '../errors.ts';
import type { CompiledCosts } from './cost-table.ts';
import { type BodyOut, copyTo } from './emit.ts';
import {
  addExitThunks,
  addGasGlobal,
  emitReload,
  emitSync,
  exitsFunction,
  gasAfterCall,
  gasBefore,
  gasCheckAfterCall,
  gasDynamic,
} from './gas.ts';
import { type NanLocals, nanAfter } from './nan.ts';
import { type Decoded, type ScanResult, scanFunction } from './scan.ts';
import {
  addStackGlobal,
  DEFAULT_STACK_LIMIT,
  emitEntryCheck,
  emitInternalPrologue,
  emitStackEpilogue,
  emitStackPrologue,
  emitStackSync,
  emitWrapperBlock,
  FRAME_OVERHEAD_UNITS,
  stackCounted,
  valSlots,
} from './stack.ts';
import {
  type Ctx,
  type InstrumentInfo,
  type InstrumentOptions,
  type InstrumentResult,
  TRAP_EXPORT,
} from './types.ts';
import {
  capMemory,
  checkConstExprs,
  checkFeatures,
  checkIndices,
  checkStackLimit,
  fail,
  gasCosts,
  translate,
} from './validate.ts';

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
  const costs = gasCosts(gasOpt);
  const stackLimit = opts.stackLimit === undefined ? DEFAULT_STACK_LIMIT : opts.stackLimit;
  checkStackLimit(stackLimit);
  const nan = opts.canonicalizeNaN === true;

  checkFeatures(m);
  const memoryMaxPages = capMemory(m, opts.maxMemoryPages);
  const reference = opts.reference === true || (gasOpt !== false && gasOpt.checkEveryBlock === true);
  const lazy = costs !== null && !reference;
  const ctx = moduleContext(m, costs, stackLimit === false ? 0 : stackLimit, nan, lazy);
  if (!reference && (costs !== null || ctx.stackLimit > 0)) ctx.internal = internalFunctions(m, ctx);
  const info: InstrumentInfo = {
    metered: costs !== null,
    canonicalizeNaN: nan,
    functions: m.codes.length,
    gasChecks: 0,
    gasCharges: 0,
    nanSites: 0,
    internalFunctions: 0,
  };
  if (memoryMaxPages !== undefined) info.memoryMaxPages = memoryMaxPages;
  addGlobals(m, ctx, info);

  const nImportedFuncs = ctx.nFuncs - m.functions.length;
  if (ctx.internal) info.internalFunctions = retypeInternal(m, ctx, nImportedFuncs);
  if (costs || ctx.stackLimit || nan) {
    for (let f = 0; f < m.codes.length; f++) {
      try {
        instrumentFunction(ctx, f, nImportedFuncs + f);
      } catch (e) {
        translate(e);
      }
    }
  }
  if (ctx.deferred > 0) addExitThunks(m, ctx, ctx.nFuncs);
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

/** The index spaces and type arities of the module (checked), and the passes' shared state. */
function moduleContext(
  m: WasmModule,
  costs: CompiledCosts | null,
  stackLimit: number,
  nan: boolean,
  lazy: boolean,
): Ctx {
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
  let i = 0;
  for (const im of m.imports) if (im.kind === 'func') funcType[i++] = im.type;
  for (const t of m.functions) funcType[i++] = t;
  for (let j = 0; j < nFuncs; j++)
    if (funcType[j]! >= nTypes) fail('INVALID_BYTECODE', `function ${j} has unknown type ${funcType[j]}`);
  const nGlobals = importCount(m, 'global') + m.globals.length;
  checkConstExprs(m, nGlobals, nFuncs);
  checkIndices(m, nFuncs, nGlobals);
  return {
    m,
    costs,
    stackLimit,
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
    lazy,
    internal: null,
    nanSites: 0,
    charges: new Float64Array(1024),
    syncAt: new Uint8Array(1024),
    ctrl: new Int32Array(768),
    w: new Writer(4096),
  };
}

/**
 * The functions that get the internal calling convention (see Ctx.internal): every defined function
 * that no export, start section, element segment or global initializer refers to. Validation requires
 * a `ref.func` in code to name a function declared in one of those, so the rest are reached by direct
 * `call` instructions only and their signature can change. Null when there is none.
 */
function internalFunctions(m: WasmModule, ctx: Ctx): Uint8Array | null {
  const nImported = ctx.nFuncs - m.functions.length;
  const internal = new Uint8Array(ctx.nFuncs);
  internal.fill(1, nImported);
  const refs = (expr: Uint8Array | undefined): void => {
    if (!expr) return;
    for (const ins of decodeInstructions(expr)) if (ins.op === 0xd2) internal[ins.a!] = 0;
  };
  for (const e of m.exports) if (e.kind === 'func') internal[e.index] = 0;
  if (m.start !== undefined) internal[m.start] = 0;
  for (const el of m.elements) {
    if (el.funcs) for (const f of el.funcs) internal[f] = 0;
    if (el.exprs) for (const e of el.exprs) refs(e);
  }
  for (const g of m.globals) refs(g.init);
  return internal.includes(1) ? internal : null;
}

/**
 * Gives each internal function its new type: the original parameters, then the gas (i64, with gas
 * metering) and the stack height (i32, with the stack limiter); the original results, then the gas.
 * Returns how many functions got it.
 */
function retypeInternal(m: WasmModule, ctx: Ctx, nImported: number): number {
  const gas = ctx.costs !== null;
  const stack = ctx.stackLimit > 0;
  const newType = new Map<number, number>();
  let n = 0;
  for (let f = 0; f < m.functions.length; f++) {
    if (!ctx.internal![nImported + f]) continue;
    n++;
    const t = m.functions[f]!;
    let nt = newType.get(t);
    if (nt === undefined) {
      const ft = m.types[t]!;
      const params = [...ft.params, ...(gas ? (['i64'] as const) : []), ...(stack ? (['i32'] as const) : [])];
      const results = [...ft.results, ...(gas ? (['i64'] as const) : [])];
      nt = m.types.findIndex(
        (u) =>
          u.params.length === params.length &&
          u.results.length === results.length &&
          u.params.every((p, i) => p === params[i]) &&
          u.results.every((r, i) => r === results[i]),
      );
      if (nt < 0) {
        m.types.push({ params, results });
        nt = m.types.length - 1;
      }
      newType.set(t, nt);
    }
    m.functions[f] = nt;
  }
  return n;
}

/** Appends the gas, trap and stack globals the options need (in that order), with their exports. */
function addGlobals(m: WasmModule, ctx: Ctx, info: InstrumentInfo): void {
  let nextGlobal = ctx.nGlobals;
  if (ctx.costs) nextGlobal = addGasGlobal(m, ctx, info, nextGlobal);
  if (ctx.costs || ctx.stackLimit) {
    ctx.trapG = nextGlobal++;
    m.globals.push({ type: 'i32', mutable: true, init: new Uint8Array([0x41, 0x00, 0x0b]) });
    m.exports.push({ name: TRAP_EXPORT, kind: 'global', index: ctx.trapG });
    info.trapExport = TRAP_EXPORT;
  }
  if (ctx.stackLimit) addStackGlobal(m, ctx, info, nextGlobal);
}

/** The temporaries one function body needs, appended after its declared locals (no renumbering). */
interface FnLocals {
  locals: [number, ValType][];
  /** The gas local (the gas parameter in an internal function); -1 without gas metering. */
  gasL: number;
  /**
   * The stack height after the prologue: the epilogue restores the height from it (no global load),
   * and calls pass it to internal callees. In an internal function, the height parameter (the prologue
   * adds the frame to it). -1 when the function is not counted.
   */
  stackL: number;
  tmp32: number;
  nan: NanLocals;
  frameCost: number;
  stackOn: boolean;
  /** Whether the function has the internal calling convention. */
  internal: boolean;
  /** Number of the original parameters (locals at or above it are renumbered by `shift`). */
  nParams: number;
  /** Parameters added by the internal calling convention (0, 1 or 2). */
  shift: number;
}

function addTemporaries(
  ctx: Ctx,
  code: WasmModule['codes'][number],
  nParams: number,
  nLocals: number,
  slots: number,
  scan: ScanResult,
  funcIndex: number,
): FnLocals {
  const internal = ctx.internal !== null && ctx.internal[funcIndex] === 1;
  const shift = internal ? (ctx.costs ? 1 : 0) + (ctx.stackLimit ? 1 : 0) : 0;
  const newLocals = code.locals.slice();
  let next = nLocals + shift;
  const add = (t: ValType): number => {
    const last = newLocals[newLocals.length - 1];
    if (last && last[1] === t) newLocals[newLocals.length - 1] = [last[0] + 1, t];
    else newLocals.push([1, t]);
    return next++;
  };
  const frameCost = FRAME_OVERHEAD_UNITS + slots + scan.maxH;
  const stackOn = stackCounted(ctx, scan.hasCall, frameCost);
  let gasL = -1;
  let stackL = -1;
  if (internal) {
    if (ctx.costs) gasL = nParams;
    if (stackOn) stackL = nParams + (ctx.costs ? 1 : 0);
  } else {
    if (ctx.costs) gasL = add('i64');
    if (stackOn) stackL = add('i32');
  }
  const tmp32 = ctx.costs && scan.needDyn ? add('i32') : -1;
  const nan: NanLocals = { f32: -1, f64: -1, v128: -1 };
  const needNan = scan.needNan;
  if (ctx.nan && needNan) {
    if (needNan & F_NAN_F32) nan.f32 = add('f32');
    if (needNan & F_NAN_F64) nan.f64 = add('f64');
    if (needNan & (F_NAN_F32X4 | F_NAN_F64X2)) nan.v128 = add('v128');
  }
  if (next > 50_000)
    throw new EngineError(
      'LIMIT_EXCEEDED',
      `function ${funcIndex} has too many locals to instrument (${nLocals})`,
    );
  return { locals: newLocals, gasL, stackL, tmp32, nan, frameCost, stackOn, internal, nParams, shift };
}

function instrumentFunction(ctx: Ctx, defIndex: number, funcIndex: number): void {
  const m = ctx.m;
  const code = m.codes[defIndex]!;
  const ft: FuncType = m.types[ctx.funcType[funcIndex]!]!;
  const d = decodeBody(code.body, code.offset ?? 0);
  let nLocals = ft.params.length;
  let slots = 0;
  for (const p of ft.params) slots += valSlots(p);
  for (const [c, t] of code.locals) {
    nLocals += c;
    slots += c * valSlots(t);
  }
  const scan = scanFunction(ctx, d, code.body, ft.results.length, nLocals, funcIndex);
  const t = addTemporaries(ctx, code, ft.params.length, nLocals, slots, scan, funcIndex);
  m.codes[defIndex] = { locals: t.locals, body: emitFunction(ctx, d, code.body, ft, t) };
}

/** Pass 2: the body with the prologue, the hooks' insertions and the epilogue. */
function emitFunction(ctx: Ctx, d: Decoded, body: Uint8Array, ft: FuncType, t: FnLocals): Uint8Array {
  const { op, pos, imm, count } = d;
  const w = ctx.w;
  w.len = 0;
  const { gasL, stackOn, internal, shift, nParams, stackL } = t;
  const costOp = ctx.costs ? ctx.costs.op : null;
  const callee = ctx.internal;
  // whether `return`s become branches to a wrapper block around the body, followed by the epilogue
  const wrapped = internal ? costOp !== null : stackOn;
  if (internal) {
    if (stackOn) emitInternalPrologue(w, ctx, t.frameCost, stackL);
    emitEntryCheck(w, ctx, gasL, stackL);
  } else {
    if (stackOn) emitStackPrologue(w, ctx, t.frameCost, stackL);
    if (costOp) emitReload(w, ctx, gasL);
  }
  if (wrapped) emitWrapperBlock(w, ctx.m, ft.results);
  const o: BodyOut = { w, body, pos, copyFrom: 0 };
  let depth = 0;
  const nanOn = ctx.nan;
  const last = count - 1;
  for (let i = 0; i < count; i++) {
    const k = op[i]!;
    if (costOp) gasBefore(o, ctx, i, gasL);
    if (k < 0x10) {
      if (k === 0x02 || k === 0x03 || k === 0x04) depth++;
      else if (k === 0x0b) {
        // the function's final `end` (without the wrapper block): write the gas back first
        if (i === last && costOp && !wrapped) syncBefore(o, ctx, i, gasL);
        depth--;
      } else if (k === 0x0f && wrapped) {
        // return -> br to the wrapper block (which has the function's results)
        w.bytes(body, o.copyFrom, pos[i]!);
        w.u8(0x0c);
        w.u32(depth);
        o.copyFrom = pos[i + 1]!;
      } else if (costOp && !wrapped && exitsFunction(k, i, depth, body, pos, imm)) {
        // return, or a branch to the function's label: write the gas back first
        syncBefore(o, ctx, i, gasL);
      }
      continue;
    }
    if (k <= 0x22 && k >= 0x20) {
      // local.get/set/tee: the internal convention's parameters come before the declared locals
      const x = imm[i]! >>> 0;
      if (shift > 0 && x >= nParams) {
        copyTo(o, pos[i]!);
        w.u8(k);
        w.u32(x + shift);
        o.copyFrom = pos[i + 1]!;
      }
      continue;
    }
    const fl = OP_FLAGS[k]!;
    if (fl === 0) continue;
    if (fl & F_DYNAMIC && costOp) gasDynamic(o, ctx, fl, i, gasL, t.tmp32);
    if (fl & F_CALL) {
      if (k === 0x10 && callee !== null && callee[imm[i]! >>> 0] === 1) {
        // internal callee: pass the gas and the stack height, take the gas back
        copyTo(o, pos[i]!);
        if (costOp) emitGet(w, gasL);
        if (ctx.stackLimit) emitGet(w, stackL);
        copyTo(o, pos[i + 1]!);
        if (costOp) {
          emitSet(w, gasL);
          gasCheckAfterCall(o, ctx, i, gasL, true);
        }
      } else {
        // the callee reads `__wasmvm_stack`: internal functions keep their height in a parameter
        if (callee !== null && ctx.stackLimit) {
          copyTo(o, pos[i]!);
          emitStackSync(w, ctx, stackL);
        }
        if (costOp) {
          gasAfterCall(o, ctx, i, gasL);
          gasCheckAfterCall(o, ctx, i, gasL, false);
        }
      }
    }
    if (fl & F_NAN && nanOn) nanAfter(o, ctx, op, i, fl, t.nan);
  }
  // the original final `end` closes the wrapper block, if any
  w.bytes(body, o.copyFrom, pos[last + 1]!);
  if (wrapped && internal) {
    emitGet(w, gasL);
    w.u8(0x0b);
  } else if (wrapped) {
    if (costOp) emitSync(w, ctx, gasL);
    emitStackEpilogue(w, ctx, t.frameCost, stackL);
  }
  return w.finish();
}

function emitGet(w: Writer, local: number): void {
  w.u8(0x20);
  w.u32(local);
}

function emitSet(w: Writer, local: number): void {
  w.u8(0x21);
  w.u32(local);
}

function syncBefore(o: BodyOut, ctx: Ctx, i: number, gasL: number): void {
  o.w.bytes(o.body, o.copyFrom, o.pos[i]!);
  o.copyFrom = o.pos[i]!;
  emitSync(o.w, ctx, gasL);
}
