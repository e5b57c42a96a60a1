import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getWabt, plainVariant, ScriptRunner, type Variant } from './runner.ts';
import { parseSExprs } from './sexpr.ts';

const SCRIPT = String.raw`
(module $M
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "nan") (param f32) (result f32) (local.get 0))
  (func (export "div") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
  (func (export "v") (param v128) (result v128) (local.get 0))
  (func (export "boom") unreachable)
  (func $rec (export "rec") (call $rec))
  (global (export "g") f64 (f64.const 0x1p-1074)))
(register "m" $M)
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))
(assert_return (invoke "nan" (f32.const nan:0x200001)) (f32.const nan:0x200001))
(assert_return (invoke "nan" (f32.const nan:0x200001)) (f32.const nan:0x200002))
(assert_return (invoke "nan" (f32.const nan:0x200001)) (f32.const nan:arithmetic))
(assert_return (invoke "nan" (f32.const nan:0x600001)) (f32.const nan:arithmetic))
(assert_return (invoke "nan" (f32.const nan:0x600001)) (f32.const nan:canonical))
(assert_return (invoke "div" (f64.const 0) (f64.const 0)) (f64.const nan:canonical))
(assert_return (invoke "v" (v128.const f32x4 1 nan:0x400001 -0 3)) (v128.const f32x4 1 nan:arithmetic -0 3))
(assert_return (invoke "v" (v128.const i32x4 1 2 3 4)) (v128.const i32x4 1 2 3 4))
(assert_return (invoke "v" (v128.const i32x4 1 2 3 4)) (v128.const i32x4 1 2 3 5))
(assert_return (get $M "g") (f64.const 0x1p-1074))
(assert_trap (invoke "boom") "unreachable")
(assert_trap (invoke "add" (i32.const 1) (i32.const 2)) "no trap")
(assert_exhaustion (invoke "rec") "call stack exhausted")
(assert_invalid (module (func (result i32) (i64.const 1))) "type mismatch")
(assert_invalid (module (func (result i64) (i64.const 1))) "valid module")
(assert_malformed (module binary "\00asm\02\00\00\00") "bad version")
(assert_unlinkable (module (import "m" "nope" (func))) "unknown import")
(assert_uninstantiable (module (func $s unreachable) (start $s)) "unreachable")
`;
// expected outcome per command, in order
const EXPECTED = [
  // module register add add nan nan nan:arith(signalling) nan:arith nan:canon div v v v get
  'pass',
  'pass',
  'pass',
  'fail',
  'pass',
  'fail',
  'fail',
  'pass',
  'fail',
  'pass',
  'pass',
  'pass',
  'fail',
  'pass',
  // trap trap exhaustion invalid invalid malformed unlinkable uninstantiable
  'pass',
  'fail',
  'pass',
  'pass',
  'fail',
  'pass',
  'pass',
  'pass',
];

function runText(text: string, variant: Variant) {
  const dir = mkdtempSync(join(tmpdir(), 'wast-'));
  const file = join(dir, 't.wast');
  writeFileSync(file, text);
  return getWabt().then((w) => new ScriptRunner(w, file, variant).run());
}

test('S-expression reader: strings, comments, nesting', () => {
  const e = parseSExprs('(a "x\\41\\u{1F600}" (; (; nested ;) ;) b) ;; tail\n(c)');
  assert.equal(e.length, 2);
  const l = e[0]!;
  assert.equal(l.kind, 'list');
  if (l.kind !== 'list') return;
  assert.equal(l.items.length, 3);
  const s = l.items[1]!;
  assert.equal(s.kind, 'string');
  if (s.kind === 'string') assert.deepEqual([...s.bytes], [0x78, 0x41, 0xf0, 0x9f, 0x98, 0x80]);
});

test('the runner passes what holds and fails what does not', async () => {
  const r = await runText(SCRIPT, plainVariant);
  assert.deepEqual(
    r.results.map((x) => `${x.line}:${x.command}:${x.outcome}`),
    r.results.map((x, i) => `${x.line}:${x.command}:${EXPECTED[i]}`),
  );
});
