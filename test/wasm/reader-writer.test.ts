import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeBody,
  decodeInstructions,
  encodeInstructions,
  encodeS32,
  encodeS64,
  encodeU32,
  encodeU64,
  funcTypeOf,
  Imm,
  OP_BY_NAME,
  OP_IMM,
  OP_NAME,
  OP_VALID,
  OPCODE_KEYS,
  Reader,
  readModule,
  WasmFeatureError,
  WasmFormatError,
  writeModule,
} from '../../src/wasm/index.ts';
import { wat } from './wat.ts';

const MODULES: Record<string, string> = {
  empty: '(module)',
  mvp: `(module
    (type $t (func (param i32 i64) (result f64)))
    (import "env" "f" (func $f (param i32) (result i32)))
    (import "env" "m" (global $g (mut i64)))
    (import "env" "tab" (table 2 10 funcref))
    (memory (export "mem") 1 16)
    (global $x (mut i32) (i32.const 5))
    (global $y f64 (f64.const 2.5))
    (func $a (export "a") (param i32) (result i32)
      (local i64 f32 f64)
      local.get 0
      if (result i32) i32.const 1 else i32.const 2 end
      block $b (result i32) i32.const 3 br $b end
      i32.add
      loop $l local.get 0 br_if $l end
      block block block local.get 0 br_table 0 1 2 end end end
      i32.const 0 i32.load offset=4 drop
      i32.const 0 i64.const -1234567890123 i64.store32 offset=8 align=2
      f32.const -0.5 f32.sqrt drop
      global.get $x drop
      call $f)
    (func (type $t) f64.const nan:0x1234)
    (elem (i32.const 0) $a)
    (data (i32.const 16) "hello\\00world")
    (start 3)
    (func nop))`,
  multivalue: `(module
    (func $mv (param i32) (result i32 i64 f32)
      local.get 0 i64.const 7 f32.const 1.5)
    (func (export "x") (result i32)
      i32.const 1
      call $mv drop drop
      (block (param i32) (result i32 i32) i32.const 2)
      i32.add)
    (func (param i32) (result i32) local.get 0))`,
  refsAndBulk: `(module
    (table $t1 4 funcref)
    (table $t2 2 externref)
    (memory 1)
    (global $gf funcref (ref.func $f))
    (func $f (result i32) i32.const 9)
    (func (export "g") (param externref) (result i32)
      i32.const 0 ref.func $f table.set $t1
      i32.const 0 local.get 0 table.set $t2
      local.get 0 ref.is_null drop
      ref.null func i32.const 1 table.grow $t1 drop
      i32.const 0 ref.null extern i32.const 1 table.fill $t2
      table.size $t1 drop
      i32.const 0 i32.const 0 i32.const 1 table.copy $t1 $t1
      i32.const 0 i32.const 0 i32.const 1 table.init $t1 $e
      elem.drop $e
      i32.const 0 i32.const 0 i32.const 3 memory.init $d
      data.drop $d
      i32.const 0 i32.const 1 i32.const 2 memory.copy
      i32.const 0 i32.const 1 i32.const 2 memory.fill
      i32.const 1 i32.const 2 i32.const 0 select (result i32) drop
      f32.const 1 i32.trunc_sat_f32_s drop
      i32.const 1 i32.extend8_s)
    (elem $e func $f $f)
    (elem declare func $f)
    (elem (table $t1) (i32.const 1) funcref (ref.func $f) (ref.null func))
    (data $d "abc")
    (data (i32.const 1) "x"))`,
  simd: `(module
    (memory 1)
    (func (export "s") (param v128) (result v128)
      (local v128)
      local.get 0
      v128.const i32x4 1 2 3 4
      f32x4.add
      local.get 0
      i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
      i32.const 0 v128.load offset=16 align=8
      i8x16.swizzle
      i32.const 4 v128.load32_zero
      local.get 0
      v128.bitselect
      local.tee 1
      i32x4.extract_lane 3
      drop
      i32.const 0 local.get 1 v128.load8_lane offset=1 15
      f64x2.promote_low_f32x4
      local.set 1
      i32.const 0 local.get 1 v128.store64_lane 1
      i32.const 0 local.get 1 v128.store offset=32
      f32.const 1 f32x4.splat f32x4.sqrt
      i64x2.extend_high_i32x4_u
      i32x4.trunc_sat_f64x2_u_zero))`,
};

