/**
 * Reading one enveloped message (gRPC, gRPC-Web, Connect streaming) cut into frames of a given size:
 * Connect's envelope splitter (transformSplitEnvelope, what its handlers run on a body) fed the frames directly (what the server did before) beside the same
 * splitter fed by the server's envelope assembler (src/server/envelope-assembler.ts). Connect's decoder
 * re-sums every chunk it holds for each chunk it gets, so the direct path is quadratic in the number of
 * frames: small frames are skipped there once they would take seconds. Median of R rounds per cell.
 *
 *   node --import tsx bench/service/envelope.ts [--mib 16] [--rounds 3] [--quick]
 */
import { parseArgs } from 'node:util';
import { transformSplitEnvelope } from '@connectrpc/connect/protocol';
import { assembleEnvelopes } from '../../src/server/envelope-assembler.ts';
import { writeBenchResult } from '../report.ts';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
  },
});
const mib = values.quick ? 4 : Number(values.mib);
const rounds = values.quick ? 1 : Math.max(1, Number(values.rounds));
const total = mib << 20;
const message = Buffer.alloc(5 + total, 0x5a);
message[0] = 0;
message.writeUInt32BE(total, 1);

function frames(size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < message.length; o += size)
    out.push(message.subarray(o, Math.min(o + size, message.length)));
  return out;
}

/** What the server's RPC layer runs on a request body (Connect's handler: transformSplitEnvelope). */
async function split(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const _ of transformSplitEnvelope(0xffffffff)(body)) n++;
  return n;
}

async function* chunks(parts: Buffer[]): AsyncIterable<Uint8Array> {
  yield* parts;
}

function direct(parts: Buffer[]): Promise<number> {
  return split(chunks(parts));
}

async function assembled(parts: Buffer[]): Promise<number> {
  let i = 0;
  const next = assembleEnvelopes(
    async () => (i < parts.length ? { done: false, value: parts[i++]! } : { done: true, value: undefined }),
    0xffffffff,
  );
  return split({ [Symbol.asyncIterator]: () => ({ next }) });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
async function time(f: () => Promise<number>): Promise<number> {
  const ts: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    if ((await f()) !== 1) throw new Error('expected exactly one message');
    ts.push(performance.now() - t);
  }
  return median(ts);
}

console.log(`one ${mib} MiB message, median of ${rounds}; ms to read it (direct ÷ assembled)`);
const figures: Record<string, number | null> = {};
const bars: { label: string; value: number; group: string }[] = [];
for (const size of [65536, 16384, 4096, 1024, 256, 64]) {
  const parts = frames(size);
  // the direct path's cost grows with frames²: past ~20 000 frames it takes seconds to minutes
  const d = parts.length <= 20_000 ? await time(() => direct(parts)) : null;
  const a = await time(() => assembled(parts));
  console.log(
    `${String(size).padStart(6)} B frames (${String(parts.length).padStart(7)}): direct ${d === null ? 'skipped (quadratic)' : `${d.toFixed(1)} ms`}, assembled ${a.toFixed(1)} ms${d === null ? '' : `, ratio ${(d / a).toFixed(1)}×`}`,
  );
  figures[`direct ms, ${size} B frames`] = d === null ? null : Number(d.toFixed(1));
  figures[`assembled ms, ${size} B frames`] = Number(a.toFixed(1));
  if (d !== null)
    bars.push({ label: `${size} B`, value: Number(d.toFixed(1)), group: 'direct (Connect decoder)' });
  bars.push({ label: `${size} B`, value: Number(a.toFixed(1)), group: 'assembled first' });
}
writeBenchResult(
  'envelope',
  {
    title: `reading one ${mib} MiB enveloped message cut into frames: Connect's decoder direct vs assembled first (median of ${rounds})`,
    figures,
    charts: [{ title: `${mib} MiB message, by frame size`, unit: 'ms', bars }],
  },
  { quick: values.quick },
);
