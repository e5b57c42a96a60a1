/**
 * Metering benchmark.
 *   node --import tsx bench/metering/index.ts [--quick] [--rounds N] [--kernels a,b] [--baseline DIR]
 *
 * --baseline DIR: also runs the kernels instrumented by DIR/src/engine/instrument (another checkout of
 * this repository, e.g. `git archive <commit> src | tar -x -C DIR`), interleaved with the others in the
 * same rounds, so before/after ratios are measured side by side in one run.
 *
 * 1. Run time of metered ÷ unmetered kernels (C → wasm32, bench/metering/kernels, built by build.sh),
 *    per V8 tier: interp (default tiering), singlepass (--liftoff-only), multipass (--no-liftoff).
 *    Each tier runs in its own child process (this file, re-spawned with the V8 flag); inside it the
 *    unmetered, metered (gas + stack limiter) and deterministic (gas + stack + NaN canonicalization)
 *    modules run interleaved, round by round; medians are compared.
 * 2. Instrumentation speed: instrument() vs a binaryen parse + emit round trip of the same module
 *    (npm binaryen: readBinary(bytes).emitBinary()), in MB/s of input.
 */

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instrument } from '../../src/engine/instrument/index.ts';
import { generateModule } from '../../test/fuzz/gen.ts';
import { getWabt, watToBinary } from '../../test/spec/runner.ts';
import { writeBenchResult } from '../report.ts';