describe('readModule / writeModule', () => {
  for (const [name, text] of Object.entries(MODULES)) {
    test(`byte-exact round trip: ${name}`, async () => {
      const bin = await wat(text);
      assert.ok(WebAssembly.validate(bin), 'fixture validates');
      const m = readModule(bin);
      const out = writeModule(m);
      assert.deepEqual(Buffer.from(out), Buffer.from(bin));
      for (const c of m.codes) {
        assert.deepEqual(Buffer.from(encodeInstructions(decodeInstructions(c.body))), Buffer.from(c.body));
        const d = decodeBody(c.body);
        assert.equal(d.pos[d.count], c.body.length);
        assert.equal(d.op[d.count - 1], 0x0b);
      }
    });
  }

  test('decodes the parts of a module', async () => {
    const m = readModule(await wat(MODULES.mvp!));
    assert.equal(m.types.length >= 2, true);
    assert.deepEqual(m.imports[0], { module: 'env', name: 'f', kind: 'func', type: 1 });
    assert.deepEqual(m.imports[1], {
      module: 'env',
      name: 'm',
      kind: 'global',
      global: { type: 'i64', mutable: true },
    });
    assert.deepEqual(m.imports[2], {
      module: 'env',
      name: 'tab',
      kind: 'table',
      table: { elemType: 'funcref', limits: { min: 2, max: 10 } },
    });
    assert.deepEqual(m.memories, [{ min: 1, max: 16 }]);
    assert.equal(m.globals.length, 2);
    assert.deepEqual(Array.from(m.globals[0]!.init), [0x41, 5, 0x0b]);
    assert.deepEqual(
      m.exports.map((e) => [e.name, e.kind, e.index]),
      [
        ['mem', 'memory', 0],
        ['a', 'func', 1],
      ],
    );
    assert.equal(m.start, 3);
    assert.equal(m.functions.length, 3);
    assert.equal(m.codes.length, 3);
    assert.deepEqual(m.codes[0]!.locals, [
      [1, 'i64'],
      [1, 'f32'],
      [1, 'f64'],
    ]);
    assert.deepEqual(funcTypeOf(m, 0), { params: ['i32'], results: ['i32'] });
    assert.deepEqual(funcTypeOf(m, 2), { params: ['i32', 'i64'], results: ['f64'] });
    assert.equal(m.elements[0]!.mode, 'active');
    assert.deepEqual(m.elements[0]!.funcs, [1]);
    assert.equal(new TextDecoder().decode(m.datas[0]!.data), 'hello\0world');
  });

  test('element and data segment forms', async () => {
    const m = readModule(await wat(MODULES.refsAndBulk!));
    assert.deepEqual(
      m.elements.map((e) => [e.flags, e.mode, e.type]),
      [
        [1, 'passive', 'funcref'],
        [3, 'declarative', 'funcref'],
        [4, 'active', 'funcref'],
      ],
    );
    assert.equal(m.elements[2]!.exprs!.length, 2);
    assert.deepEqual(
      m.datas.map((d) => [d.flags, d.mode]),
      [
        [1, 'passive'],
        [0, 'active'],
      ],
    );
    assert.equal(m.dataCount, 2);
    assert.deepEqual(m.tables, [
      { elemType: 'funcref', limits: { min: 4 } },
      { elemType: 'externref', limits: { min: 2 } },
    ]);
  });

  test('names keep a leading byte-order mark and other odd code points', async () => {
    const bin = await wat(
      '(module (func (export "\\ef\\bb\\bf")) (func (export "")) (func (export "\\f0\\9f\\98\\80")))',
    );
    const m = readModule(bin);
    assert.deepEqual(
      m.exports.map((e) => e.name),
      ['\uFEFF', '', '\u{1F600}'],
    );
    assert.deepEqual(Buffer.from(writeModule(m)), Buffer.from(bin));
  });

  test('custom sections keep their position', async () => {
    const bin = await wat('(module (func (export "f")))');
    const m = readModule(bin);
    m.customs.push({ name: 'first', data: new Uint8Array([1, 2]), after: 0 });
    m.customs.push({ name: 'afterExport', data: new Uint8Array([3]), after: 7 });
    m.customs.push({ name: 'last', data: new Uint8Array([]), after: 10 });
    const out = writeModule(m);
    assert.ok(WebAssembly.validate(out));
    const again = readModule(out);
    assert.deepEqual(
      again.customs.map((c) => [c.name, c.after]),
      [
        ['first', 0],
        ['afterExport', 7],
        ['last', 10],
      ],
    );
    assert.deepEqual(Buffer.from(writeModule(again)), Buffer.from(out));
    const ws = (
      WebAssembly.Module as unknown as { customSections(m: unknown, n: string): ArrayBuffer[] }
    ).customSections(new WebAssembly.Module(out), 'afterExport');
    assert.deepEqual(Array.from(new Uint8Array(ws[0]!)), [3]);
  });
});

