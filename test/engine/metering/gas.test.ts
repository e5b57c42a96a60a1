/**
 * Golden gas tests (in the style of wasmtime's fuel.wast): hand-computed costs under the default
 * cost table `wasmvm-gas-v1` (1 per instruction; block/loop/else/end 0; call 5; call_indirect 10;
 * memory.grow 100 + 1024/page; memory.fill/copy/init 1 + 1/byte; table.* bulk 1 + 1/element).
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  COST_TABLE_VERSION,
  type CostTable,
  DEFAULT_COST_TABLE,
  instrument,
  TRAP_OUT_OF_GAS,
} from '../../../src/engine/instrument/index.ts';
import { EngineError } from '../../../src/engine/types.ts';
import { wat } from '../../wasm/wat.ts';
import { load } from './helpers.ts';

describe('golden gas', () => {
  test('straight line: 3 instructions, end is free', async () => {
    const l = await load('(module (func (export "f") (result i32) i32.const 1 i32.const 2 i32.add))');
    const r = l.run('f');
    assert.equal(r.value, 3);
    assert.equal(r.gasUsed, 3n);
    assert.equal(l.info.costTableVersion, COST_TABLE_VERSION);
  });

  test('if/else: each arm charged separately', async () => {
    const l = await load(`(module (func (export "f") (param i32) (result i32)
      local.get 0
      if (result i32) i32.const 1 else i32.const 2 i32.const 3 i32.add end))`);
    assert.deepEqual([l.run('f', [1]).value, l.run('f', [1]).gasUsed], [1, 3n]); // local.get if | const
    assert.deepEqual([l.run('f', [0]).value, l.run('f', [0]).gasUsed], [5, 5n]); // local.get if | const const add
  });

  test('loop: 7 per iteration + 1 after', async () => {
    const l = await load(`(module (func (export "f") (param i32) (result i32) (local i32)
      loop $l
        local.get 1 i32.const 1 i32.add local.tee 1
        local.get 0 i32.lt_s br_if $l
      end
      local.get 1))`);
    for (const n of [1, 2, 10, 1000]) {
      const r = l.run('f', [n]);
      assert.equal(r.value, n);
      assert.equal(r.gasUsed, BigInt(7 * n + 1), `n=${n}`);
    }
  });

  test('br to an outer loop is metered on every iteration', async () => {
    const l = await load(`(module (func (export "f") (param i32) (result i32) (local i32)
      block $done
        loop $outer
          block $inner
            local.get 1 local.get 0 i32.ge_s br_if $done
            local.get 1 i32.const 1 i32.add local.set 1
            br $outer
          end
        end
      end
      local.get 1))`);
    // per iteration: local.get local.get ge_s br_if (4) | local.get const add set br (5); exit: 4 + 1
    for (const n of [0, 1, 5, 100]) assert.equal(l.run('f', [n]).gasUsed, BigInt(9 * n + 4 + 1), `n=${n}`);
  });

  test('br_table: cost of the taken path', async () => {
    const l = await load(`(module (func (export "f") (param i32) (result i32)
      block block block local.get 0 br_table 0 1 2 end i32.const 10 return end i32.const 20 return end
      i32.const 30))`);
    assert.deepEqual([l.run('f', [0]).value, l.run('f', [0]).gasUsed], [10, 4n]);
    assert.deepEqual([l.run('f', [1]).value, l.run('f', [1]).gasUsed], [20, 4n]);
    assert.deepEqual([l.run('f', [7]).value, l.run('f', [7]).gasUsed], [30, 3n]);
  });

  test('calls: call 5, callee charged on its own; call_indirect 10', async () => {
    const l = await load(`(module
      (type $t (func (result i32)))
      (table 1 funcref) (elem (i32.const 0) $g)
      (func $g (result i32) i32.const 7)
      (func (export "f") (result i32) call $g call $g i32.add)
      (func (export "i") (result i32) i32.const 0 call_indirect (type $t)))`);
    assert.deepEqual([l.run('f').value, l.run('f').gasUsed], [14, 13n]); // 5+5+1 + 1+1
    assert.deepEqual([l.run('i').value, l.run('i').gasUsed], [7, 12n]); // 1+10 + 1
  });

  test('memory.grow: 100 + 1024 per requested page, charged even when growth fails', async () => {
    const l = await load(`(module (memory 1 10) (func (export "g") (param i32) (result i32)
      local.get 0 memory.grow))`);
    let r = l.run('g', [3]);
    assert.deepEqual([r.value, r.gasUsed], [1, 101n + 3n * 1024n]);
    r = l.run('g', [0]);
    assert.deepEqual([r.value, r.gasUsed], [4, 101n]);
    r = l.run('g', [20]);
    assert.deepEqual([r.value, r.gasUsed], [-1, 101n + 20n * 1024n]);
  });

  test('memory.fill / memory.copy / memory.init: 1 per byte on top of the instruction', async () => {
    const l = await load(`(module (memory 1) (data $d "0123456789")
      (func (export "fill") (param i32) i32.const 0 i32.const 7 local.get 0 memory.fill)
      (func (export "copy") (param i32) i32.const 100 i32.const 0 local.get 0 memory.copy)
      (func (export "init") (param i32) i32.const 0 i32.const 0 local.get 0 memory.init $d))`);
    assert.equal(l.run('fill', [1000]).gasUsed, 4n + 1000n);
    assert.equal(l.run('copy', [0]).gasUsed, 4n);
    assert.equal(l.run('copy', [65]).gasUsed, 4n + 65n);
    assert.equal(l.run('init', [10]).gasUsed, 4n + 10n);
    // an out-of-bounds fill traps after being charged
    const r = l.run('fill', [70000]);
    assert.match(String(r.error), /out of bounds/);
    assert.equal(r.gasUsed, 4n + 70000n);
    assert.equal(r.trap, 0);
  });

  test('table.grow / table.fill charged per element', async () => {
    const l = await load(`(module (table 1 100 funcref)
      (func (export "grow") (param i32) (result i32) ref.null func local.get 0 table.grow 0)
      (func (export "fill") (param i32) i32.const 0 ref.null func local.get 0 table.fill 0))`);
    assert.equal(l.run('grow', [10]).gasUsed, 3n + 10n);
    assert.equal(l.run('fill', [5]).gasUsed, 4n + 5n);
  });

  test('a trap mid-block keeps the whole block charged', async () => {
    const l = await load(`(module (func (export "f") (result i32)
      i32.const 1 i32.const 0 i32.div_s i32.const 5 i32.add))`);
    const r = l.run('f');
    assert.match(String(r.error), /divide by zero/);
    assert.equal(r.gasUsed, 5n);
    assert.equal(r.trap, 0, 'not an instrumentation trap');
  });

  test('out of gas: distinct trap code, all gas consumed, deterministic point', async () => {
    const l = await load(`(module (global $iters (export "iters") (mut i32) (i32.const 0))
      (func (export "f") (param i32) (result i32) (local i32)
      loop $l
        global.get $iters i32.const 1 i32.add global.set $iters
        local.get 1 i32.const 1 i32.add local.tee 1
        local.get 0 i32.lt_s br_if $l
      end
      local.get 1))`);
    // 11 per iteration: limit 30 runs 2 iterations (22), the 3rd block's charge (33) exceeds it
    const r = l.run('f', [100], 30n);
    assert.ok(r.error instanceof WebAssembly.RuntimeError);
    assert.equal(r.trap, TRAP_OUT_OF_GAS);
    assert.equal(r.gasUsed, 30n);
    assert.equal((l.exports.iters as WebAssembly.Global).value, 2);
    // exactly enough gas succeeds with 0 remaining
    const ok = l.run('f', [2], 23n);
    assert.equal(ok.value, 2);
    assert.equal(ok.remaining, 0n);
    const short = l.run('f', [2], 22n);
    assert.equal(short.trap, TRAP_OUT_OF_GAS);
  });

  test('a block no branch targets, and the end of a loop, do not split metered blocks', async () => {
    const l = await load(
      `(module (global $g (export "g") (mut i32) (i32.const 0))
      (func (export "merged") (result i32)
        block global.get $g i32.const 1 i32.add global.set $g end
        i32.const 5)
      (func (export "split") (param i32) (result i32)
        block global.get $g i32.const 1 i32.add global.set $g local.get 0 br_if 0 end
        i32.const 5))`,
      { gas: { checkEveryBlock: true } },
    );
    const g = l.exports.g as WebAssembly.Global;
    // merged: one block of 5 charged up front; with 4 gas nothing runs
    let r = l.run('merged', [], 4n);
    assert.equal(r.trap, TRAP_OUT_OF_GAS);
    assert.equal(g.value, 0);
    assert.equal(l.run('merged', [], 5n).value, 5);
    assert.equal(g.value, 1);
    g.value = 0;
    // split: the branch target after `end` is a separate block (6 | 1)
    r = l.run('split', [0], 6n);
    assert.equal(r.trap, TRAP_OUT_OF_GAS);
    assert.equal(g.value, 1, 'the first block ran');
    assert.equal(l.run('split', [0], 7n).gasUsed, 7n);
  });

  test('deferred checks: pure blocks only subtract; the outcome is the same as checking every block', async () => {
    const text = `(module (memory 1) (global $g (mut i32) (i32.const 0))
      (func $pure (export "pure") (param i32) (result i32)
        local.get 0 i32.const 3 i32.mul local.get 0 i32.const 1 i32.add i32.xor)
      (func (export "f") (param i32) (result i32) (local i32)
        loop $l
          local.get 1 call $pure local.set 1
          local.get 1 i32.const 7 i32.and if local.get 1 i32.const 1 i32.add local.set 1 end
          local.get 1 i32.const 100 i32.rem_u i32.const 0 i32.store
          local.get 0 i32.const 1 i32.sub local.tee 0 br_if $l
        end
        local.get 1))`;
    const lazy = await load(text);
    const eager = await load(text, { gas: { checkEveryBlock: true } });
    assert.ok(lazy.info.gasChecks < eager.info.gasChecks, `${lazy.info.gasChecks} < ${eager.info.gasChecks}`);
    assert.equal(lazy.info.gasCharges, eager.info.gasCharges);
    // `pure` has no check of its own: its export goes through a thunk that checks on return
    let r = lazy.run('pure', [5], 3n);
    assert.equal(r.trap, TRAP_OUT_OF_GAS);
    assert.equal(r.gasUsed, 3n);
    for (const n of [1, 2, 17, 300]) {
      for (const limit of [1n, 5n, 50n, 123n, 1000n, 4321n, 100000n]) {
        const a = lazy.run('f', [n], limit);
        const b = eager.run('f', [n], limit);
        assert.deepEqual([a.value, a.gasUsed, a.trap], [b.value, b.gasUsed, b.trap], `n=${n} limit=${limit}`);
      }
    }
    r = lazy.run('pure', [5]);
    assert.equal(r.gasUsed, 7n);
  });

  test('without gas set the instance traps at the first charge (fail safe)', async () => {
    const { bytes } = instrument(await wat('(module (func (export "f") (result i32) i32.const 1))'));
    const { instance } = await WebAssembly.instantiate(bytes);
    assert.throws(() => (instance.exports.f as () => number)(), WebAssembly.RuntimeError);
    assert.equal((instance.exports.__wasmvm_trap as WebAssembly.Global).value, TRAP_OUT_OF_GAS);
  });

  test('start function becomes an export the engine calls after setting gas', async () => {
    const l = await load(`(module (global $g (export "g") (mut i32) (i32.const 0))
      (func $s global.get $g i32.const 1 i32.add global.set $g) (start $s)
      (func (export "f") (result i32) global.get $g))`);
    assert.equal(l.info.startExport, '__wasmvm_start');
    assert.equal((l.exports.g as WebAssembly.Global).value, 0, 'start did not run at instantiation');
    const r = l.run('__wasmvm_start');
    assert.equal(r.gasUsed, 4n);
    assert.equal(l.run('f').value, 1);
  });

  test('custom cost table', async () => {
    const table: CostTable = {
      ...DEFAULT_COST_TABLE,
      version: 'test-costs-1',
      ops: { ...DEFAULT_COST_TABLE.ops, 'i32.add': 10, 'i32.const': 0 },
      bulkMemoryPerByte: 3,
    };
    const l = await load(
      `(module (memory 1) (func (export "f") (result i32) i32.const 1 i32.const 2 i32.add)
        (func (export "fill") i32.const 0 i32.const 0 i32.const 10 memory.fill))`,
      { gas: { costTable: table } },
    );
    assert.equal(l.run('f').gasUsed, 10n);
    assert.equal(l.run('fill').gasUsed, 1n + 30n);
    assert.equal(l.info.costTableVersion, 'test-costs-1');
    const bin = await wat('(module)');
    assert.throws(
      () => instrument(bin, { gas: { costTable: { ...table, version: COST_TABLE_VERSION } } }),
      (e: unknown) => e instanceof EngineError && e.code === 'INVALID_ARGUMENT',
    );
    assert.throws(
      () => instrument(bin, { gas: { costTable: { ...table, ops: { 'no.such': 1 } } } }),
      /unknown instruction/,
    );
  });

  test('gas off: no gas global, no charges', async () => {
    const l = await load('(module (func (export "f") (result i32) i32.const 1))', {
      gas: false,
      stackLimit: false,
    });
    assert.equal(l.exports.__wasmvm_gas, undefined);
    assert.equal(l.exports.__wasmvm_trap, undefined);
    assert.equal(l.info.metered, false);
    assert.equal(l.run('f').value, 1);
  });
});

describe('module checks', () => {
  test('reserved export names are rejected', async () => {
    for (const name of ['__wasmvm_gas', '__wasmvm_x', '__instrumented_use_gas']) {
      const bin = await wat(`(module (func (export "${name}")))`);
      assert.throws(
        () => instrument(bin),
        (e: unknown) =>
          e instanceof EngineError && e.code === 'UNSUPPORTED_FEATURE' && /reserved/.test(e.message),
      );
    }
  });

  test('post-2.0 features are rejected with UNSUPPORTED_FEATURE', async () => {
    const cases: [string, Record<string, boolean>][] = [
      ['(module (memory 1 1 shared))', { threads: true }],
      ['(module (memory i64 1))', { memory64: true }],
      ['(module (memory 1) (memory 1))', { multi_memory: true }],
      ['(module (tag))', { exceptions: true }],
      ['(module (func $f return_call $f))', { tail_call: true }],
    ];
    for (const [text, features] of cases) {
      const bin = await wat(text, features);
      assert.throws(
        () => instrument(bin),
        (e: unknown) => e instanceof EngineError && e.code === 'UNSUPPORTED_FEATURE',
        text,
      );
    }
  });

  test('malformed and invalid bytecode → INVALID_BYTECODE', async () => {
    const isInvalid = (e: unknown) => e instanceof EngineError && e.code === 'INVALID_BYTECODE';
    assert.throws(() => instrument(new Uint8Array([1, 2, 3])), isInvalid);
    // references to a global/local that only the instrumentation would add
    const bin = await wat('(module (global (mut i32) (i32.const 0)) (func global.get 0 drop))');
    const patched = bin.slice();
    // global.get 0 → global.get 1 (the gas global's index once appended)
    const at = patched.lastIndexOf(0x23);
    patched[at + 1] = 1;
    assert.throws(() => instrument(patched), isInvalid);
    const bin2 = await wat('(module (func (param i32) local.get 0 drop))');
    const p2 = bin2.slice();
    p2[p2.lastIndexOf(0x20) + 1] = 1;
    assert.throws(() => instrument(p2), isInvalid);
    // an export of a global index that only the instrumentation would add (the gas global)
    const exp = Buffer.from(
      '0061736d01000000010e0360017f027f7f6000017f600000030403000102070501016203010801020a14030700200020000f0b0700410110006a0b02000b',
      'hex',
    );
    assert.equal(WebAssembly.validate(exp), false);
    assert.throws(() => instrument(new Uint8Array(exp)), isInvalid);
    // type mismatch (only the validator sees it)
    const bad = await wat('(module (func (result i32) i64.const 1))');
    assert.throws(() => instrument(bad), isInvalid);
  });

  test('maxMemoryPages caps growth; a minimum above the cap is rejected', async () => {
    const l = await load(
      `(module (memory (export "m") 1) (func (export "g") (param i32) (result i32) local.get 0 memory.grow))`,
      { maxMemoryPages: 4 },
    );
    assert.equal(l.info.memoryMaxPages, 4);
    assert.equal(l.run('g', [3]).value, 1);
    assert.equal(l.run('g', [1]).value, -1);
    const l2 = await load('(module (memory 1 2) (func (export "g") (result i32) i32.const 5 memory.grow))', {
      maxMemoryPages: 100,
    });
    assert.equal(l2.info.memoryMaxPages, 2);
    assert.equal(l2.run('g').value, -1);
    const big = await wat('(module (memory 10))');
    assert.throws(
      () => instrument(big, { maxMemoryPages: 5 }),
      (e: unknown) => e instanceof EngineError && e.code === 'MEMORY_LIMIT',
    );
    const imported = await wat('(module (import "env" "mem" (memory 1)))');
    const out = instrument(imported, { maxMemoryPages: 8 });
    assert.equal(out.info.memoryMaxPages, 8);
  });

  test('function indices, exports, elements and names are unchanged', async () => {
    const src = await wat(`(module
      (import "env" "h" (func $h (param i32)))
      (table 2 funcref) (elem (i32.const 0) $a $b)
      (global $r funcref (ref.func $b))
      (func $a (export "a") (result i32) i32.const 1)
      (func $b (export "b") (result i32) call $a i32.const 1 i32.add)
      (func (export "c") (param i32) (result i32) local.get 0 call_indirect (result i32)))`);
    const { bytes } = instrument(src, { canonicalizeNaN: true });
    const { instance } = await WebAssembly.instantiate(bytes, { env: { h: () => {} } });
    const e = instance.exports as Record<string, unknown>;
    (e.__wasmvm_gas as WebAssembly.Global).value = 1000n;
    assert.equal((e.c as (i: number) => number)(0), 1);
    assert.equal((e.c as (i: number) => number)(1), 2);
    assert.equal((e.b as () => number)(), 2);
  });
});
