/**
 * A `.wast` script runner for the WebAssembly core spec suite, run in-process with `WebAssembly.*`.
 *
 * Text modules are compiled by the npm `wabt` package; all literal constants of a script (arguments
 * and expected results) are also compiled by wabt, in one "constant pool" module per script, so
 * float/int literal syntax is wabt's, exact to the bit. Calls go through a small generated wrapper
 * module per signature, which passes floats as raw bits and stores results to memory, so NaN
 * payloads survive the trip through JS.
 *
 * Each script runs under a `Variant`: the plain module, or the module after a transform (the
 * metering instrumenter), with hooks to arm gas and read the instrumenter's trap code.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import wabtInit from 'wabt';
import { head, parseSExprs, type SExpr, type SList } from './sexpr.ts';
import { type ExportTypes, exportTypes, type FuncType, type ValType } from './wasm-types.ts';

export const WABT_FEATURES = {
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
};

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabtP: Promise<Wabt> | undefined;
export function getWabt(): Promise<Wabt> {
  wabtP ??= wabtInit();
  return wabtP;
}

export function watToBinary(w: Wabt, text: string | Uint8Array, name = 'module.wat'): Uint8Array {
  const m = w.parseWat(name, typeof text === 'string' ? new TextEncoder().encode(text) : text, WABT_FEATURES);
  try {
    m.resolveNames();
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
}

export interface Variant {
  name: string;
  /** Transforms module bytes before compiling (throws to reject the module). */
  transform?: (bytes: Uint8Array) => Uint8Array;
  /** Called on every instance right after instantiation and before each invoke on it. */
  arm?: (exports: WebAssembly.Exports) => void;
  /**
   * For assert_invalid/assert_malformed modules: whether the transform ALONE (without the engine's
   * validation step in front of it) turns the rejected module into one that compiles.
   */
  transformAcceptsInvalid?: (bytes: Uint8Array) => boolean;
  /** Runs what the transform moved out of instantiation (e.g. the start function), after `arm`. */
  start?: (exports: WebAssembly.Exports) => void;
  /** After a trap: the instrumenter's trap code read from the instance (0 none, 1 gas, 2 stack). */
  trapCode?: (exports: WebAssembly.Exports) => number;
  /** Called after any trap, to reset instrumentation state (e.g. the stack-height counter). */
  reset?: (exports: WebAssembly.Exports) => void;
}

export type Outcome = 'pass' | 'fail' | 'skip';
export interface CommandResult {
  index: number;
  line: number;
  command: string;
  outcome: Outcome;
  detail?: string;
  /** assert_return whose expected values include a NaN with a specific payload. */
  expectsNanPayload?: boolean;
  /** assert_return whose expected values include nan:canonical / nan:arithmetic. */
  expectsNanPattern?: boolean;
  /** assert_invalid/malformed module that the transform alone turned into a valid module. */
  transformAcceptsInvalid?: boolean;
  /** For assert_exhaustion under a stack limiter: how the exhaustion was reported. */
  exhaustion?: 'range-error' | 'stack-limiter' | 'other-trap';
}
export interface ScriptResult {
  file: string;
  variant: string;
  results: CommandResult[];
  pass: number;
  fail: number;
  skip: number;
}

// ---------------------------------------------------------------------------------------------
// values

type Expected =
  | { kind: 'bytes'; type: ValType; bytes: Uint8Array }
  | { kind: 'nan'; type: 'f32' | 'f64'; pattern: 'canonical' | 'arithmetic' }
  | { kind: 'lanes'; shape: 'f32x4' | 'f64x2'; lanes: Expected[] }
  | { kind: 'ref.null'; type: ValType }
  | { kind: 'ref.extern'; n?: number }
  | { kind: 'ref.func' };
type Arg = { kind: 'bytes'; type: ValType; bytes: Uint8Array } | { kind: 'ref'; value: unknown };
type Actual = Uint8Array | unknown;

const SIZE: Record<string, number> = { i32: 4, i64: 8, f32: 4, f64: 8, v128: 16 };

function isNumeric(t: ValType): boolean {
  return t in SIZE;
}

