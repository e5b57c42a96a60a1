/**
 * The remaining gas is kept in a function local and written back to `__wasmvm_gas` only where it can
 * be observed (calls, blocks that can trap, exits, the out-of-gas path): the global must be exact at
 * each of those points, with deferred checks and with every block checked.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TRAP_OUT_OF_GAS } from '../../../src/engine/instrument/index.ts';
import { load } from './helpers.ts';

for (const checkEveryBlock of [false, true]) {
  describe(`gas local (checkEveryBlock: ${checkEveryBlock})`, () => {
    const opts = { gas: { checkEveryBlock } };

    test('a trap after pure loop iterations: the global holds every charge', async () => {
      const l = await load(
        `(module (memory 1)
          (func (export "t") (param i32) (result i32) (local i32)
            (loop $l
              (local.set 1 (i32.add (local.get 1) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
            (i32.load (i32.const 70000))))`,
        opts,
      );
      for (const n of [1, 5, 100]) {
        const r = l.run('t', [n]);
        assert.match(String(r.error), /out of bounds/);
        assert.equal(r.trap, 0);
        assert.equal(r.gasUsed, BigInt(8 * n + 2)); // 8 per iteration, then i32.const + i32.load
      }
    });

    test('a host call sees exactly the gas charged so far; host-side charges are kept', async () => {
      const seen: bigint[] = [];
      let gas: WebAssembly.Global | undefined;
      const l = await load(
        `(module (import "h" "f" (func $f))
          (func (export "g") (param i32) (result i32)
            (if (i32.gt_s (local.get 0) (i32.const 3))
              (then (local.set 0 (i32.add (local.get 0) (i32.const 1)))))
            (call $f)
            (i32.add (local.get 0) (i32.const 2))))`,
        opts,
        {
          h: {
            f: () => {
              seen.push(gas!.value as bigint);
              gas!.value = (gas!.value as bigint) - 1000n; // a host function charging gas
            },
          },
        },
      );
      gas = l.exports.__wasmvm_gas as WebAssembly.Global;
      const a = l.run('g', [1], 10_000n);
      // entry: local.get i32.const i32.gt_s if = 4; after the if: call 5 local.get i32.const i32.add = 8
      assert.deepEqual([a.value, seen[0], a.gasUsed], [3, 10_000n - 12n, 1012n]);
      const b = l.run('g', [5], 10_000n);
      // + then arm: local.get i32.const i32.add local.set = 4
      assert.deepEqual([b.value, seen[1], b.gasUsed], [8, 10_000n - 16n, 1016n]);
    });

    test('re-entry from the host and return paths keep the global exact', async () => {
      let ex: Record<string, unknown> = {};
      const l = await load(
        `(module (import "h" "f" (func $f (param i32) (result i32)))
          (func (export "inner") (param i32) (result i32)
            (if (i32.eqz (local.get 0)) (then (return (i32.const 7))))
            (br 0 (i32.mul (local.get 0) (i32.const 3))))
          (func (export "outer") (param i32) (result i32)
            (call $f (local.get 0))
            (i32.const 1) (i32.add)))`,
        opts,
        { h: { f: (x: number) => (ex.inner as (x: number) => number)(x) } },
      );
      ex = l.exports;
      // inner(0): local.get i32.eqz if = 3; then: i32.const return = 2
      assert.deepEqual([l.run('inner', [0]).value, l.run('inner', [0]).gasUsed], [7, 5n]);
      // inner(2): 3; after the if: local.get i32.const i32.mul br = 4
      assert.deepEqual([l.run('inner', [2]).value, l.run('inner', [2]).gasUsed], [6, 7n]);
      // outer: local.get call(5) i32.const i32.add = 8, plus inner's 7
      assert.deepEqual([l.run('outer', [2]).value, l.run('outer', [2]).gasUsed], [7, 15n]);
    });

    test('out of gas in a pure loop: trap code 1, all gas used', async () => {
      const l = await load(
        `(module (func (export "spin") (local i32)
          (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br $l))))`,
        opts,
      );
      const r = l.run('spin', [], 1001n);
      assert.equal(r.trap, TRAP_OUT_OF_GAS);
      assert.equal(r.gasUsed, 1001n);
      assert.ok(r.remaining < 0n && r.remaining > -6n, `remaining ${r.remaining}`);
    });
  });
}