describe('LEB128', () => {
  const u32Cases = [0, 1, 63, 64, 127, 128, 255, 16383, 16384, 0x7fffffff, 0x80000000, 0xffffffff];
  test('u32 round trip', () => {
    for (const v of u32Cases) assert.equal(new Reader(encodeU32(v)).u32(), v);
  });
  test('s32 round trip', () => {
    for (const v of [0, 1, -1, 63, 64, -64, -65, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)]) {
      const r = new Reader(encodeS32(v));
      assert.equal(r.s32(), v);
      assert.equal(r.pos, encodeS32(v).length);
    }
  });
  test('s64 / u64 round trip', () => {
    for (const v of [0n, 1n, -1n, 63n, -64n, 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      assert.equal(new Reader(encodeS64(v)).s64(), v);
    }
    for (const v of [0n, 127n, 128n, 2n ** 32n, 2n ** 64n - 1n])
      assert.equal(new Reader(encodeU64(v)).u64(), v);
  });
  test('canonical minimal encodings', () => {
    assert.deepEqual(Array.from(encodeU32(624485)), [0xe5, 0x8e, 0x26]);
    assert.deepEqual(Array.from(encodeS32(-123456)), [0xc0, 0xbb, 0x78]);
    assert.deepEqual(Array.from(encodeS32(64)), [0xc0, 0x00]);
    assert.deepEqual(Array.from(encodeS32(-65)), [0xbf, 0x7f]);
  });
  test('padded (non-minimal) encodings are accepted', () => {
    assert.equal(new Reader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x00])).u32(), 0);
    assert.equal(new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7f])).s32(), -1);
    assert.equal(new Reader(new Uint8Array([0x81, 0x00])).u32(), 1);
  });
  test('overlong and too-large encodings are rejected', () => {
    assert.throws(
      () => new Reader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).u32(),
      WasmFormatError,
    );
    assert.throws(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x1f])).u32(), /too large/);
    assert.throws(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x4f])).s32(), /too large/);
    assert.throws(() => new Reader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x70])).s32(), /too large/);
    const s64bad = new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7e]);
    assert.throws(() => new Reader(s64bad).s64(), /too large/);
    assert.throws(() => new Reader(new Uint8Array([0x80])).u32(), /unexpected end/);
  });
});

describe('malformed input', () => {
  const cases: [string, number[], RegExp][] = [
    ['empty', [], /too short/],
    ['bad magic', [0, 0x61, 0x73, 0x6e, 1, 0, 0, 0], /magic/],
    ['bad version', [0, 0x61, 0x73, 0x6d, 2, 0, 0, 0], /version/],
    ['section past end', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 0], /section/],
    ['unknown section', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 14, 0], /section id/],
    ['out of order', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 3, 1, 0, 1, 1, 0], /out of order/],
    ['bad type form', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 2, 1, 0x61], /function type/],
    ['trailing section bytes', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 2, 0, 0], /size mismatch/],
    [
      'function without code',
      [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0],
      /inconsistent/,
    ],
    [
      'body without end',
      [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x01],
      /missing end/,
    ],
    [
      'illegal opcode',
      [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 5, 1, 3, 0, 0xff, 0x0b],
      /illegal opcode/,
    ],
    ['bad utf-8 name', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 2, 1, 0xff], /UTF-8/],
  ];
  for (const [name, bytes, re] of cases) {
    test(name, () => {
      assert.throws(
        () => {
          const m = readModule(new Uint8Array(bytes));
          for (const c of m.codes) decodeBody(c.body, c.offset);
        },
        (e: unknown) => {
          if (!(e instanceof WasmFormatError)) throw e;
          assert.equal(e.code, 'INVALID_BYTECODE');
          assert.match(e.message, re);
          assert.match(e.message, /at byte offset \d+/);
          return true;
        },
      );
    });
  }

  test('truncations of a valid module never crash', async () => {
    const bin = await wat(MODULES.mvp!);
    for (let n = 0; n < bin.length; n++) {
      try {
        const m = readModule(bin.subarray(0, n));
        for (const c of m.codes) decodeBody(c.body);
      } catch (e) {
        assert.ok(e instanceof WasmFormatError || e instanceof WasmFeatureError, `${n}: ${String(e)}`);
      }
    }
  });

  test('post-2.0 features are reported as unsupported', async () => {
    const cases: [string, Record<string, boolean>, RegExp][] = [
      ['(module (func $f return_call $f))', { tail_call: true }, /tail calls/],
      ['(module (memory 1 1 shared))', { threads: true }, null as unknown as RegExp],
      ['(module (tag))', { exceptions: true }, /exception/],
      [
        '(module (memory 1) (func i32.const 0 i32.const 0 i32.atomic.rmw.add drop))',
        { threads: true },
        /atomics/,
      ],
    ];
    for (const [text, features, re] of cases) {
      const bin = await wat(text, features);
      if (!re) {
        const m = readModule(bin);
        assert.equal(m.memories[0]!.shared, true);
        continue;
      }
      assert.throws(
        () => {
          const m = readModule(bin);
          for (const c of m.codes) decodeBody(c.body);
        },
        (e: unknown) =>
          e instanceof WasmFeatureError && e.code === 'UNSUPPORTED_FEATURE' && re.test(e.message),
        text,
      );
    }
    const m64 = readModule(await wat('(module (memory i64 1))', { memory64: true }));
    assert.equal(m64.memories[0]!.index64, true);
  });
});