const KDIR = fileURLToPath(new URL('./kernels/', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const UNLIMITED = (1n << 63n) - 1n;

interface Kernel {
  name: string;
  arg: number;
  what: string;
}
const KERNELS: Kernel[] = [
  { name: 'sieve', arg: 2, what: 'byte stores in tight loops' },
  { name: 'matmul', arg: 6, what: 'f64 mul/add, loads' },
  { name: 'keccak', arg: 20000, what: 'i64 xor/rotate, small loops' },
  { name: 'base64', arg: 40, what: 'byte loads/stores, table lookups' },
  { name: 'loops', arg: 30, what: 'nested loops, branches' },
  { name: 'fib', arg: 30, what: 'recursive calls' },
];
type Mode = 'interp' | 'singlepass' | 'multipass';
const MODES: Record<Mode, string[]> = {
  interp: [],
  singlepass: ['--liftoff-only'],
  multipass: ['--no-liftoff'],
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const QUICK = process.argv.includes('--quick');
/** --breakdown: also time gas only, stack limiter only and NaN canonicalization only. */
const BREAKDOWN = process.argv.includes('--breakdown');
const ROUNDS = Number(arg('--rounds') ?? (QUICK ? 5 : 9));
const ONLY = arg('--kernels')?.split(',');
const BASELINE = arg('--baseline');
const kernels = KERNELS.filter((k) => !ONLY || ONLY.includes(k.name));

/**
 * Process CPU time in ms (user + system, all threads). The machine this was written on runs many
 * jobs on 2 cores; wall-clock medians there swing by 2-3x, CPU time does not count time spent
 * waiting for a core. Pass --wall to time with performance.now() instead.
 */
const WALL = process.argv.includes('--wall');
function now(): number {
  if (WALL) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface KernelResult {
  kernel: string;
  plainMs: number;
  meteredMs: number;
  detMs: number;
  /** metered by the --baseline instrumenter (NaN when not asked for) */
  baseMs: number;
  baseGas: string;
  /** fastest runs (less sensitive to a loaded machine) */
  plainMin: number;
  meteredMin: number;
  breakdown: { name: string; ms: number }[];
  gas: string;
  result: string;
}

// ---------------------------------------------------------------------------------------------
// child: one tier

async function runChild(): Promise<void> {
  const baseline = BASELINE
    ? ((await import(`${BASELINE.replace(/\/$/, '')}/src/engine/instrument/index.ts`)) as {
        instrument: typeof instrument;
      })
    : undefined;
  const out: KernelResult[] = [];
  for (const k of kernels) {
    const bytes = new Uint8Array(readFileSync(`${KDIR}${k.name}.wasm`));
    const variants = [
      { name: 'plain', bytes },
      { name: 'metered', bytes: instrument(bytes, { gas: {} }).bytes },
      { name: 'det', bytes: instrument(bytes, { gas: {}, canonicalizeNaN: true }).bytes },
      ...(baseline ? [{ name: 'baseline', bytes: baseline.instrument(bytes, { gas: {} }).bytes }] : []),
      ...(BREAKDOWN
        ? [
            { name: 'gas only', bytes: instrument(bytes, { gas: {}, stackLimit: false }).bytes },
            { name: 'stack only', bytes: instrument(bytes, { gas: false }).bytes },
            {
              name: 'NaN only',
              bytes: instrument(bytes, { gas: false, stackLimit: false, canonicalizeNaN: true }).bytes,
            },
          ]
        : []),
    ].map((v) => {
      const e = new WebAssembly.Instance(new WebAssembly.Module(v.bytes), {}).exports;
      const gas = e.__wasmvm_gas instanceof WebAssembly.Global ? e.__wasmvm_gas : undefined;
      if (gas) gas.value = UNLIMITED;
      if (typeof e.__wasmvm_start === 'function') (e.__wasmvm_start as () => void)();
      const fn = e.run as (n: number) => number | bigint;
      let gasUsed = 0n;
      const once = (): { ms: number; r: string } => {
        if (gas) gas.value = UNLIMITED;
        const t0 = now();
        const r = fn(k.arg);
        const ms = now() - t0;
        if (gas) gasUsed = UNLIMITED - (gas.value as bigint);
        return { ms, r: String(r) };
      };
      return { name: v.name, once, times: [] as number[], gas: () => gasUsed, result: '' };
    });
    for (const v of variants) {
      v.result = v.once().r;
      v.once();
    }
    const r0 = variants[0]!.result;
    for (const v of variants)
      if (v.result !== r0) throw new Error(`${k.name}: ${v.name} returned ${v.result}, plain ${r0}`);
    const base = baseline ? variants[3]! : undefined;
    if (base && base.gas() !== variants[1]!.gas())
      throw new Error(`${k.name}: gasUsed ${variants[1]!.gas()}, baseline ${base.gas()}`);
    for (let round = 0; round < ROUNDS; round++) {
      // rotate the order each round so no variant always runs first
      for (let j = 0; j < variants.length; j++) {
        const v = variants[(round + j) % variants.length]!;
        v.times.push(v.once().ms);
      }
    }
    out.push({
      kernel: k.name,
      plainMs: median(variants[0]!.times),
      meteredMs: median(variants[1]!.times),
      detMs: median(variants[2]!.times),
      baseMs: base ? median(base.times) : Number.NaN,
      baseGas: base ? String(base.gas()) : '',
      plainMin: Math.min(...variants[0]!.times),
      meteredMin: Math.min(...variants[1]!.times),
      breakdown: variants.slice(base ? 4 : 3).map((v) => ({ name: v.name, ms: median(v.times) })),
      gas: String(variants[1]!.gas()),
      result: r0,
    });
  }
  process.stdout.write(JSON.stringify(out));
}

// ---------------------------------------------------------------------------------------------
// parent

function timeLoop(fn: () => void, minMs: number): number {
  // returns ms per call (median of 7 batches, after a warm-up)
  const w0 = now();
  while (now() - w0 < minMs / 4) fn();
  let n = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < n; i++) fn();
    const dt = now() - t0;
    if (dt >= minMs / 7) break;
    n *= 2;
  }
  const per: number[] = [];
  for (let b = 0; b < 7; b++) {
    const t0 = now();
    for (let i = 0; i < n; i++) fn();
    per.push((now() - t0) / n);
  }
  return median(per);
}

async function instrumentationSpeed(): Promise<string[]> {
  const binaryen = (await import('binaryen')).default;
  const w = await getWabt();
  const modules: { name: string; bytes: Uint8Array }[] = kernels.map((k) => ({
    name: `${k.name}.wasm`,
    bytes: new Uint8Array(readFileSync(`${KDIR}${k.name}.wasm`)),
  }));
  const big = generateModule(424242, { functions: 400, maxDepth: 6 });
  modules.push({ name: 'generated (400 funcs)', bytes: watToBinary(w, big.wat) });
  const all = new Uint8Array(modules.reduce((n, m) => n + m.bytes.length, 0));
  const lines = [
    '| module | bytes | instrument() MB/s | binaryen round trip MB/s | instrument ÷ binaryen time |',
    '|---|---:|---:|---:|---:|',
  ];
  let totI = 0;
  let totB = 0;
  for (const m of modules) {
    const opts = { gas: {}, canonicalizeNaN: true } as const;
    const ti = timeLoop(() => instrument(m.bytes, opts), QUICK ? 150 : 400);
    const tb = timeLoop(
      () => {
        const mod = binaryen.readBinary(m.bytes);
        mod.emitBinary();
        mod.dispose();
      },
      QUICK ? 150 : 400,
    );
    totI += ti;
    totB += tb;
    const mbs = (t: number) => (m.bytes.length / 1e6 / (t / 1000)).toFixed(1);
    lines.push(`| ${m.name} | ${m.bytes.length} | ${mbs(ti)} | ${mbs(tb)} | ${(ti / tb).toFixed(2)} |`);
  }
  const mbs = (t: number) => (all.length / 1e6 / (t / 1000)).toFixed(1);
  lines.push(
    `| **all** | ${all.length} | **${mbs(totI)}** | **${mbs(totB)}** | **${(totI / totB).toFixed(2)}** |`,
  );
  return lines;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  console.log(
    `metering bench: node ${process.version}, ${ROUNDS} rounds per kernel, medians of ${WALL ? 'wall-clock' : 'process CPU'} time\n`,
  );
  const rows: string[] = [
    `| kernel | mode | unmetered ms | metered ms | metered ÷ unmetered | (min ÷ min) |${BASELINE ? ' baseline ÷ unmetered |' : ''} +NaN canon. ms | +NaN ÷ unmetered | gas/run |`,
    `|---|---|---:|---:|---:|---:|${BASELINE ? '---:|' : ''}---:|---:|---:|`,
  ];
  const baseRatios: Record<string, number[]> = {};
  const breakdownRows: string[] = [
    '| kernel | mode | gas only | stack limiter only | NaN canon. only |',
    '|---|---|---:|---:|---:|',
  ];
  const ratios: Record<string, number[]> = {};
  const detRatios: Record<string, number[]> = {};
  for (const mode of Object.keys(MODES) as Mode[]) {
    const p = spawnSync(
      process.execPath,
      [...MODES[mode], '--import', 'tsx', SELF, ...process.argv.slice(2)],
      {
        env: { ...process.env, WASMVM_BENCH_CHILD: mode },
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      },
    );
    if (p.status !== 0) throw new Error(`${mode} child failed: ${p.stderr}`);
    const res = JSON.parse(p.stdout) as KernelResult[];
    for (const r of res) {
      const ratio = r.meteredMs / r.plainMs;
      const det = r.detMs / r.plainMs;
      ratios[mode] = [...(ratios[mode] ?? []), ratio];
      if (BASELINE) baseRatios[mode] = [...(baseRatios[mode] ?? []), r.baseMs / r.plainMs];
      if (r.breakdown.length)
        breakdownRows.push(
          `| ${r.kernel} | ${mode} | ${r.breakdown.map((b) => (b.ms / r.plainMs).toFixed(3)).join(' | ')} |`,
        );
      detRatios[mode] = [...(detRatios[mode] ?? []), det];
      rows.push(
        `| ${r.kernel} | ${mode} | ${r.plainMs.toFixed(2)} | ${r.meteredMs.toFixed(2)} | ${ratio.toFixed(3)} | ${(r.meteredMin / r.plainMin).toFixed(3)} |${BASELINE ? ` ${(r.baseMs / r.plainMs).toFixed(3)} |` : ''} ${r.detMs.toFixed(2)} | ${det.toFixed(3)} | ${r.gas} |`,
      );
    }
  }
  console.log(rows.join('\n'));
  if (breakdownRows.length > 2) console.log(`\nbreakdown (each ÷ unmetered):\n${breakdownRows.join('\n')}`);
  console.log('\nmedian metered ÷ unmetered per mode (target ≤ 1.05):');
  for (const m of Object.keys(ratios))
    console.log(
      `  ${m.padEnd(10)} gas+stack ${median(ratios[m]!).toFixed(3)}   gas+stack+NaN ${median(detRatios[m]!).toFixed(3)}`,
    );
  const all = Object.values(ratios).flat();
  if (BASELINE) {
    console.log('\nside by side, gas+stack ÷ unmetered (median over kernels; max):');
    for (const m of Object.keys(ratios))
      console.log(
        `  ${m.padEnd(10)} baseline ${median(baseRatios[m]!).toFixed(3)} (max ${Math.max(...baseRatios[m]!).toFixed(3)})   this ${median(ratios[m]!).toFixed(3)} (max ${Math.max(...ratios[m]!).toFixed(3)})`,
      );
    const b = Object.values(baseRatios).flat();
    console.log(
      `  all modes  baseline ${median(b).toFixed(3)} (max ${Math.max(...b).toFixed(3)})   this ${median(all).toFixed(3)} (max ${Math.max(...all).toFixed(3)})`,
    );
  }
  console.log(
    `  all modes  gas+stack ${median(all).toFixed(3)}   gas+stack+NaN ${median(Object.values(detRatios).flat()).toFixed(3)}`,
  );
  console.log('\ninstrumentation speed (gas + stack limiter + NaN canonicalization) vs binaryen parse+emit:');
  const speed = await instrumentationSpeed();
  console.log(speed.join('\n'));
  console.log(`\n(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const modes = Object.keys(ratios);
  const r3 = (x: number) => Number(x.toFixed(3));
  writeBenchResult(
    'metering',
    {
      title: `metered ÷ unmetered run time, median over kernels (${ROUNDS} rounds per kernel)`,
      figures: {
        ...Object.fromEntries(modes.map((m) => [`${m} gas+stack`, r3(median(ratios[m]!))])),
        ...Object.fromEntries(modes.map((m) => [`${m} gas+stack+NaN`, r3(median(detRatios[m]!))])),
        'all modes gas+stack': r3(median(all)),
        'all modes gas+stack+NaN': r3(median(Object.values(detRatios).flat())),
        ...(BASELINE
          ? {
              ...Object.fromEntries(
                modes.map((m) => [`${m} baseline gas+stack`, r3(median(baseRatios[m]!))]),
              ),
              'all modes baseline gas+stack': r3(median(Object.values(baseRatios).flat())),
            }
          : {}),
      },
      charts: [
        {
          title: 'metered ÷ unmetered run time (median over kernels)',
          unit: '×',
          bars: modes.flatMap((m) => [
            ...(BASELINE
              ? [{ label: `${m}`, value: median(baseRatios[m]!), group: 'gas + stack, baseline' }]
              : []),
            { label: `${m}`, value: median(ratios[m]!), group: 'gas + stack limiter' },
            { label: `${m}`, value: median(detRatios[m]!), group: '+ NaN canonicalization' },
          ]),
          target: { value: 1.05, label: 'target 1.05' },
        },
      ],
      detail: { table: rows, breakdown: breakdownRows, instrumentationSpeed: speed },
    },
    { quick: QUICK },
  );
}

if (process.env.WASMVM_BENCH_CHILD) await runChild();
else await main();
