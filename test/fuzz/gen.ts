/**
 * A seeded random generator of valid, terminating Wasm modules (text, compiled by wabt).
 *
 * Functions f0..fn-1 take (i32 i64 f32 f64) parameters and return one value; fk calls only f<k
 * (no recursion), loops run bounded counters, so every call terminates. Traps are possible and
 * wanted (division by zero, invalid conversions, out-of-bounds memory, unreachable).
 * Each fk has an exported probe `pk` taking raw bits (f32/f64 as i32/i64) and returning the
 * result as raw bits, so JS sees exact NaN payloads.
 *
 * `nanSafe` leaves out operations that let a NaN's sign or payload become visible as a non-NaN
 * value (copysign, float reinterpret to int, float stores): with it, NaN canonicalization can only
 * change results that are NaNs.
 */

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    // mulberry32
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  u32(): number {
    return (this.next() * 4294967296) >>> 0;
  }
}

type T = 'i32' | 'i64' | 'f32' | 'f64';
const TYPES: readonly T[] = ['i32', 'i64', 'f32', 'f64'];
const PARAMS: readonly T[] = ['i32', 'i64', 'f32', 'f64'];

const INT_BIN = ['add', 'sub', 'mul', 'and', 'or', 'xor', 'shl', 'shr_s', 'shr_u', 'rotl', 'rotr'];
const INT_TRAP_BIN = ['div_s', 'div_u', 'rem_s', 'rem_u'];
const INT_UN = ['clz', 'ctz', 'popcnt', 'extend8_s', 'extend16_s'];
const INT_CMP = ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u'];
const FLT_BIN = ['add', 'sub', 'mul', 'div', 'min', 'max'];
const FLT_UN = ['neg', 'abs', 'sqrt', 'ceil', 'floor', 'trunc', 'nearest'];
const FLT_CMP = ['eq', 'ne', 'lt', 'gt', 'le', 'ge'];

export interface GenOptions {
  nanSafe?: boolean;
  functions?: number;
  maxDepth?: number;
}

export interface GeneratedModule {
  wat: string;
  /** Exported probes: name and parameter types (as the probe takes them: f32→i32, f64→i64). */
  probes: { name: string; params: T[]; result: T }[];
}

const BITS: Record<T, 'i32' | 'i64'> = { i32: 'i32', i64: 'i64', f32: 'i32', f64: 'i64' };

