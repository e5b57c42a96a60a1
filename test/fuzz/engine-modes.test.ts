/**
 * Random modules through the engine itself (src/engine `Engine.execute`) in its three modes
 * (separate executor processes: default tiering, Liftoff only, TurboFan only): status, outputs and
 * gasUsed must be identical across modes and equal to an in-process run of the same
 * instrumentation (so the engine reads gas back exactly as charged).
 * ENGINE_FUZZ_MODULES (default 12) widens the run.
 */
import * as assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_LIMITS, Engine, type ExecuteResult, type WasmValue } from '../../src/engine/index.ts';
import { instrument } from '../../src/engine/instrument/index.ts';
import { getWabt, watToBinary } from '../spec/runner.ts';
import { generateModule, probeArgs, Rng } from './gen.ts';
import { runCall } from './harness.ts';

const N = Number(process.env.ENGINE_FUZZ_MODULES ?? 12);
const engine = new Engine();
after(() => engine.close());

test(`engine fuzz: ${N} random modules, identical status/outputs/gasUsed in interp, singlepass, multipass`, async (t) => {
  const w = await getWabt();
  let calls = 0;
  let traps = 0;
  for (let i = 0; i < N; i++) {
    const seed = 500009 + i;
    const g = generateModule(seed);
    const bytecode = watToBinary(w, g.wat);
    const local = new WebAssembly.Module(
      instrument(bytecode, {
        gas: {},
        stackLimit: DEFAULT_LIMITS.maxStackHeight,
        canonicalizeNaN: true,
        maxMemoryPages: DEFAULT_LIMITS.maxMemoryPages,
      }).bytes,
    );
    const r = new Rng(seed ^ 0x5eed);
    for (const p of g.probes) {
      const raw = probeArgs(r, p.params);
      const args: WasmValue[] = raw.map((a) =>
        typeof a === 'bigint' ? { type: 'i64', value: a } : { type: 'i32', value: a },
      );
      const results: ExecuteResult[] = [];
      for (const mode of ['interp', 'singlepass', 'multipass'] as const)
        results.push(await engine.execute({ bytecode, fn: p.name, args, mode, gasLimit: 1n << 62n }));
      const [a, b, c] = results as [ExecuteResult, ExecuteResult, ExecuteResult];
      const view = (x: ExecuteResult) => ({ status: x.status, outputs: x.outputs, gasUsed: x.gasUsed });
      const where = `seed ${seed} ${p.name}(${raw.join(', ')})`;
      assert.deepEqual(view(b), view(a), `${where}: singlepass vs interp`);
      assert.deepEqual(view(c), view(a), `${where}: multipass vs interp`);
      const mine = runCall(local, { probe: p.name, args: raw }, 1n << 62n);
      assert.equal(
        a.status === 'ok',
        mine.status === 'ok',
        `${where}: engine ${a.status}, in-process ${mine.status}`,
      );
      assert.equal(String(a.gasUsed), mine.gasUsed, `${where}: engine gasUsed vs in-process`);
      if (a.status === 'ok')
        assert.equal(String((a.outputs[0] as { value: number | bigint }).value), mine.value, where);
      else traps++;
      calls++;
    }
  }
  t.diagnostic(`${N} modules, ${calls} calls x 3 modes, ${traps} traps`);
});
