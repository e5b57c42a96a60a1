/**
 * Exact value passing through a generated trampoline module.
 *
 * JS numbers are doubles: an f32 signalling NaN converted to a JS number and back is quieted by the CPU
 * (cvtss2sd sets the quiet bit), so the engine never passes floats through JS. For an export with
 * signature (P) -> (R) we build a tiny module that imports the guest's export as `t.f` with exactly that
 * signature and exports `call`, whose params are P with f32→i32 and f64→i64; it reinterprets them inside
 * Wasm, calls `t.f` (a Wasm-to-Wasm call, no JS conversion), and stores every result's bits into its own
 * memory (8 bytes per result) where the caller reads them with a DataView. i32 and i64 cross the JS
 * boundary as number and BigInt, both exact.
 */
import { EngineError } from './errors.ts';
import type { ValueType, WasmValue } from './types.ts';

const TYPE_CODE: Record<ValueType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c };

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function funcType(params: readonly ValueType[], results: readonly ValueType[]): number[] {
  return [0x60, ...vec(params.map((t) => [TYPE_CODE[t]])), ...vec(results.map((t) => [TYPE_CODE[t]]))];
}

/** Bytes of the trampoline module for a signature. At most 8192 results (one page of 8-byte slots). */
export function trampolineBytes(params: readonly ValueType[], results: readonly ValueType[]): Uint8Array {
  if (results.length > 8192) throw new EngineError('LIMIT_EXCEEDED', 'too many results for the trampoline');
  const carried = params.map((t): ValueType => (t === 'f32' ? 'i32' : t === 'f64' ? 'i64' : t));
  const body: number[] = [];
  // locals: one per result
  body.push(...vec(results.map((t) => [1, TYPE_CODE[t]])));
  params.forEach((t, i) => {
    body.push(0x20, ...uleb(i));
    if (t === 'f32') body.push(0xbe); // f32.reinterpret_i32
    if (t === 'f64') body.push(0xbf); // f64.reinterpret_i64
  });
  body.push(0x10, 0); // call import 0
  for (let j = results.length - 1; j >= 0; j--) body.push(0x21, ...uleb(params.length + j));
  results.forEach((t, j) => {
    body.push(0x41, ...sleb(j * 8), 0x20, ...uleb(params.length + j));
    if (t === 'f32') body.push(0xbc); // i32.reinterpret_f32
    if (t === 'f64') body.push(0xbd); // i64.reinterpret_f64
    if (t === 'i32' || t === 'f32') body.push(0x36, 2, 0);
    else body.push(0x37, 3, 0);
  });
  body.push(0x0b);
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([funcType(params, results), funcType(carried, [])])),
    ...section(2, vec([[...name('t'), ...name('f'), 0x00, 0x00]])),
    ...section(3, vec([[1]])),
    ...section(5, vec([[0x01, 1, 1]])),
    ...section(
      7,
      vec([
        [...name('call'), 0x00, 1],
        [...name('mem'), 0x02, 0],
      ]),
    ),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ];
  return new Uint8Array(bytes);
}

/** JS arguments for the trampoline's `call` (floats as their bits, i64 as BigInt). */
export function toCallArgs(args: readonly WasmValue[]): (number | bigint)[] {
  return args.map((a) => {
    switch (a.type) {
      case 'i32':
        return a.value;
      case 'i64':
        return a.value;
      case 'f32':
        return a.bits | 0;
      default:
        return BigInt.asIntN(64, a.bits);
    }
  });
}

/** Read the results the trampoline stored into its memory. */
export function readResults(mem: WebAssembly.Memory, results: readonly ValueType[]): WasmValue[] {
  const dv = new DataView(mem.buffer);
  return results.map((t, j): WasmValue => {
    const off = j * 8;
    switch (t) {
      case 'i32':
        return { type: 'i32', value: dv.getInt32(off, true) };
      case 'i64':
        return { type: 'i64', value: dv.getBigInt64(off, true) };
      case 'f32':
        return { type: 'f32', bits: dv.getUint32(off, true) };
      default:
        return { type: 'f64', bits: dv.getBigUint64(off, true) };
    }
  });
}

/** Per-thread cache of compiled trampolines by signature. */
const cache = new Map<string, WebAssembly.Module>();

export function trampolineModule(
  params: readonly ValueType[],
  results: readonly ValueType[],
): WebAssembly.Module {
  const key = `${params.join(',')}->${results.join(',')}`;
  let m = cache.get(key);
  if (!m) {
    m = new WebAssembly.Module(trampolineBytes(params, results));
    if (cache.size > 256) cache.clear();
    cache.set(key, m);
  }
  return m;
}

/** Call `fn` (a Wasm exported function with signature params → results) with exact values. */
export function callExact(
  fn: Function,
  params: readonly ValueType[],
  results: readonly ValueType[],
  args: readonly WasmValue[],
): WasmValue[] {
  const intOnly = (t: ValueType) => t === 'i32' || t === 'i64';
  if (results.length <= 1 && params.every(intOnly) && results.every(intOnly)) {
    // integers cross the JS boundary exactly (number / BigInt): no trampoline needed
    const r = (fn as (...a: (number | bigint)[]) => unknown)(...toCallArgs(args));
    if (results.length === 0) return [];
    return results[0] === 'i32'
      ? [{ type: 'i32', value: Number(r) | 0 }]
      : [{ type: 'i64', value: BigInt.asIntN(64, r as bigint) }];
  }
  const inst = new WebAssembly.Instance(trampolineModule(params, results), { t: { f: fn as () => void } });
  const call = inst.exports.call as (...a: (number | bigint)[]) => void;
  call(...toCallArgs(args));
  return readResults(inst.exports.mem as WebAssembly.Memory, results);
}
