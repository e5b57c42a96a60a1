/**
 * The stack-height limiter traps at the same depth in every V8 tier (Liftoff only, TurboFan only,
 * default tiering), before V8's own stack overflow.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TRAP_STACK_EXHAUSTED } from '../../../src/engine/instrument/index.ts';
import { wat } from '../../wasm/wat.ts';
import { load } from './helpers.ts';

const probe = fileURLToPath(new URL('./stack-probe.ts', import.meta.url));

const RECURSIVE = `(module
  (global $depth (export "depth") (mut i32) (i32.const 0))
  (func $r (export "r") (param i32) (result i32)
    global.get $depth i32.const 1 i32.add global.set $depth
    local.get 0 i32.const 1 i32.add call $r)
  (func $big (export "big") (param i32) (result i32)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 v128 v128)
    global.get $depth i32.const 1 i32.add global.set $depth
    local.get 0 local.get 0 local.get 0 local.get 0
    call $big i32.add i32.add i32.add))`;

function runProbe(flags: string[], b64: string, limit: string, fn: string) {
  const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', probe, b64, limit, fn, '0'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { depth: number; trap: number; stack: number; error: string };
}

describe('stack limiter', () => {
  test('same exhaustion depth with --liftoff-only, --no-liftoff and default tiering', async () => {
    const b64 = Buffer.from(await wat(RECURSIVE)).toString('base64');
    for (const fn of ['r', 'big']) {
      for (const limit of ['default', '5000']) {
        const results = [[], ['--liftoff-only'], ['--no-liftoff']].map((f) => runProbe(f, b64, limit, fn));
        for (const r of results) {
          assert.equal(r.trap, TRAP_STACK_EXHAUSTED, JSON.stringify(r));
          assert.match(r.error, /unreachable/);
        }
        assert.ok(results[0]!.depth > 10);
        assert.deepEqual(
          results.map((r) => r.depth),
          [results[0]!.depth, results[0]!.depth, results[0]!.depth],
          `${fn} limit=${limit}`,
        );
      }
    }
  });

  test('frame cost = 8 + params + locals (v128 = 2) + max operand stack height', async () => {
    const l = await load(RECURSIVE, { gas: false, stackLimit: 1000 });
    // $r: 8 + 1 param + 0 locals + max height 2 = 11 units per frame → floor(1000 / 11) frames fit
    let r = l.run('r', [0]);
    assert.equal(r.trap, TRAP_STACK_EXHAUSTED);
    assert.equal((l.exports.depth as WebAssembly.Global).value, Math.floor(1000 / 11));
    (l.exports.depth as WebAssembly.Global).value = 0;
    // $big: 8 + 1 + 20 i64 + 2×2 v128 + height 4 = 37
    r = l.run('big', [0]);
    assert.equal(r.trap, TRAP_STACK_EXHAUSTED);
    assert.equal((l.exports.depth as WebAssembly.Global).value, Math.floor(1000 / 37));
  });

  test('small leaf functions are not counted, large ones are', async () => {
    const many = Array.from({ length: 300 }, () => 'i64').join(' ');
    const text = `(module
      (func $small (result i32) i32.const 1)
      (func $large (result i32) (local ${many}) i32.const 2)
      (func (export "s") (result i32) call $small)
      (func (export "l") (result i32) call $large))`;
    // callers cost 8 + 1 (height) = 9; $large 8 + 300 + 1 = 309; $small is a leaf of 9 units: free
    const at = async (limit: number) => load(text, { gas: false, stackLimit: limit });
    assert.equal((await at(9)).run('s').value, 1);
    assert.equal((await at(318)).run('l').value, 2);
    const r = (await at(317)).run('l');
    assert.equal(r.trap, TRAP_STACK_EXHAUSTED);
  });

  test('the height returns to 0 after calls, returns and branches out of the function', async () => {
    const l = await load(
      `(module
        (func $f (param i32) (result i32 i32)
          block (result i32 i32)
            local.get 0 local.get 0 local.get 0 br_if 1 drop drop
            i32.const 1 i32.const 2 return
          end)
        (func (export "g") (param i32) (result i32)
          local.get 0 call $f i32.add))`,
      { gas: false, canonicalizeNaN: true },
    );
    assert.equal(l.run('g', [5]).value, 10);
    assert.equal((l.exports.__wasmvm_stack as WebAssembly.Global).value, 0);
    assert.equal(l.run('g', [0]).value, 3);
    assert.equal((l.exports.__wasmvm_stack as WebAssembly.Global).value, 0);
  });
  test('re-entry from the host: each frame restores the height it found', async () => {
    const seen: number[] = [];
    let ex: Record<string, unknown> = {};
    const st = () => (ex.__wasmvm_stack as WebAssembly.Global).value as number;
    const l = await load(
      `(module (import "h" "f" (func $f (param i32) (result i32)))
        (func (export "g") (param i32) (result i32)
          (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
            (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))`,
      { gas: false },
      {
        h: {
          f: (x: number) => {
            seen.push(st());
            return (ex.g as (x: number) => number)(x);
          },
        },
      },
    );
    ex = l.exports;
    assert.equal(l.run('g', [3]).value, 3);
    assert.equal(st(), 0);
    // g's frame: 8 + 1 param + max operand height 2 = 11 units per nested g
    assert.deepEqual(seen, [11, 22, 33]);
  });
});
