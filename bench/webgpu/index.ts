/**
 * WebGPU benchmark (node --import tsx bench/webgpu/index.ts [--quick]), side by side in one run on the
 * same adapter:
 * 1. N×N f32 matmul (N = 256, 512, 1024) through the guest API (bench/webgpu/matmul.wasm: webgpu.h imports,
 *    one encode + dispatch + submit + wait per repetition) ÷ the same WGSL dispatched directly from JS with
 *    Dawn (same steps per repetition). Goal: JS/guest time ≥ 0.9 (the guest boundary nearly free).
 * 2. GPU ÷ CPU: the guest's GPU matmul vs the same guest's Wasm SIMD (f32x4) matmul.
 * Medians of the per-repetition times (the guest measures with the WASI monotonic clock; JS with
 * performance.now()). Prints the adapter.
 */

import { readFileSync } from 'node:fs';
import { Engine } from '../../src/engine/index.ts';
import { createHostHandlerInstance, WEBGPU_MODULE, WebGpuHost } from '../../src/host/index.ts';
import { writeBenchResult } from '../report.ts';

const quick = process.argv.includes('--quick');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const wasm = new Uint8Array(readFileSync(new URL('./matmul.wasm', import.meta.url)));
const src = readFileSync(new URL('./matmul.c', import.meta.url), 'utf8');
// the WGSL the guest uses, taken from its source (one kernel for both sides)
const wgsl = [...src.matchAll(/^ {4}"(.*)\\n"/gm)].map((m) => m[1]!.replace(/\\"/g, '"')).join('\n');

const host = await WebGpuHost.open();
const engine = new Engine({ hostHandler: createHostHandlerInstance({ webgpu: host }).handler });
const a = host.adapterInfo;
console.log(
  `adapter: vendor '${a.vendor}', architecture '${a.architecture}', device '${a.device}', description '${a.description}' (backend ${a.backend}, ${a.featureLevel})`,
);

async function guest(
  mode: 'gpu' | 'cpu',
  n: number,
  reps: number,
): Promise<{ ms: number[]; checksum: number }> {
  const r = await engine.execute({
    bytecode: wasm,
    fn: '_start',
    args: [],
    hostModules: ['wasi_snapshot_preview1', WEBGPU_MODULE],
    hostOptions: { wasi: { args: ['matmul', mode, String(n), String(reps)], stdio: 'capture' } },
    limits: { timeoutMs: 600_000 },
  });
  const out = Buffer.from(r.stdout ?? []).toString();
  if (r.status !== 'ok') throw new Error(`guest ${mode} ${n}: ${r.status} ${r.message ?? ''} ${out}`);
  const ms = [...out.matchAll(/^rep ([0-9.]+)$/gm)].map((m) => Number(m[1]));
  return { ms: ms.slice(1), checksum: Number(/checksum (\S+)/.exec(out)?.[1]) }; // first rep = warm-up
}

// biome-ignore lint/suspicious/noExplicitAny: Dawn's objects (no DOM lib types here)
type Any = any;

async function direct(n: number, reps: number): Promise<{ ms: number[]; checksum: number }> {
  const { adapter } = host.dawn;
  const gpuAdapter =
    (await (host.gpu as Any).requestAdapter(
      a.backend === 'opengles' ? { featureLevel: 'compatibility' } : { powerPreference: 'high-performance' },
    )) ?? adapter;
  const device = await gpuAdapter.requestDevice();
  const bytes = n * n * 4;
  const A = new Float32Array(n * n);
  const B = new Float32Array(n * n);
  let r = 1;
  const next = () => {
    r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
    return (r >>> 8) / 16777216 - 0.5;
  };
  for (let i = 0; i < n * n; i++) {
    A[i] = next();
    B[i] = next();
  }
  const S = 0x80;
  const ba = device.createBuffer({ size: bytes, usage: S | 0x8 });
  const bb = device.createBuffer({ size: bytes, usage: S | 0x8 });
  const bc = device.createBuffer({ size: bytes, usage: S | 0x4 });
  const rd = device.createBuffer({ size: bytes, usage: 0x1 | 0x8 });
  device.queue.writeBuffer(ba, 0, A);
  device.queue.writeBuffer(bb, 0, B);
  const module = device.createShaderModule({ code: wgsl });
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module, entryPoint: 'main', constants: { N: n } },
  });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [ba, bb, bc].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  await device.queue.onSubmittedWorkDone();
  const ms: number[] = [];
  for (let k = 0; k < reps; k++) {
    const t = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(Math.ceil(n / 8), Math.ceil(n / 8), 1);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    ms.push(performance.now() - t);
  }
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(bc, 0, rd, 0, bytes);
  device.queue.submit([enc.finish()]);
  await rd.mapAsync(1);
  const C = new Float32Array(rd.getMappedRange().slice(0));
  rd.unmap();
  device.destroy();
  let sum = 0;
  for (const v of C) sum += v;
  return { ms: ms.slice(1), checksum: sum };
}

