/**
 * Child process for cross-mode runs: started with a V8 tier flag (--liftoff-only / --no-liftoff /
 * none), reads {modules: [{wasm (base64), calls}]} as JSON on stdin, prints the outcomes as JSON.
 */
import { type Call, type CallOutcome, runCall } from './harness.ts';

export interface WireCall {
  probe: string;
  args: string[]; // 'n:<int>' or 'b:<bigint>'
}
export interface WireJob {
  modules: { wasm: string; calls: WireCall[] }[];
}

export function toWire(c: Call): WireCall {
  return { probe: c.probe, args: c.args.map((a) => (typeof a === 'bigint' ? `b:${a}` : `n:${a}`)) };
}
function fromWire(c: WireCall): Call {
  return {
    probe: c.probe,
    args: c.args.map((a) => (a.startsWith('b:') ? BigInt(a.slice(2)) : Number(a.slice(2)))),
  };
}

async function main() {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WireJob;
  const out: CallOutcome[][] = job.modules.map((m) => {
    const module = new WebAssembly.Module(Buffer.from(m.wasm, 'base64'));
    return m.calls.map((c) => runCall(module, fromWire(c)));
  });
  process.stdout.write(JSON.stringify(out));
}

if (process.argv[1]?.endsWith('mode-child.ts')) await main();