function nanOk(bytes: Uint8Array, type: 'f32' | 'f64', pattern: 'canonical' | 'arithmetic'): boolean {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === 'f32') {
    const b = dv.getUint32(0, true) & 0x7fffffff;
    return pattern === 'canonical' ? b === 0x7fc00000 : (b & 0x7fc00000) === 0x7fc00000;
  }
  const b = dv.getBigUint64(0, true) & 0x7fffffffffffffffn;
  return pattern === 'canonical'
    ? b === 0x7ff8000000000000n
    : (b & 0x7ff8000000000000n) === 0x7ff8000000000000n;
}

function isNanBytes(bytes: Uint8Array, type: ValType): boolean {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === 'f32') return (dv.getUint32(0, true) & 0x7fffffff) > 0x7f800000;
  if (type === 'f64') return (dv.getBigUint64(0, true) & 0x7fffffffffffffffn) > 0x7ff0000000000000n;
  return false;
}

function hex(b: Uint8Array): string {
  return `0x${[...b]
    .reverse()
    .map((x) => x.toString(16).padStart(2, '0'))
    .join('')}`;
}

function matches(e: Expected, a: Actual, externs: Map<number, object>): boolean {
  switch (e.kind) {
    case 'bytes': {
      if (!(a instanceof Uint8Array) || a.length !== e.bytes.length) return false;
      for (let i = 0; i < a.length; i++) if (a[i] !== e.bytes[i]) return false;
      return true;
    }
    case 'nan':
      return a instanceof Uint8Array && nanOk(a, e.type, e.pattern);
    case 'lanes': {
      if (!(a instanceof Uint8Array) || a.length !== 16) return false;
      const w = e.shape === 'f32x4' ? 4 : 8;
      return e.lanes.every((l, i) => matches(l, a.subarray(i * w, i * w + w), externs));
    }
    case 'ref.null':
      return a === null;
    case 'ref.extern':
      return e.n === undefined ? a !== null && a !== undefined : a === externs.get(e.n);
    case 'ref.func':
      return typeof a === 'function';
  }
}

function expectsPayload(e: Expected, type?: ValType): boolean {
  if (e.kind === 'bytes') {
    if (e.type === 'f32' || e.type === 'f64') return isNanBytes(e.bytes, e.type);
    if (e.type === 'v128') return false;
    return false;
  }
  if (e.kind === 'lanes') return e.lanes.some((l) => expectsPayload(l, type));
  return false;
}

function show(a: Actual): string {
  if (a instanceof Uint8Array) return hex(a);
  if (a === null) return 'null';
  return typeof a;
}

// ---------------------------------------------------------------------------------------------
// call wrappers

const WRAP_PARAM: Record<ValType, string[]> = {
  i32: ['i32'],
  i64: ['i64'],
  f32: ['i32'],
  f64: ['i64'],
  v128: ['i64', 'i64'],
  funcref: ['funcref'],
  externref: ['externref'],
};

function sigKey(t: FuncType): string {
  return `${t.params.join(',')}->${t.results.join(',')}`;
}

interface Wrapper {
  call: (...args: unknown[]) => void;
  mem: WebAssembly.Memory;
  te: WebAssembly.Table;
  tf: WebAssembly.Table;
}

function storeResult(t: ValType, i: number, get: string): string {
  if (t === 'externref') return `(table.set $te (i32.const ${i}) ${get})`;
  if (t === 'funcref') return `(table.set $tf (i32.const ${i}) ${get})`;
  return `(${t}.store (i32.const ${i * 16}) ${get})`;
}

function funcWrapperWat(t: FuncType): string {
  const wp: string[] = [];
  const push: string[] = [];
  let k = 0;
  for (const p of t.params) {
    for (const w of WRAP_PARAM[p]) wp.push(w);
    if (p === 'f32') push.push(`(f32.reinterpret_i32 (local.get ${k}))`);
    else if (p === 'f64') push.push(`(f64.reinterpret_i64 (local.get ${k}))`);
    else if (p === 'v128')
      push.push(
        `(i64x2.replace_lane 1 (i64x2.replace_lane 0 (v128.const i64x2 0 0) (local.get ${k})) (local.get ${k + 1}))`,
      );
    else push.push(`(local.get ${k})`);
    k += WRAP_PARAM[p].length;
  }
  const n = t.results.length;
  const resLocals = t.results.map((r) => `(local ${r})`).join(' ');
  const sets = t.results.map((_, i) => `(local.set ${k + n - 1 - i})`).join(' ');
  const stores = t.results.map((r, i) => storeResult(r, i, `(local.get ${k + i})`)).join(' ');
  const sig = `${t.params.length ? `(param ${t.params.join(' ')})` : ''} ${n ? `(result ${t.results.join(' ')})` : ''}`;
  return `(module (import "t" "f" (func $f ${sig}))
    (memory (export "mem") 1) (table $te (export "te") ${n + 1} externref) (table $tf (export "tf") ${n + 1} funcref)
    (func (export "call") ${wp.length ? `(param ${wp.join(' ')})` : ''} ${resLocals}
      ${push.join(' ')} (call $f) ${sets} ${stores}))`;
}

