/**
 * The instrumentation driver: decodes the module, runs the checks, adds the instrumentation globals,
 * and instruments each function body in one scan (scan.ts) and one emit loop that calls the gas, stack
 * and NaN hooks (unchanged byte ranges are copied, never re-encoded). Contract: docs/metering.md.
 */
import {
  decodeBody,
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
import type { BodyOut } from './emit.ts';
import {
  addExitThunks,
  addGasGlobal,
  emitReload,
  emitSync,
  exitsFunction,
  gasAfterCall,
  gasBefore,
  gasDynamic,
} from './gas.ts';
import { type NanLocals, nanAfter } from './nan.ts';
import { type Decoded, type ScanResult, scanFunction } from './scan.ts';
import {
  addStackGlobal,
  DEFAULT_STACK_LIMIT,
  emitStackEpilogue,
  emitStackPrologue,
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
  const lazy = costs !== null && gasOpt !== false && gasOpt.checkEveryBlock !== true;
  const ctx = moduleContext(m, costs, stackLimit === false ? 0 : stackLimit, nan, lazy);
  const info: InstrumentInfo = {
    metered: costs !== null,
    canonicalizeNaN: nan,
    functions: m.codes.length,
    gasChecks: 0,
    gasCharges: 0,
    nanSites: 0,
  };
  if (memoryMaxPages !== undefined) info.memoryMaxPages = memoryMaxPages;
  addGlobals(m, ctx, info);

  const nImportedFuncs = ctx.nFuncs - m.functions.length;
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
    nanSites: 0,
    charges: new Float64Array(1024),
    syncAt: new Uint8Array(1024),
    ctrl: new Int32Array(768),
    w: new Writer(4096),
  };
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
  gasL: number;
  stackL: number;
  tmp32: number;
  nan: NanLocals;
  frameCost: number;
  stackOn: boolean;
}

function addTemporaries(
  ctx: Ctx,
  code: WasmModule['codes'][number],
  nLocals: number,
  slots: number,
  scan: ScanResult,
  funcIndex: number,
): FnLocals {
  const newLocals = code.locals.slice();
  let next = nLocals;
  const add = (t: ValType): number => {
    const last = newLocals[newLocals.length - 1];
    if (last && last[1] === t) newLocals[newLocals.length - 1] = [last[0] + 1, t];
    else newLocals.push([1, t]);
    return next++;
  };
  const gasL = ctx.costs ? add('i64') : -1;
  const frameCost = FRAME_OVERHEAD_UNITS + slots + scan.maxH;
  const stackOn = stackCounted(ctx, scan.hasCall, frameCost);
  // the stack height after the prologue: the epilogue restores the height from it (no global load)
  const stackL = stackOn ? add('i32') : -1;
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
  return { locals: newLocals, gasL, stackL, tmp32, nan, frameCost, stackOn };
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
  const t = addTemporaries(ctx, code, nLocals, slots, scan, funcIndex);
  m.codes[defIndex] = { locals: t.locals, body: emitFunction(ctx, d, code.body, ft, t) };
}

/** Pass 2: the body with the prologue, the hooks' insertions and the epilogue. */
function emitFunction(ctx: Ctx, d: Decoded, body: Uint8Array, ft: FuncType, t: FnLocals): Uint8Array {
  const { op, pos, imm, count } = d;
  const w = ctx.w;
  w.len = 0;
  const { gasL, stackOn } = t;
  const costOp = ctx.costs ? ctx.costs.op : null;
  if (stackOn) emitStackPrologue(w, ctx, t.frameCost, t.stackL);
  if (costOp) emitReload(w, ctx, gasL);
  if (stackOn) emitWrapperBlock(w, ctx.m, ft.results);
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
        if (i === last && costOp && !stackOn) syncBefore(o, ctx, i, gasL);
        depth--;
      } else if (k === 0x0f && stackOn) {
        // return -> br to the wrapper block (which has the function's results)
        w.bytes(body, o.copyFrom, pos[i]!);
        w.u8(0x0c);
        w.u32(depth);
        o.copyFrom = pos[i + 1]!;
      } else if (costOp && !stackOn && exitsFunction(k, i, depth, body, pos, imm)) {
        // return, or a branch to the function's label: write the gas back first
        syncBefore(o, ctx, i, gasL);
      }
      continue;
    }
    const fl = OP_FLAGS[k]!;
    if (fl === 0) continue;
    if (fl & F_DYNAMIC && costOp) gasDynamic(o, ctx, fl, i, gasL, t.tmp32);
    if (fl & F_CALL && costOp) gasAfterCall(o, ctx, i, gasL);
    if (fl & F_NAN && nanOn) nanAfter(o, ctx, op, i, fl, t.nan);
  }
  if (stackOn) {
    // the original final `end` closes the wrapper block; then the epilogue and the function's end
    w.bytes(body, o.copyFrom, pos[last + 1]!);
    if (costOp) emitSync(w, ctx, gasL);
    emitStackEpilogue(w, ctx, t.frameCost, t.stackL);
  } else w.bytes(body, o.copyFrom, pos[last + 1]!);
  return w.finish();
}

function syncBefore(o: BodyOut, ctx: Ctx, i: number, gasL: number): void {
  o.w.bytes(o.body, o.copyFrom, o.pos[i]!);
  o.copyFrom = o.pos[i]!;
  emitSync(o.w, ctx, gasL);
}
