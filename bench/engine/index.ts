/**
 * Engine benchmark (node --import tsx bench/engine/index.ts [--quick]):
 * 1. per-call overhead of execute() on a cached module vs raw `new WebAssembly.Instance` + call in-process;
 * 2. modes: compile time (cold minus warm execution of a generated many-function module) and run time
 *    (worker-measured) of a compute kernel (test/fixtures/c/kernels.wasm `kernel`) under each mode.
 * 3. hand-off of a large module to the preparation threads: longest event-loop gap, clone vs shared+transfer
 *    (handoff.ts).
 * 4. the executor channel alone: IPC with advanced serialization vs binary frames on a socketpair
 *    (channel.ts), sequential and with 16 in flight.
 * Prints medians and ratios measured side by side in one run.
 */
import { readFileSync } from 'node:fs';
import wabtInit from 'wabt';
import { Engine, EXECUTION_MODES, i32 } from '../../src/engine/index.ts';
import { writeBenchResult } from '../report.ts';
import { channelBench } from './channel.ts';
import { handoffBench } from './handoff.ts';

const quick = process.argv.includes('--quick');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);

const wabt = await wabtInit();
const watBytes = (text: string) => new Uint8Array(wabt.parseWat('b.wat', text).toBinary({}).buffer);
const WA = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (b: Uint8Array) => object;
      Instance: new (m: object) => { exports: Record<string, (...a: number[]) => number> };
    };
  }
).WebAssembly;

const add = watBytes(
  '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))',
);

// ---- 1. per-call overhead ----
const N = quick ? 100 : 400;
// The supervised design (default): interp runs in an executor process like every mode. Beside it, the
// opt-in in-process interp pool (the design before issue 14), measured interleaved in the same run.
const engine = new Engine({ workers: 1 });
const inProc = new Engine({ workers: 1, interpInProcess: true });
/** Sequential execute() latencies of the cached `add` module in one mode. */
async function perCall(e: Engine, mode: 'interp' | 'singlepass', n = N): Promise<number[]> {
  const xs: number[] = [];
  for (let k = 0; k < n; k++) {
    const t = performance.now();
    await e.execute({ bytecode: add, fn: 'add', args: [i32(k), i32(1)], mode });
    xs.push(performance.now() - t);
  }
  return xs;
}
for (const [e, mode] of [
  [engine, 'interp'],
  [engine, 'singlepass'],
  [inProc, 'interp'],
] as const)
  await perCall(e, mode, 20); // start, compile, warm
const viaEngine: number[] = [];
const viaForked: number[] = [];
const viaInProc: number[] = [];
for (let r = 0; r < 4; r++) {
  viaEngine.push(...(await perCall(engine, 'interp', N / 4)));
  viaInProc.push(...(await perCall(inProc, 'interp', N / 4)));
  viaForked.push(...(await perCall(engine, 'singlepass', N / 4)));
}
await inProc.close();
const mod = new WA.Module(add);
const raw: number[] = [];
for (let k = 0; k < N; k++) {
  const t = performance.now();
  new WA.Instance(mod).exports.add!(k, 1);
  raw.push(performance.now() - t);
}
// throughput with concurrency (pool of workers)
const conc = new Engine({ workers: 2 });
await Promise.all([0, 1].map(() => conc.execute({ bytecode: add, fn: 'add', args: [i32(1), i32(2)] })));
const C = quick ? 100 : 400;
const tc = performance.now();
await Promise.all(
  Array.from({ length: C }, (_, k) => conc.execute({ bytecode: add, fn: 'add', args: [i32(k), i32(1)] })),
);
const concMs = performance.now() - tc;
await conc.close();

console.log('== per-call overhead (cached module, i32 add)');
console.log(
  `execute() interp, supervised executor  ${fmt(median(viaEngine))}  (n=${N}, sequential, workers=1; default)`,
);
console.log(`execute() interp, in-process (opt-in)  ${fmt(median(viaInProc))}  (the design before issue 14)`);
console.log(
  `ratio supervised/in-process            ${(median(viaEngine) / median(viaInProc)).toFixed(2)}x  (+${fmt(median(viaEngine) - median(viaInProc))} per call)`,
);
console.log(`execute() singlepass    ${fmt(median(viaForked))}  (executor process)`);
console.log(`raw Instance+call median ${fmt(median(raw))}`);
console.log(`ratio execute/raw        ${(median(viaEngine) / median(raw)).toFixed(0)}x`);
console.log(`ratio singlepass/raw     ${(median(viaForked) / median(raw)).toFixed(0)}x`);
console.log(
  `concurrent: ${C} executions in ${fmt(concMs)} with 2 workers = ${((C / concMs) * 1000).toFixed(0)} exec/s`,
);