function globalWrapperWat(type: ValType, mutable: boolean): string {
  const gt = mutable ? `(mut ${type})` : type;
  return `(module (import "t" "g" (global $g ${gt}))
    (memory (export "mem") 1) (table $te (export "te") 1 externref) (table $tf (export "tf") 1 funcref)
    (func (export "call") ${storeResult(type, 0, '(global.get $g)')}))`;
}

// ---------------------------------------------------------------------------------------------
// script state

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

class Skip extends Error {}

interface Inst {
  exports: WebAssembly.Exports;
  types: ExportTypes;
}

function spectest(): Record<string, unknown> {
  const nop = () => {};
  return {
    print: nop,
    print_i32: nop,
    print_i64: nop,
    print_f32: nop,
    print_f64: nop,
    print_i32_f32: nop,
    print_f64_f64: nop,
    global_i32: new WebAssembly.Global({ value: 'i32' }, 666),
    global_i64: new WebAssembly.Global({ value: 'i64' }, 666n),
    global_f32: new WebAssembly.Global({ value: 'f32' }, 666.6),
    global_f64: new WebAssembly.Global({ value: 'f64' }, 666.6),
    table: new WebAssembly.Table({ element: 'anyfunc', initial: 10, maximum: 20 }),
    memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }),
  };
}

function atom(e: SExpr | undefined): string | undefined {
  return e?.kind === 'atom' ? e.text : undefined;
}

/** Splits a v128 const into lanes, giving each lane's literal text. */
function v128Lanes(l: SList): { shape: string; lanes: string[] } {
  const shape = atom(l.items[1])!;
  return { shape, lanes: l.items.slice(2).map((x) => atom(x)!) };
}

export interface RunOptions {
  variant: Variant;
}

export class ScriptRunner {
  private src: string;
  private exprs: SExpr[];
  private lineStarts: number[] = [];
  private pool = new Map<string, number>();
  private poolBytes = new Uint8Array(0);
  private registry = new Map<string, Inst>();
  private named = new Map<string, Inst>();
  private current: Inst | undefined;
  private externs = new Map<number, object>();
  private wrapperModules = new Map<string, WebAssembly.Module>();
  private wrappers = new WeakMap<object, Wrapper>();
  private spectest = spectest();

  constructor(
    private readonly w: Wabt,
    private readonly file: string,
    private readonly variant: Variant,
    src?: string,
  ) {
    this.src = src ?? readFileSync(file, 'utf8');
    const exprs = parseSExprs(this.src);
    // A script made only of module fields is one inline module.
    const commands = new Set(['module', 'register', 'invoke', 'get']);
    if (exprs.length && exprs.every((e) => !commands.has(head(e) ?? '') && !head(e)?.startsWith('assert_'))) {
      this.src = `(module ${this.src}\n)`;
      this.exprs = parseSExprs(this.src);
    } else this.exprs = exprs;
    for (let p = 0; p >= 0; ) {
      this.lineStarts.push(p);
      const n = this.src.indexOf('\n', p);
      p = n < 0 ? -1 : n + 1;
    }
  }

