import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';
import { Engine, EXECUTION_MODES, i32, MODE_V8_FLAGS } from '../../src/engine/index.ts';
import { wat } from './helpers.ts';

// --allow-natives-syntax lets the worker ask V8 which tier compiled the export (%IsLiftoffFunction).
const engine = new Engine({ workers: 1, extraV8Flags: ['--allow-natives-syntax'] });
after(() => engine.close());

const sum = wat(`(module (func (export "sum") (param i32) (result i32) (local i32)
  (block (loop (br_if 1 (i32.eqz (local.get 0)))
    (local.set 1 (i32.add (local.get 1) (local.get 0)))
    (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0)))
  (local.get 1)))`);

type Tiered = { tier?: { liftoff: boolean; turbofan: boolean } };

test('every mode runs in its own executor with its V8 flags, and gives the same result', async () => {
  const infos = await Promise.all(EXECUTION_MODES.map((m) => engine.warmup(m)));
  for (const [k, mode] of EXECUTION_MODES.entries()) {
    const info = infos[k]!;
    for (const f of MODE_V8_FLAGS[mode])
      assert.ok(info.execArgv.includes(f), `${mode}: ${f} in ${info.execArgv}`);
    const r = await engine.execute({ bytecode: sum, fn: 'sum', args: [i32(1000)], mode });
    assert.equal(r.mode, mode);
    assert.deepEqual(r.outputs, [i32(500500)]);
  }
  const pids = EXECUTION_MODES.map((m) => engine.stats().executors[m]?.pid);
  assert.equal(new Set(pids).size, 3);
});

test('the flags take effect: singlepass stays on Liftoff when hot, multipass is TurboFan from the start', async () => {
  const hot = async (mode: 'singlepass' | 'multipass' | 'interp') => {
    let r: Tiered = {};
    for (let k = 0; k < 3; k++) {
      r = (await engine.execute({ bytecode: sum, fn: 'sum', args: [i32(2_000_000)], mode })) as Tiered;
    }
    return r.tier;
  };
  const first = (await engine.execute({
    bytecode: sum,
    fn: 'sum',
    args: [i32(1)],
    mode: 'multipass',
  })) as Tiered;
  assert.deepEqual(first.tier, { liftoff: false, turbofan: true });
  assert.deepEqual(await hot('singlepass'), { liftoff: true, turbofan: false });
  const interpFirst = (await engine.execute({
    bytecode: sum,
    fn: 'sum',
    args: [i32(1)],
    mode: 'interp',
  })) as Tiered;
  // interp = V8 default: lazily compiled by Liftoff on first call (tier-up to TurboFan only when hot)
  assert.deepEqual(interpFirst.tier, { liftoff: true, turbofan: false });
});