export function generateModule(seed: number, opts: GenOptions = {}): GeneratedModule {
  const r = new Rng(seed);
  const nanSafe = opts.nanSafe ?? false;
  const nfuncs = opts.functions ?? 2 + r.int(4);
  const maxDepth = opts.maxDepth ?? 5;
  const sigs: { params: T[]; result: T }[] = [];
  const funcs: string[] = [];

  for (let fi = 0; fi < nfuncs; fi++) {
    const params = Array.from({ length: r.int(4) }, () => r.pick(PARAMS));
    const result = r.pick(TYPES);
    sigs.push({ params, result });
    // locals: params, then 4 scratch locals of each type, then loop counters
    const locals: T[] = [...params];
    const scratch: Record<T, number[]> = { i32: [], i64: [], f32: [], f64: [] };
    params.forEach((p, i) => {
      scratch[p].push(i);
    });
    for (const t of TYPES)
      for (let k = 0; k < 2; k++) {
        scratch[t].push(locals.length);
        locals.push(t);
      }
    let labels = 0;
    const counters: number[] = [];
    const blockStack: { label: string; type: T | null }[] = [];

    const konst = (t: T): string => {
      const special = r.chance(0.3);
      switch (t) {
        case 'i32':
          return `(i32.const ${special ? r.pick([0, 1, -1, 0x7fffffff, -0x80000000, 31, 32]) : r.u32() | 0})`;
        case 'i64':
          return `(i64.const ${special ? r.pick(['0', '1', '-1', '0x7fffffffffffffff', '-0x8000000000000000', '63', '64']) : `${BigInt.asIntN(64, (BigInt(r.u32()) << 32n) | BigInt(r.u32()))}`})`;
        case 'f32':
        case 'f64':
          if (special)
            return `(${t}.const ${r.pick(['nan', '-nan', 'nan:0x1', 'inf', '-inf', '0', '-0', '0x1p-149', '1e38', '-0.5', '2147483648', '-9.3e18'])})`;
          return `(${t}.const ${((r.next() - 0.5) * 10 ** r.int(12)).toPrecision(8)})`;
      }
    };

    const addr = (): string => {
      // mostly in bounds, sometimes anywhere (may trap), sometimes near the end of memory
      if (r.chance(0.1)) return `(i32.add (memory.size) (i32.const ${r.int(70000)}))`;
      if (r.chance(0.15)) return expr('i32', 1);
      return `(i32.and ${expr('i32', 2)} (i32.const 0x3ff8))`;
    };

    const expr = (t: T, depth: number): string => {
      if (depth <= 0 || r.chance(0.15)) {
        return r.chance(0.5) ? konst(t) : `(local.get ${r.pick(scratch[t])})`;
      }
      const d = depth - 1;
      const isInt = t === 'i32' || t === 'i64';
      const choice = r.int(17);
      switch (choice) {
        case 0:
        case 1:
          if (isInt) return `(${t}.${r.pick(INT_BIN)} ${expr(t, d)} ${expr(t, d)})`;
          return `(${t}.${r.pick(FLT_BIN)} ${expr(t, d)} ${expr(t, d)})`;
        case 2:
          if (isInt && r.chance(0.7)) return `(${t}.${r.pick(INT_TRAP_BIN)} ${expr(t, d)} ${expr(t, d)})`;
          if (isInt) return `(${t}.${r.pick(INT_UN)} ${expr(t, d)})`;
          return `(${t}.${r.pick(FLT_UN)} ${expr(t, d)})`;
        case 3:
          if (t === 'i32') {
            const ct = r.pick(TYPES);
            const op = ct.startsWith('i') ? r.pick(INT_CMP) : r.pick(FLT_CMP);
            return `(${ct}.${op} ${expr(ct, d)} ${expr(ct, d)})`;
          }
          return conv(t, d);
        case 4:
          return conv(t, d);
        case 5:
          return `(select ${expr(t, d)} ${expr(t, d)} ${expr('i32', d)})`;
        case 6: {
          const l = `$b${labels++}`;
          blockStack.push({ label: l, type: t });
          const body = `(block ${l} (result ${t}) ${stmt(d)} (drop (br_if ${l} ${expr(t, d)} ${expr('i32', d)})) ${expr(t, d)})`;
          blockStack.pop();
          return body;
        }
        case 7:
          return `(if (result ${t}) ${expr('i32', d)} (then ${expr(t, d)}) (else ${expr(t, d)}))`;
        case 8: {
          // bounded loop accumulating into a scratch local
          const c = locals.length;
          locals.push('i32');
          counters.push(c);
          const l = `$l${labels++}`;
          const acc = r.pick(scratch[t]);
          const n = 1 + r.int(20);
          return `(block (result ${t}) (local.set ${c} (i32.const 0)) (loop ${l} (local.set ${acc} ${expr(t, d)}) ${stmt(d)} (br_if ${l} (i32.lt_u (local.tee ${c} (i32.add (local.get ${c}) (i32.const 1))) (i32.const ${n})))) (local.get ${acc}))`;
        }
        case 9: {
          // br_table over nested blocks
          const ls = [`$t${labels++}`, `$t${labels++}`, `$t${labels++}`];
          const v = r.pick(scratch[t]);
          return `(block ${ls[0]} (result ${t}) (local.set ${v} ${expr(t, d)}) (block ${ls[1]} (block ${ls[2]} (br_table ${ls[2]} ${ls[1]} ${ls[2]} ${expr('i32', d)}) ) (local.set ${v} ${expr(t, d)}) (br ${ls[0]} (local.get ${v}))) (local.get ${v}))`;
        }
        case 10: {
          const callees = sigs.slice(0, fi);
          if (!callees.length) return expr(t, d);
          const k = r.int(callees.length);
          const s = callees[k]!;
          const call = `(call $f${k} ${s.params.map((p) => expr(p, d)).join(' ')})`;
          return s.result === t ? call : convFrom(t, s.result, call);
        }
        case 11: {
          const loads: Record<T, string[]> = {
            i32: ['i32.load', 'i32.load8_s', 'i32.load8_u', 'i32.load16_s', 'i32.load16_u'],
            i64: ['i64.load', 'i64.load8_s', 'i64.load16_u', 'i64.load32_s', 'i64.load32_u'],
            f32: ['f32.load'],
            f64: ['f64.load'],
          };
          return `(${r.pick(loads[t])} offset=${r.pick([0, 0, 4, 8, 100])} ${addr()})`;
        }
        case 12:
          if (t === 'i32')
            return r.chance(0.5)
              ? '(memory.size)'
              : `(memory.grow ${r.pick(['(i32.const 0)', '(i32.const 1)', '(i32.const 5)', expr('i32', d)])})`;
          return `(local.tee ${r.pick(scratch[t])} ${expr(t, d)})`;
        case 13:
          return `(local.tee ${r.pick(scratch[t])} ${expr(t, d)})`;
        case 14:
          return `(block (result ${t}) ${stmt(d)} ${expr(t, d)})`;
        case 15:
          if (r.chance(0.1))
            return `(block (result ${t}) (if ${expr('i32', d)} (then unreachable)) ${expr(t, d)})`;
          return konst(t);
        default:
          return `(local.get ${r.pick(scratch[t])})`;
      }
    };

    const convFrom = (to: T, from: T, e: string): string => {
      if (to === from) return e;
      const map: Record<string, string[]> = {
        'i32<i64': ['i32.wrap_i64'],
        'i32<f32': ['i32.trunc_f32_s', 'i32.trunc_f32_u', 'i32.trunc_sat_f32_s', 'i32.trunc_sat_f32_u'],
        'i32<f64': ['i32.trunc_f64_s', 'i32.trunc_sat_f64_u'],
        'i64<i32': ['i64.extend_i32_s', 'i64.extend_i32_u'],
        'i64<f32': ['i64.trunc_f32_s', 'i64.trunc_sat_f32_u'],
        'i64<f64': ['i64.trunc_f64_u', 'i64.trunc_sat_f64_s'],
        'f32<i32': ['f32.convert_i32_s', 'f32.convert_i32_u'],
        'f32<i64': ['f32.convert_i64_s', 'f32.convert_i64_u'],
        'f32<f64': ['f32.demote_f64'],
        'f64<i32': ['f64.convert_i32_u'],
        'f64<i64': ['f64.convert_i64_s'],
        'f64<f32': ['f64.promote_f32'],
      };
      const ops = [...map[`${to}<${from}`]!];
      if (!nanSafe && to === 'i32' && from === 'f32') ops.push('i32.reinterpret_f32');
      if (!nanSafe && to === 'i64' && from === 'f64') ops.push('i64.reinterpret_f64');
      if (to === 'f32' && from === 'i32') ops.push('f32.reinterpret_i32');
      if (to === 'f64' && from === 'i64') ops.push('f64.reinterpret_i64');
      return `(${r.pick(ops)} ${e})`;
    };
    const conv = (t: T, d: number): string => {
      if (!nanSafe && (t === 'f32' || t === 'f64') && r.chance(0.15))
        return `(${t}.copysign ${expr(t, d)} ${expr(t, d)})`;
      const from = r.pick(TYPES.filter((x) => x !== t));
      return convFrom(t, from, expr(from, d));
    };

    const stmt = (depth: number): string => {
      const d = Math.max(0, depth - 1);
      switch (r.int(6)) {
        case 0: {
          const t = r.pick(TYPES);
          if (nanSafe && (t === 'f32' || t === 'f64')) return `(i32.store ${addr()} ${expr('i32', d)})`;
          const st: Record<T, string[]> = {
            i32: ['i32.store', 'i32.store8', 'i32.store16'],
            i64: ['i64.store', 'i64.store32'],
            f32: ['f32.store'],
            f64: ['f64.store'],
          };
          return `(${r.pick(st[t])} offset=${r.pick([0, 8])} ${addr()} ${expr(t, d)})`;
        }
        case 1: {
          const t = r.pick(TYPES);
          return `(local.set ${r.pick(scratch[t])} ${expr(t, d)})`;
        }
        case 2:
          return `(drop ${expr(r.pick(TYPES), d)})`;
        case 3:
          return `(if ${expr('i32', d)} (then ${stmt(d)}) (else ${stmt(d)}))`;
        case 4: {
          const enclosing = blockStack.filter((b) => b.type === null);
          if (!enclosing.length) return `(drop ${expr('i32', d)})`;
          return `(br_if ${r.pick(enclosing).label} ${expr('i32', d)})`;
        }
        default: {
          const l = `$s${labels++}`;
          blockStack.push({ label: l, type: null });
          const s = `(block ${l} ${stmt(d)} ${stmt(d)})`;
          blockStack.pop();
          return s;
        }
      }
    };

    const body = expr(result, maxDepth);
    const paramDecl = params.length ? `(param ${params.join(' ')})` : '';
    const localDecl = locals.length > params.length ? `(local ${locals.slice(params.length).join(' ')})` : '';
    funcs.push(`(func $f${fi} ${paramDecl} (result ${result}) ${localDecl}\n  ${body})`);
    void counters;
  }

  const probes: GeneratedModule['probes'] = [];
  sigs.forEach((s, k) => {
    const pp = s.params.map((p) => BITS[p]);
    const args = s.params
      .map((p, i) =>
        p === 'f32'
          ? `(f32.reinterpret_i32 (local.get ${i}))`
          : p === 'f64'
            ? `(f64.reinterpret_i64 (local.get ${i}))`
            : `(local.get ${i})`,
      )
      .join(' ');
    let call = `(call $f${k} ${args})`;
    if (s.result === 'f32') call = `(i32.reinterpret_f32 ${call})`;
    if (s.result === 'f64') call = `(i64.reinterpret_f64 ${call})`;
    funcs.push(
      `(func (export "p${k}") ${pp.length ? `(param ${pp.join(' ')})` : ''} (result ${BITS[s.result]}) ${call})`,
    );
    probes.push({ name: `p${k}`, params: s.params, result: s.result });
  });
  const data = `(data (i32.const 0) "${Array.from({ length: 64 }, () => `\\${r.int(256).toString(16).padStart(2, '0')}`).join('')}")`;
  const wat = `(module (memory (export "mem") 1 4) ${data}\n${funcs.join('\n')})`;
  return { wat, probes };
}