describe('opcode table', () => {
  test('every opcode has an immediate kind and decodes back to itself', () => {
    let n = 0;
    for (let k = 0; k < OPCODE_KEYS; k++) {
      if (!OP_VALID[k]) continue;
      n++;
      assert.equal(OP_BY_NAME.get(OP_NAME[k]!), k, OP_NAME[k]);
    }
    // 2.0: 172 MVP-era single-byte (incl. sign-ext, ref types) + 18 (0xFC) + 236 SIMD
    assert.ok(n > 420, `only ${n} opcodes`);
  });

  test('mnemonics and numbering agree with wabt for every opcode', async () => {
    const imm = (k: number): string => {
      switch (OP_IMM[k]) {
        case Imm.Label:
          return ' 0';
        case Imm.BrTable:
          return ' 0 0';
        case Imm.Func:
          return ' 0';
        case Imm.CallIndirect:
          return ' (type 0)';
        case Imm.Local:
        case Imm.Global:
        case Imm.Table:
        case Imm.Data:
        case Imm.Elem:
          return ' 0';
        case Imm.MemArg:
          return ' offset=3';
        case Imm.I32:
        case Imm.I64:
        case Imm.F32:
        case Imm.F64:
          return ' 1';
        case Imm.RefType:
          return ' func';
        case Imm.MemoryInit:
        case Imm.TableInit:
          return ' 0';
        case Imm.V128:
          return ' i32x4 1 2 3 4';
        case Imm.Shuffle:
          return ' 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15';
        case Imm.Lane:
          return ' 1';
        case Imm.MemArgLane:
          return ' offset=2 1';
        default:
          return '';
      }
    };
    const keys: number[] = [];
    const lines: string[] = [];
    for (let k = 0; k < OPCODE_KEYS; k++) {
      if (!OP_VALID[k] || OP_IMM[k] === Imm.BlockType || k === 0x05 || k === 0x0b) continue;
      keys.push(k);
      lines.push(k === 0x1c ? 'select (result i32)' : `${OP_NAME[k]}${imm(k)}`);
    }
    const text = `(module (type (func)) (memory 1) (table 1 funcref) (global (mut i32) (i32.const 0))
      (func (local i32) ${lines.join('\n')}) (elem func 0) (data "x"))`;
    const m = readModule(await wat(text));
    const d = decodeBody(m.codes[0]!.body);
    assert.equal(d.count, keys.length + 1);
    for (let i = 0; i < keys.length; i++)
      assert.equal(OP_NAME[d.op[i]!], OP_NAME[keys[i]!], `instruction ${i}`);
    // and the object form re-encodes byte for byte
    assert.deepEqual(
      Buffer.from(encodeInstructions(decodeInstructions(m.codes[0]!.body))),
      Buffer.from(m.codes[0]!.body),
    );
  });
});