// --sizes=32,64 runs only those sizes (small sizes show the per-dispatch cost of the guest boundary)
const only = process.argv.find((a) => a.startsWith('--sizes='));
const sizes: [number, number, number][] = only
  ? only
      .slice(8)
      .split(',')
      .map((n) => [Number(n), Number(n) <= 128 ? 40 : 4, 4])
  : quick
    ? [
        [256, 6, 2],
        [512, 4, 2],
      ]
    : [
        [256, 6, 4],
        [512, 3, 3],
        [1024, 2, 2],
      ];
const fmt = (x: number) => `${x.toFixed(2)} ms`;
console.log('\nmatmul N×N f32, median ms per repetition (first repetition dropped)');
console.log('N     guest GPU    JS GPU      JS/guest   guest CPU SIMD   CPU/GPU (speedup)   checksums');
const results: Array<{ n: number; guestGpuMs: number; jsGpuMs: number; guestCpuMs: number }> = [];
for (const [n, reps, cpuReps] of sizes) {
  // interleave to share machine noise: guest, JS, guest again
  const g1 = await guest('gpu', n, reps);
  const j = await direct(n, reps);
  const g2 = await guest('gpu', n, reps);
  const c = await guest('cpu', n, cpuReps + 1);
  const g = median([...g1.ms, ...g2.ms]);
  const js = median(j.ms);
  const cpu = median(c.ms);
  results.push({ n, guestGpuMs: g, jsGpuMs: js, guestCpuMs: cpu });
  console.log(
    `${String(n).padEnd(5)} ${fmt(g).padEnd(12)} ${fmt(js).padEnd(11)} ${(js / g).toFixed(3).padEnd(10)} ${fmt(cpu).padEnd(16)} ${(cpu / g).toPrecision(3).padEnd(19)} ${g1.checksum.toFixed(3)} / ${j.checksum.toFixed(3)} / ${c.checksum.toFixed(3)}`,
  );
}
await engine.close();
host.close();
writeBenchResult(
  'webgpu',
  {
    title: `matmul N×N f32 on '${a.description || a.device || a.vendor}' (${a.backend}), median ms per repetition`,
    figures: Object.fromEntries(
      results.flatMap((r) => [
        [`${r.n} guest GPU ms`, Number(r.guestGpuMs.toFixed(3))],
        [`${r.n} JS GPU ÷ guest GPU`, Number((r.jsGpuMs / r.guestGpuMs).toFixed(3))],
        [`${r.n} guest CPU ÷ guest GPU`, Number((r.guestCpuMs / r.guestGpuMs).toFixed(3))],
      ]),
    ),
    charts: results.map((r) => ({
      title: `N = ${r.n}`,
      unit: 'ms',
      bars: [
        { label: 'guest (WebGPU host API)', value: r.guestGpuMs },
        { label: 'JS, Dawn directly', value: r.jsGpuMs },
        { label: 'guest CPU (SIMD)', value: r.guestCpuMs },
      ],
    })),
    detail: { adapter: a, results },
  },
  { quick },
);