// ---- 2. modes ----
const kernels = new Uint8Array(readFileSync(new URL('../../test/fixtures/c/kernels.wasm', import.meta.url)));
const F = quick ? 300 : 1500;
let funcs = '';
for (let f = 0; f < F; f++) {
  funcs += `(func (export "f${f}") (param i32) (result i32) (local i32)
    (block (loop (br_if 1 (i32.eqz (local.get 0)))
      (local.set 1 (i32.xor (i32.mul (local.get 1) (i32.const ${f + 31})) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0))) (local.get 1))\n`;
}
const bigBase = watBytes(`(module ${funcs})`);
const rounds = quick ? 3000 : 10000;
const R = quick ? 3 : 7;
console.log(
  `\n== modes (compile: ${F}-function module, ${bigBase.length} bytes; run: kernel(${rounds}) from kernels.wasm)`,
);
console.log('mode          compile(cold-warm)  first-call   run median   run/multipass');
const rows: { mode: string; compile: number; run: number; first: number }[] = [];
const engines = new Map(EXECUTION_MODES.map((m) => [m, new Engine({ workers: 1 })]));
await Promise.all(EXECUTION_MODES.map((m) => engines.get(m)!.warmup(m)));
for (const mode of EXECUTION_MODES) {
  const e = engines.get(mode)!;
  // a distinct module per mode so no cache is shared (custom section makes the bytes differ)
  const tag = new TextEncoder().encode(mode);
  const big = new Uint8Array([...bigBase, 0, tag.length + 1, tag.length, ...tag]);
  let t = performance.now();
  const cold = await e.execute({ bytecode: big, fn: 'f0', args: [i32(10)], mode });
  const coldMs = performance.now() - t;
  t = performance.now();
  await e.execute({ bytecode: big, fn: 'f1', args: [i32(10)], mode });
  const warmMs = performance.now() - t;
  if (cold.cacheHit) throw new Error('expected a cold compile');
  const first = await e.execute({ bytecode: kernels, fn: 'kernel', args: [i32(rounds)], mode });
  rows.push({ mode, compile: coldMs - warmMs, run: 0, first: first.durationMs });
}
// run the kernel round-robin across the modes so machine noise hits them alike
const runs = new Map<string, number[]>(EXECUTION_MODES.map((m) => [m, []]));
for (let k = 0; k < R; k++) {
  for (const mode of EXECUTION_MODES) {
    const r = await engines
      .get(mode)!
      .execute({ bytecode: kernels, fn: 'kernel', args: [i32(rounds)], mode });
    if (r.status !== 'ok' || r.outputs[0]!.type !== 'i32') throw new Error(`kernel failed: ${r.message}`);
    runs.get(mode)!.push(r.durationMs);
  }
}
for (const r of rows) r.run = median(runs.get(r.mode)!);
for (const e of engines.values()) await e.close();
const mp = rows.find((r) => r.mode === 'multipass')!;
for (const r of rows) {
  console.log(
    `${r.mode.padEnd(11)} ${fmt(r.compile).padStart(18)}  ${fmt(r.first).padStart(10)}  ${fmt(r.run).padStart(11)}   ${(r.run / mp.run).toFixed(2)}x`,
  );
}
console.log(
  '(interp compiles lazily: its compile cost moves into first calls; singlepass/multipass compile eagerly.)',
);
await engine.close();
// ---- 3. hand-off of a large module to the preparation threads (event-loop gap) ----
const handoff = await handoffBench(quick);
// ---- 4. the executor channel alone ----
const channel = await channelBench(quick);
const us = (ms: number) => Number((ms * 1000).toFixed(1));
writeBenchResult(
  'engine',
  {
    title: `engine: execute() per call (median of ${N}) and modes (kernel run median of ${R})`,
    figures: {
      'execute interp supervised µs': us(median(viaEngine)),
      'execute interp in-process µs': us(median(viaInProc)),
      'execute singlepass µs': us(median(viaForked)),
      'raw Instance+call µs': us(median(raw)),
      'concurrent exec/s': Number(((C / concMs) * 1000).toFixed(0)),
      ...Object.fromEntries(rows.map((r) => [`${r.mode} run ms`, Number(r.run.toFixed(3))])),
      'hand-off loop gap, clone ms': Number(handoff.cloneGapMs!.toFixed(1)),
      'hand-off loop gap, shared+transfer ms': Number(handoff.poolGapMs!.toFixed(1)),
      'channel IPC advanced round trip µs': channel.ipcSeqUs,
      'channel socket frames round trip µs': channel.socketSeqUs,
      'channel IPC advanced µs/msg, 16 in flight': channel.ipcBatchUs,
      'channel socket frames µs/msg, 16 in flight': channel.socketBatchUs,
    },
    charts: [
      {
        title: 'execute() per call, cached module (i32 add)',
        unit: 'µs',
        bars: [
          { label: 'interp, supervised executor (default)', value: us(median(viaEngine)) },
          { label: 'interp, in-process (opt-in)', value: us(median(viaInProc)) },
          { label: 'singlepass, executor process', value: us(median(viaForked)) },
          { label: 'raw new WebAssembly.Instance + call', value: us(median(raw)) },
        ],
      },
      {
        title: 'executor channel alone: round trip to an echo process',
        unit: 'µs',
        bars: [
          { label: 'IPC, advanced serialization (before)', value: channel.ipcSeqUs },
          { label: 'socketpair, binary frames (now)', value: channel.socketSeqUs },
          { label: 'IPC, 16 in flight, per message', value: channel.ipcBatchUs },
          { label: 'socketpair, 16 in flight, per message', value: channel.socketBatchUs },
        ],
      },
      {
        title: `kernel(${rounds}) run time per mode`,
        unit: 'ms',
        bars: rows.map((r) => ({ label: r.mode, value: r.run })),
      },
      {
        title: `compile time (cold − warm), ${F}-function module`,
        unit: 'ms',
        bars: rows.map((r) => ({ label: r.mode, value: r.compile })),
      },
    ],
    detail: { rows, handoff, channel },
  },
  { quick },
);
