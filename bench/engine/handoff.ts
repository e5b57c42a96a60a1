/**
 * Hand-off of large modules to the preparation threads (issue 14: the event loop stays free). Measured side
 * by side, interleaved, in one run, for one module of SIZE MiB:
 *   clone    — the design before: postMessage structured-clones the module to a thread, and the prepared
 *              module comes back by clone too (here: an echo thread that returns a fresh copy);
 *   pool     — PreparePool.run today: the module goes over in shared memory copied a slice per turn, and the
 *              prepared module comes back by transfer (validation and hashing included, in the thread).
 * For each: the longest the server's event loop went without a turn during the hand-off (what a health
 * check waiting in the queue would see) and the total latency. Medians of ROUNDS.
 * Run alone: node --import tsx bench/engine/handoff.ts [--quick]
 */
import { Worker } from 'node:worker_threads';
import { DEFAULT_LIMITS } from '../../src/engine/index.ts';
import { PreparePool } from '../../src/engine/prepare-pool.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A valid module of about `size` bytes: functions of 1 MiB of nops each (under the body-size limit). */
export function paddedModule(size: number): Uint8Array {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const PER = 1 << 20;
  const count = Math.max(1, Math.ceil(size / PER));
  const body = new Uint8Array(PER + 4);
  body.fill(0x01, 1, PER + 1); // [0 locals] nop… i32.const 42 end
  body.set([0x41, 42, 0x0b], PER + 1);
  const fnHead = Uint8Array.from(leb(body.length));
  const codeLen = leb(count).length + count * (fnHead.length + body.length);
  const head = [
    ...[0, 97, 115, 109, 1, 0, 0, 0],
    ...[1, 5, 1, 96, 0, 1, 127],
    ...[3, ...leb(leb(count).length + count), ...leb(count), ...new Array(count).fill(0)],
    ...[7, 5, 1, 1, 102, 0, 0],
    ...[10, ...leb(codeLen), ...leb(count)],
  ];
  const out = new Uint8Array(head.length + count * (fnHead.length + body.length));
  out.set(head, 0);
  let o = head.length;
  for (let i = 0; i < count; i++) {
    out.set(fnHead, o);
    out.set(body, o + fnHead.length);
    o += fnHead.length + body.length;
  }
  return out;
}

/** Run `work` while measuring the longest gap between turns of the event loop. */
async function gapDuring(work: () => Promise<unknown>): Promise<{ gap: number; ms: number }> {
  let gap = 0;
  let last = performance.now();
  let on = true;
  const tick = () => {
    const n = performance.now();
    gap = Math.max(gap, n - last);
    last = n;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  const t = performance.now();
  await work();
  const ms = performance.now() - t;
  on = false;
  const n = performance.now();
  gap = Math.max(gap, n - last);
  return { gap, ms };
}

export async function handoffBench(quick: boolean): Promise<Record<string, number>> {
  const SIZE = quick ? 4 : 16;
  const ROUNDS = quick ? 3 : 9;
  const wasm = paddedModule(SIZE << 20);
  const echo = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', (m) => { WebAssembly.validate(m.bytes); parentPort.postMessage({ bytes: m.bytes.slice() }); });`,
    { eval: true },
  );
  const pool = new PreparePool(1, 512);
  const input = {
    bytes: wasm,
    metered: false,
    canonicalizeNaN: false,
    limits: DEFAULT_LIMITS,
    hashInput: true,
  };
  const viaClone = () =>
    new Promise<void>((resolve) => {
      echo.once('message', () => resolve());
      echo.postMessage({ bytes: wasm });
    });
  const viaPool = () => pool.run(input, performance.now() + 60_000);
  await viaClone();
  await viaPool();
  const clone: { gap: number; ms: number }[] = [];
  const shared: { gap: number; ms: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    clone.push(await gapDuring(viaClone));
    shared.push(await gapDuring(viaPool));
  }
  await echo.terminate();
  pool.close();
  const out = {
    sizeMiB: SIZE,
    cloneGapMs: median(clone.map((x) => x.gap)),
    poolGapMs: median(shared.map((x) => x.gap)),
    cloneMaxGapMs: Math.max(...clone.map((x) => x.gap)),
    poolMaxGapMs: Math.max(...shared.map((x) => x.gap)),
    cloneMs: median(clone.map((x) => x.ms)),
    poolMs: median(shared.map((x) => x.ms)),
  };
  console.log(
    `\nhand-off of a ${SIZE} MiB module to a preparation thread (median of ${ROUNDS}, interleaved)`,
  );
  console.log('  design                      longest loop gap (median / max)   latency');
  console.log(
    `  clone both ways (before)    ${out.cloneGapMs.toFixed(1).padStart(6)} / ${out.cloneMaxGapMs.toFixed(1).padStart(6)} ms            ${out.cloneMs.toFixed(1)} ms`,
  );
  console.log(
    `  shared in, transfer out     ${out.poolGapMs.toFixed(1).padStart(6)} / ${out.poolMaxGapMs.toFixed(1).padStart(6)} ms            ${out.poolMs.toFixed(1)} ms  (validation + SHA-256 included)`,
  );
  console.log(`  longest gap, pool ÷ clone: ${(out.poolGapMs / out.cloneGapMs).toFixed(2)}`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) await handoffBench(process.argv.includes('--quick'));