  private lineOf(off: number): number {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  private text(l: SList): string {
    return this.src.slice(l.start, l.end);
  }

  // ---- constant pool ----------------------------------------------------------------------

  private collectConst(l: SList, out: Set<string>) {
    const h = head(l)!;
    if (h.startsWith('ref.')) return;
    if (h === 'v128.const') {
      const { shape, lanes } = v128Lanes(l);
      if (lanes.some((x) => x.startsWith('nan:canonical') || x.startsWith('nan:arithmetic'))) {
        const lt = shape.slice(0, 3);
        for (const x of lanes)
          if (!x.startsWith('nan:c') && !x.startsWith('nan:a')) out.add(`(${lt}.const ${x})`);
        return;
      }
    } else {
      const v = atom(l.items[1]);
      if (v === 'nan:canonical' || v === 'nan:arithmetic') return;
    }
    out.add(this.text(l).replace(/\s+/g, ' '));
  }

  private collectAll() {
    const out = new Set<string>();
    const visitAction = (a: SExpr | undefined) => {
      if (a?.kind !== 'list' || head(a) !== 'invoke') return;
      for (const x of a.items) if (x.kind === 'list') this.collectConst(x, out);
    };
    for (const e of this.exprs) {
      const h = head(e);
      if (e.kind !== 'list') continue;
      if (h === 'invoke') visitAction(e);
      else if (h === 'assert_return') {
        visitAction(e.items[1]);
        for (const x of e.items.slice(2)) if (x.kind === 'list') this.collectConst(x, out);
      } else if (h === 'assert_trap' || h === 'assert_exhaustion') visitAction(e.items[1]);
    }
    const list = [...out];
    const stores = list.map((c, i) => {
      const t = c.slice(1, c.indexOf('.'));
      this.pool.set(c, i * 16);
      return `(${t}.store (i32.const ${i * 16}) ${c})`;
    });
    const pages = Math.max(1, Math.ceil((list.length * 16) / 65536));
    const wat = `(module (memory (export "m") ${pages}) (func (export "run") ${stores.join('\n')}))`;
    const bin = watToBinary(this.w, wat, `${basename(this.file)}.consts.wat`);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bin));
    (inst.exports.run as () => void)();
    this.poolBytes = new Uint8Array((inst.exports.m as WebAssembly.Memory).buffer.slice(0));
  }

  private constBytes(text: string, type: string): Uint8Array {
    const off = this.pool.get(text.replace(/\s+/g, ' '));
    if (off === undefined) throw new Error(`constant not pooled: ${text}`);
    return this.poolBytes.slice(off, off + SIZE[type]!);
  }

  private arg(l: SList): Arg {
    const h = head(l)!;
    if (h === 'ref.null') return { kind: 'ref', value: null };
    if (h === 'ref.extern') return { kind: 'ref', value: this.extern(Number(atom(l.items[1]))) };
    const type = h.slice(0, h.indexOf('.')) as ValType;
    return { kind: 'bytes', type, bytes: this.constBytes(this.text(l), type) };
  }

  private extern(n: number): object {
    let o = this.externs.get(n);
    if (!o) {
      o = { extern: n };
      this.externs.set(n, o);
    }
    return o;
  }

  private expected(l: SList): Expected {
    const h = head(l)!;
    if (h === 'ref.null')
      return { kind: 'ref.null', type: atom(l.items[1]) === 'func' ? 'funcref' : 'externref' };
    if (h === 'ref.extern') {
      const n = atom(l.items[1]);
      return { kind: 'ref.extern', n: n === undefined ? undefined : Number(n) };
    }
    if (h === 'ref.func') return { kind: 'ref.func' };
    const type = h.slice(0, h.indexOf('.')) as ValType;
    if (h === 'v128.const') {
      const { shape, lanes } = v128Lanes(l);
      if (lanes.some((x) => x.startsWith('nan:c') || x.startsWith('nan:a'))) {
        const lt = shape.slice(0, 3) as 'f32' | 'f64';
        return {
          kind: 'lanes',
          shape: shape as 'f32x4' | 'f64x2',
          lanes: lanes.map((x): Expected => {
            if (x.startsWith('nan:c')) return { kind: 'nan', type: lt, pattern: 'canonical' };
            if (x.startsWith('nan:a')) return { kind: 'nan', type: lt, pattern: 'arithmetic' };
            return { kind: 'bytes', type: lt, bytes: this.constBytes(`(${lt}.const ${x})`, lt) };
          }),
        };
      }
    }
    const v = atom(l.items[1]);
    if (v === 'nan:canonical' || v === 'nan:arithmetic')
      return {
        kind: 'nan',
        type: type as 'f32' | 'f64',
        pattern: v === 'nan:canonical' ? 'canonical' : 'arithmetic',
      };
    return { kind: 'bytes', type, bytes: this.constBytes(this.text(l), type) };
  }

  // ---- modules ----------------------------------------------------------------------------

  /** Module bytes from a `(module ...)` form (text, binary or quote); throws on text-level errors. */
  private moduleBytes(l: SList): { bytes: Uint8Array; name?: string; quote: boolean } {
    let i = 1;
    let name: string | undefined;
    const a1 = atom(l.items[1]);
    if (a1?.startsWith('$')) {
      name = a1;
      i = 2;
    }
    const kind = atom(l.items[i]);
    if (kind === 'binary' || kind === 'quote') {
      const parts = l.items.slice(i + 1).map((x) => (x.kind === 'string' ? x.bytes : new Uint8Array()));
      const total = parts.reduce((n, p) => n + p.length, 0);
      const bytes = new Uint8Array(total);
      let o = 0;
      for (const p of parts) {
        bytes.set(p, o);
        o += p.length;
      }
      if (kind === 'binary') return { bytes, name, quote: false };
      const text = new Uint8Array(bytes.length + 9);
      text.set(new TextEncoder().encode('(module '));
      text.set(bytes, 8);
      text[bytes.length + 8] = 0x29;
      return { bytes: watToBinary(this.w, text), name, quote: true };
    }
    return { bytes: watToBinary(this.w, this.text(l)), name, quote: false };
  }

  private imports(): WebAssembly.Imports {
    const o: Record<string, Record<string, unknown>> = { spectest: this.spectest };
    for (const [k, v] of this.registry) o[k] = v.exports as Record<string, unknown>;
    return o as WebAssembly.Imports;
  }

  private compile(bytes: Uint8Array): { module: WebAssembly.Module; bytes: Uint8Array } {
    const b = this.variant.transform ? this.variant.transform(bytes) : bytes;
    return { module: new WebAssembly.Module(b), bytes: b };
  }

  private instantiate(bytes: Uint8Array): Inst {
    const c = this.compile(bytes);
    const instance = new WebAssembly.Instance(c.module, this.imports());
    const inst = { exports: instance.exports, types: exportTypes(c.bytes) };
    this.variant.arm?.(inst.exports);
    this.variant.start?.(inst.exports);
    return inst;
  }

  private target(name: string | undefined): Inst {
    const inst = name ? this.named.get(name) : this.current;
    if (!inst) throw new Error(`no module ${name ?? '(current)'}`);
    return inst;
  }

  // ---- actions ----------------------------------------------------------------------------

  private wrapper(key: string, wat: () => string, target: object, imp: Record<string, unknown>): Wrapper {
    let w = this.wrappers.get(target);
    if (w) return w;
    let m = this.wrapperModules.get(key);
    if (!m) {
      m = new WebAssembly.Module(watToBinary(this.w, wat(), 'wrapper.wat'));
      this.wrapperModules.set(key, m);
    }
    const e = new WebAssembly.Instance(m, { t: imp }).exports;
    w = {
      call: e.call as Wrapper['call'],
      mem: e.mem as WebAssembly.Memory,
      te: e.te as WebAssembly.Table,
      tf: e.tf as WebAssembly.Table,
    };
    this.wrappers.set(target, w);
    return w;
  }

  private readResults(w: Wrapper, types: ValType[]): Actual[] {
    const mem = new Uint8Array(w.mem.buffer);
    return types.map((t, i) => {
      if (t === 'externref') return w.te.get(i);
      if (t === 'funcref') return w.tf.get(i);
      return mem.slice(i * 16, i * 16 + SIZE[t]!);
    });
  }

  /** Runs an invoke/get action; returns results or throws what the engine threw. */
  private action(l: SList): { inst: Inst; run: () => Actual[] } {
    const h = head(l);
    let i = 1;
    let mod: string | undefined;
    const a1 = atom(l.items[1]);
    if (a1?.startsWith('$')) {
      mod = a1;
      i = 2;
    }
    const inst = this.target(mod);
    const nameExpr = l.items[i];
    if (nameExpr?.kind !== 'string') throw new Error('action without export name');
    const name = utf8.decode(nameExpr.bytes);
    if (h === 'get') {
      const g = inst.exports[name] as WebAssembly.Global;
      const gt = inst.types.globals.get(name);
      if (!gt) throw new Error(`no global export ${name}`);
      const w = this.wrapper(`g:${gt.type}:${gt.mutable}`, () => globalWrapperWat(gt.type, gt.mutable), g, {
        g,
      });
      return {
        inst,
        run: () => {
          w.call();
          return this.readResults(w, [gt.type]);
        },
      };
    }
    const f = inst.exports[name] as (...a: unknown[]) => unknown;
    const ft = inst.types.funcs.get(name);
    if (!ft || typeof f !== 'function') throw new Error(`no function export ${name}`);
    const args = l.items.slice(i + 1).map((x) => this.arg(x as SList));
    const raw: unknown[] = [];
    for (const a of args) {
      if (a.kind === 'ref') {
        raw.push(a.value);
        continue;
      }
      const dv = new DataView(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength);
      if (a.type === 'i32' || a.type === 'f32') raw.push(dv.getInt32(0, true));
      else if (a.type === 'i64' || a.type === 'f64') raw.push(dv.getBigInt64(0, true));
      else raw.push(dv.getBigInt64(0, true), dv.getBigInt64(8, true));
    }
    const w = this.wrapper(`f:${sigKey(ft)}`, () => funcWrapperWat(ft), f, { f });
    return {
      inst,
      run: () => {
        this.variant.arm?.(inst.exports);
        w.call(...raw);
        return this.readResults(w, ft.results);
      },
    };
  }

  // ---- introspection (cross-checked against wabt's wast2json in test-toolchains) -------------

  /** The script's commands as this runner reads them: type, line, and argument/expected bits. */
  describe(): { type: string; line: number; innerLine?: number; args?: string[]; expected?: string[] }[] {
    this.collectAll();
    const bits = (b: Uint8Array) => {
      let v = 0n;
      for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
      return v.toString();
    };
    const argStr = (a: Arg) => (a.kind === 'ref' ? 'ref' : `${a.type}:${bits(a.bytes)}`);
    const expStr = (e: Expected): string => {
      if (e.kind === 'bytes') return `${e.type}:${bits(e.bytes)}`;
      if (e.kind === 'nan') return `${e.type}:nan:${e.pattern}`;
      if (e.kind === 'lanes') return `v128:${e.lanes.map(expStr).join(',')}`;
      return e.kind;
    };
    const out: { type: string; line: number; innerLine?: number; args?: string[]; expected?: string[] }[] =
      [];
    for (const e of this.exprs) {
      if (e.kind !== 'list') continue;
      const type = head(e) ?? '?';
      const inner = e.items[1];
      const d: { type: string; line: number; innerLine?: number; args?: string[]; expected?: string[] } = {
        type,
        line: this.lineOf(e.start),
        innerLine: inner?.kind === 'list' ? this.lineOf(inner.start) : undefined,
      };
      const action = type === 'invoke' ? e : type.startsWith('assert_') ? e.items[1] : undefined;
      if (action?.kind === 'list' && head(action) === 'invoke') {
        const first = action.items[1];
        const skip = first?.kind === 'atom' && first.text.startsWith('$') ? 3 : 2;
        d.args = action.items.slice(skip).map((x) => argStr(this.arg(x as SList)));
      }
      if (type === 'assert_return')
        d.expected = e.items.slice(2).map((x) => expStr(this.expected(x as SList)));
      out.push(d);
    }
    return out;
  }

  // ---- commands ---------------------------------------------------------------------------

  run(): ScriptResult {
    const results: CommandResult[] = [];
    this.collectAll();
    this.exprs.forEach((e, index) => {
      if (e.kind !== 'list') return;
      const command = head(e) ?? '?';
      const r: CommandResult = { index, line: this.lineOf(e.start), command, outcome: 'pass' };
      try {
        this.command(e, command, r);
      } catch (err) {
        if (err instanceof Skip) {
          r.outcome = 'skip';
          r.detail = err.message;
        } else {
          r.outcome = 'fail';
          r.detail = String((err as Error)?.message ?? err);
        }
      }
      results.push(r);
    });
    const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
    return {
      file: basename(this.file),
      variant: this.variant.name,
      results,
      pass: count('pass'),
      fail: count('fail'),
      skip: count('skip'),
    };
  }

  private trapped(inst: Inst, err: unknown): void {
    this.variant.reset?.(inst.exports);
    void err;
  }

  private command(e: SList, command: string, r: CommandResult): void {
    switch (command) {
      case 'module': {
        const { bytes, name } = this.moduleBytes(e);
        const inst = this.instantiate(bytes);
        this.current = inst;
        if (name) this.named.set(name, inst);
        return;
      }
      case 'register': {
        const as = utf8.decode((e.items[1] as { bytes: Uint8Array }).bytes);
        this.registry.set(as, this.target(atom(e.items[2])));
        return;
      }
      case 'invoke':
      case 'get': {
        const a = this.action(e);
        try {
          a.run();
        } catch (err) {
          this.trapped(a.inst, err);
          throw err;
        }
        return;
      }
      case 'assert_return': {
        const a = this.action(e.items[1] as SList);
        const exp = e.items.slice(2).map((x) => this.expected(x as SList));
        r.expectsNanPayload = exp.some((x) => expectsPayload(x));
        r.expectsNanPattern = exp.some(
          (x) => x.kind === 'nan' || (x.kind === 'lanes' && x.lanes.some((l) => l.kind === 'nan')),
        );
        let got: Actual[];
        try {
          got = a.run();
        } catch (err) {
          this.trapped(a.inst, err);
          throw new Error(`unexpected ${(err as Error).name}: ${(err as Error).message}`);
        }
        if (got.length !== exp.length) throw new Error(`arity: got ${got.length}, expected ${exp.length}`);
        exp.forEach((x, i) => {
          if (!matches(x, got[i], this.externs))
            throw new Error(`result ${i}: got ${show(got[i])}, expected ${JSON.stringify(x, replacer)}`);
        });
        return;
      }
      case 'assert_trap':
      case 'assert_exhaustion': {
        const target = e.items[1] as SList;
        if (head(target) === 'module') {
          this.expectInstantiationError(target, 'trap');
          return;
        }
        const a = this.action(target);
        let err: unknown;
        try {
          a.run();
        } catch (x) {
          err = x;
        }
        if (err === undefined)
          throw new Error(`expected ${command === 'assert_trap' ? 'a trap' : 'exhaustion'}`);
        const code = this.variant.trapCode?.(a.inst.exports) ?? 0;
        this.trapped(a.inst, err);
        if (command === 'assert_trap') {
          if (!(err instanceof WebAssembly.RuntimeError))
            throw new Error(`expected a trap, got ${String(err)}`);
          if (code !== 0) throw new Error(`trap reported as instrumentation trap ${code}: ${String(err)}`);
          return;
        }
        if (err instanceof RangeError) {
          r.exhaustion = 'range-error';
          return;
        }
        if (err instanceof WebAssembly.RuntimeError && code === 2) {
          r.exhaustion = 'stack-limiter';
          return;
        }
        r.exhaustion = 'other-trap';
        throw new Error(`expected exhaustion, got ${String(err)} (instrumentation trap code ${code})`);
      }
      case 'assert_invalid':
      case 'assert_malformed': {
        const m = e.items[1] as SList;
        let bytes: Uint8Array;
        try {
          bytes = this.moduleBytes(m).bytes;
        } catch {
          // Rejected by the text parser (wabt) before reaching the engine.
          if (command === 'assert_malformed') return;
          throw new Skip('rejected by the text parser (wabt) before reaching the engine');
        }
        if (this.variant.transformAcceptsInvalid?.(bytes)) r.transformAcceptsInvalid = true;
        try {
          this.compile(bytes);
        } catch {
          return;
        }
        throw new Error(
          `module accepted, expected ${command === 'assert_invalid' ? 'invalid' : 'malformed'}`,
        );
      }
      case 'assert_unlinkable':
        this.expectInstantiationError(e.items[1] as SList, 'link');
        return;
      case 'assert_uninstantiable':
        this.expectInstantiationError(e.items[1] as SList, 'trap');
        return;
      default:
        throw new Skip(`unsupported command ${command}`);
    }
  }

  private expectInstantiationError(m: SList, kind: 'link' | 'trap'): void {
    const { bytes } = this.moduleBytes(m);
    const c = this.compile(bytes);
    try {
      const instance = new WebAssembly.Instance(c.module, this.imports());
      this.variant.arm?.(instance.exports);
      this.variant.start?.(instance.exports);
    } catch (err) {
      if (kind === 'link' && (err instanceof WebAssembly.LinkError || err instanceof TypeError)) return;
      if (kind === 'trap' && err instanceof WebAssembly.RuntimeError) return;
      throw new Error(`expected ${kind} error, got ${String(err)}`);
    }
    throw new Error(`module instantiated, expected ${kind} error`);
  }
}

function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return hex(v);
  return v;
}

export async function runScript(file: string, variant: Variant): Promise<ScriptResult> {
  const w = await getWabt();
  return new ScriptRunner(w, file, variant).run();
}

export const plainVariant: Variant = { name: 'plain' };

export { isNumeric };
