/**
 * Sealed execution benchmark (docs/sealed-execution.md, "Cost"): Execute and ExecuteSealed side by side
 * on one server (bench/service/server-child.ts: shipped configuration, simulated TEE, session-key
 * mode), in interleaved rounds, for a small request (arith.wasm `add`) and a 1 MiB module (arith.wasm
 * plus a 1 MiB custom section, so it is hashed, transferred and sealed whole each time; compiled once).
 * Both sides run the same client code path with evidence verification skipped (executeAndVerify /
 * executeSealedAndVerify with skipEvidence): the difference is the sealing (client seal + open, server
 * open + seal, padding) and nothing else. Prints throughput ratios and the added median latency.
 *
 *   node --import tsx bench/service/sealed.ts [--seconds S] [--rounds R] [--concurrency 1,8]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  attestForSealing,
  createWasmvmClient,
  executeAndVerify,
  executeSealedAndVerify,
} from '../../src/server/client.ts';
import { load } from './load.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,8' },
  },
});
const seconds = Number(values.seconds);
const rounds = Math.max(1, Number(values.rounds));
const levels = values.concurrency!.split(',').map(Number);

function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/service/server-child.ts')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WASMVM_TEE_STATE_DIR: join(tmpdir(), 'wasmvm-tee-bench-simulated') },
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving on (http:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${err}`)));
  });
}

/** arith.wasm with a custom section (id 0) of `n` bytes appended: valid, same exports. */
function withCustomSection(wasm: Uint8Array, n: number): Uint8Array {
  const name = Buffer.from('pad');
  const body = Buffer.concat([Buffer.of(name.length), name, Buffer.alloc(n, 0x5a)]);
  const leb: number[] = [];
  let v = body.length;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    leb.push(b);
  } while (v);
  return new Uint8Array(Buffer.concat([wasm, Buffer.of(0), Buffer.from(leb), body]));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { child, url } = await startServer();
  try {
    const client = createWasmvmClient({ baseUrl: url, readMaxBytes: 64 << 20 });
    const arith = new Uint8Array(readFileSync(join(root, 'test/server/fixtures/arith.wasm')));
    const big = withCustomSection(arith, 1 << 20);
    const session = await attestForSealing(client, { allowSimulated: true });
    const check = (r: { outputs: unknown[] }) => {
      if ((r.outputs[0] as { value?: unknown })?.value !== 42) throw new Error('wrong result');
    };
    const cases: Array<[string, Uint8Array]> = [
      ['small', arith],
      ['1MiB', big],
    ];
    console.log(
      `sealed-execution bench: suite ${session.suite}, ${rounds} rounds × ${seconds}s per cell, load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    for (const [name, bytecode] of cases) {
      const input = { bytecode, fn: 'add', args: ['20', '22'], bytecodeEncoding: 'raw' as const };
      const plain = () => executeAndVerify(client, input, { skipEvidence: true }).then(check);
      const sealed = () => executeSealedAndVerify(client, input, { session, skipEvidence: true }).then(check);
      await plain();
      await sealed();
      for (const conc of levels) {
        const p: Array<{ rps: number; p50: number }> = [];
        const s: Array<{ rps: number; p50: number }> = [];
        for (let r = 0; r < rounds; r++) {
          p.push(await load(conc, plain, seconds));
          s.push(await load(conc, sealed, seconds));
        }
        const pr = median(p.map((x) => x.rps));
        const sr = median(s.map((x) => x.rps));
        const pl = median(p.map((x) => x.p50));
        const sl = median(s.map((x) => x.p50));
        console.log(
          `${name.padEnd(6)} c=${String(conc).padEnd(3)} plain ${pr.toFixed(1).padStart(8)} rps p50 ${pl.toFixed(2).padStart(7)} ms | sealed ${sr.toFixed(1).padStart(8)} rps p50 ${sl.toFixed(2).padStart(7)} ms | sealed ÷ plain ${(sr / pr).toFixed(2)} | added p50 ${Math.round((sl - pl) * 1000)} µs`,
        );
      }
    }
    console.log(
      `load average after: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
