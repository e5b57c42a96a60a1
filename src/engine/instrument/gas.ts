/**
 * Gas metering: the module's gas global and exit thunks, and the emit hooks of a function body
 * (static charge per metered block, dynamic charges, the gas local's sync/reload around calls and
 * exits). The remaining gas lives in a local inside each function (a register, where a global is a
 * load and a store); it is written back to `__wasmvm_gas` at the start of every metered block that can
 * trap or leave the instance, before every exit and on the out-of-gas trap path, and reloaded after
 * every call. See docs/metering.md.
 */
import { F_MEMORY_GROW, F_TABLE, Reader, type WasmModule, Writer } from '../../wasm/index.ts';
import { type BodyOut, copyTo, emitTrap } from './emit.ts';
import { type Ctx, GAS_EXPORT, type InstrumentInfo, START_EXPORT, TRAP_OUT_OF_GAS } from './types.ts';

/** Adds `__wasmvm_gas` (and moves the start function to `__wasmvm_start`); returns the next global index. */
export function addGasGlobal(m: WasmModule, ctx: Ctx, info: InstrumentInfo, nextGlobal: number): number {
  const costs = ctx.costs!;
  ctx.gasG = nextGlobal++;
  m.globals.push({ type: 'i64', mutable: true, init: new Uint8Array([0x42, 0x00, 0x0b]) });
  m.exports.push({ name: GAS_EXPORT, kind: 'global', index: ctx.gasG });
  info.costTableVersion = costs.table.version;
  info.gasExport = GAS_EXPORT;
  if (m.start !== undefined) {
    m.exports.push({ name: START_EXPORT, kind: 'func', index: m.start });
    delete m.start;
    info.startExport = START_EXPORT;
  }
  return nextGlobal;
}

/**
 * Deferred checks: exported functions are re-pointed to thunks that call them and check the gas on
 * return, so a run never returns to the host with the gas overdrawn. The originals are kept declared
 * (a declarative element segment) for `ref.func`.
 */
export function addExitThunks(m: WasmModule, ctx: Ctx, nFuncs: number): void {
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

/** Emit hook before instruction i: the charge of the metered block starting there, or a sync. */
export function gasBefore(o: BodyOut, ctx: Ctx, i: number, gasL: number): void {
  const c = ctx.charges[i]!;
  if (c !== 0) {
    copyTo(o, o.pos[i]!);
    if (c < 0) ctx.deferred++;
    emitCharge(o.w, ctx, c > 0 ? c : -c, gasL, c > 0, (ctx.syncAt[i]! & 1) === 1);
  } else if (ctx.syncAt[i]! & 1) {
    copyTo(o, o.pos[i]!);
    emitSync(o.w, ctx, gasL);
  }
}

/** Emit hook before a dynamically charged instruction (memory.grow, bulk memory, table ops). */
export function gasDynamic(o: BodyOut, ctx: Ctx, fl: number, i: number, gasL: number, tmp32: number): void {
  const table = ctx.costs!.table;
  const per =
    fl & F_MEMORY_GROW
      ? table.memoryGrowPerPage
      : fl & F_TABLE
        ? table.tablePerElement
        : table.bulkMemoryPerByte;
  if (per > 0) {
    copyTo(o, o.pos[i]!);
    emitDynamicCharge(o.w, ctx, per, gasL, tmp32);
  }
}

/** Emit hook after a call: the callee (or the host) charged the global: reload. */
export function gasAfterCall(o: BodyOut, ctx: Ctx, i: number, gasL: number): void {
  copyTo(o, o.pos[i + 1]!);
  emitReload(o.w, ctx, gasL);
}

/** The gas local -> `__wasmvm_gas` (stack-neutral). */
export function emitSync(w: Writer, ctx: Ctx, gasL: number): void {
  w.u8(0x20);
  w.u32(gasL);
  w.u8(0x24);
  w.u32(ctx.gasG);
}

/** `__wasmvm_gas` -> the gas local (stack-neutral). */
export function emitReload(w: Writer, ctx: Ctx, gasL: number): void {
  w.u8(0x23);
  w.u32(ctx.gasG);
  w.u8(0x21);
  w.u32(gasL);
}

/**
 * After a call that a trapping or host-visible instruction follows in the same metered block (bit 2 of
 * syncAt): the callee may have returned with the gas overdrawn by its deferred charges; check it. An
 * internal callee returned the gas in a result (`sync`): write it back to the global first.
 */
export function gasCheckAfterCall(o: BodyOut, ctx: Ctx, i: number, gasL: number, sync: boolean): void {
  if ((ctx.syncAt[i]! & 2) === 0) return;
  copyTo(o, o.pos[i + 1]!);
  if (sync) emitSync(o.w, ctx, gasL);
  o.w.u8(0x20);
  o.w.u32(gasL);
  emitGasCheck(o.w, ctx, gasL);
  ctx.gasChecks++;
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

/** Whether instruction i (return, br, br_if, br_table at block depth `depth`) can leave the function. */
export function exitsFunction(
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
