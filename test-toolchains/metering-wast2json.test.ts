/**
 * Cross-checks the spec runner's own .wast reader (test/spec) against wabt's `wast2json` (Debian
 * package wabt): the same commands on the same lines, and for every invoke the same argument bits
 * and expected-result bits (scalars exactly; v128 lane by lane where wast2json gives lanes).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { getWabt, plainVariant, ScriptRunner } from '../test/spec/runner.ts';
import { SPEC_DIR, specFiles } from '../test/spec/suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'w2j-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface JValue {
  type: string;
  value?: string | string[];
  lane_type?: string;
}
interface JCommand {
  type: string;
  line: number;
  action?: { type: string; args?: JValue[] };
  expected?: JValue[];
}

const LANE_BITS: Record<string, number> = { i8: 8, i16: 16, i32: 32, i64: 64, f32: 32, f64: 64 };

function jval(v: JValue): string {
  if (v.type === 'externref' || v.type === 'funcref') return 'ref';
  if (v.type === 'v128') {
    const lanes = v.value as string[];
    if (lanes.some((l) => l.startsWith('nan:'))) return 'v128:nan-lanes';
    const w = BigInt(LANE_BITS[v.lane_type!]!);
    let x = 0n;
    lanes.forEach((l, i) => {
      x |= BigInt(l) << (w * BigInt(i));
    });
    return `v128:${x}`;
  }
  const s = v.value as string;
  if (s.startsWith('nan:')) return `${v.type}:${s}`;
  return `${v.type}:${BigInt(s)}`;
}

// wast2json writes `action` for a bare invoke and `assert_uninstantiable` for `assert_trap (module ...)`
const MAP: Record<string, string> = { action: 'invoke', assert_uninstantiable: 'assert_trap/uninstantiable' };
const MINE: Record<string, string> = {
  assert_trap: 'assert_trap/uninstantiable',
  assert_uninstantiable: 'assert_trap/uninstantiable',
};

test('wast2json and test/spec read the same commands, lines and constant bits', async (t) => {
  const v = spawnSync('wast2json', ['--version'], { encoding: 'utf8' });
  assert.equal(v.status, 0, 'wast2json (Debian wabt) is required');
  const w = await getWabt();
  let files = 0;
  let compared = 0;
  let skipped = 0;
  for (const f of specFiles()) {
    const out = join(dir, `${f}.json`);
    const p = spawnSync('wast2json', ['--enable-all', join(SPEC_DIR, f), '-o', out], { encoding: 'utf8' });
    if (p.status !== 0) {
      // table_fill/get/grow/set/size use syntax wabt 1.0.32 cannot parse (see test/data/wasm-spec/README.md)
      skipped++;
      continue;
    }
    files++;
    const theirs = (JSON.parse(readFileSync(out, 'utf8')) as { commands: JCommand[] }).commands;
    const mine = new ScriptRunner(w, join(SPEC_DIR, f), plainVariant).describe();
    // wast2json gives a command the line of its keyword or of its inner module/action when those
    // start on a later line than the command's '('
    assert.deepEqual(
      mine.map((c, i) => {
        const their = theirs[i]?.line ?? -1;
        const ok = their >= c.line && their <= Math.max(c.innerLine ?? 0, c.line + 1);
        const type = MINE[c.type] && theirs[i]?.type !== 'assert_trap' ? MINE[c.type] : c.type;
        return `${ok ? their : c.line}:${type}`;
      }),
      theirs.map((c) => `${c.line}:${MAP[c.type] ?? c.type}`),
      `${f}: command list`,
    );
    theirs.forEach((c, i) => {
      const m = mine[i]!;
      if (c.action?.type === 'invoke' && c.action.args) {
        assert.deepEqual(m.args, c.action.args.map(jval), `${f}:${c.line} args`);
        compared += m.args!.length;
      }
      if (c.type === 'assert_return' && c.expected) {
        const exp = c.expected.map(jval);
        const my = m.expected!.map((x) => (x.startsWith('ref') ? 'ref' : x));
        exp.forEach((e, k) => {
          if (e.startsWith('v128:') && my[k]!.includes('nan:')) return; // lane patterns: checked by the runner tests
          assert.equal(my[k], e, `${f}:${c.line} expected ${k}`);
          compared++;
        });
      }
    });
  }
  t.diagnostic(
    `${files} scripts cross-checked (${skipped} not parseable by wast2json), ${compared} constants identical`,
  );
  assert.ok(files >= 140);
});