/** Random probe arguments as raw bits (f32 as i32 bits, f64 as i64 bits), with special values. */
export function probeArgs(r: Rng, params: readonly T[]): (number | bigint)[] {
  return params.map((p) => {
    const special = r.chance(0.3);
    switch (p) {
      case 'i32':
        return special ? r.pick([0, 1, -1, 0x7fffffff, -0x80000000]) : r.u32() | 0;
      case 'i64':
        return special
          ? r.pick([0n, 1n, -1n])
          : BigInt.asIntN(64, (BigInt(r.u32()) << 32n) | BigInt(r.u32()));
      case 'f32': {
        if (special) return r.pick([0x7fc00000, 0x7fa00001, 0xff800000 | 0, 0, 0x80000000 | 0, 0x4f000000]);
        const f = new Float32Array([(r.next() - 0.5) * 10 ** r.int(10)]);
        return new Int32Array(f.buffer)[0]!;
      }
      case 'f64': {
        if (special)
          return r.pick([
            0x7ff8000000000000n,
            0x7ff4000000000001n,
            -0x10000000000000n,
            0n,
            0x43e0000000000000n,
          ]);
        const f = new Float64Array([(r.next() - 0.5) * 10 ** r.int(20)]);
        return new BigInt64Array(f.buffer)[0]!;
      }
      default:
        throw new Error(`unknown type ${p}`);
    }
  });
}
