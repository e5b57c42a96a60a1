/**
 * Where one sequential Execute's time goes (concurrency 1): client round trip vs the server's own timing
 * fields (queue, execute, attest, total), beside Echo on the same server. Medians of N calls.
 *   node --import tsx bench/service/phase-probe.ts [--n 400] [--url URL]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AttestationMode } from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import { createWasmvmClient } from '../../src/server/client.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({ options: { n: { type: 'string', default: '400' }, url: { type: 'string' } } });
const n = Number(values.n);
let url = values.url;
let child: ReturnType<typeof spawn> | undefined;
if (!url) {
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'bench/service/server-child.ts'),
      ...(process.env.PROBE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  url = await new Promise<string>((res) => {
    let e = '';
    child!.stderr!.on('data', (d: Buffer) => {
      e += d;
      const m = /serving on (\S+)/.exec(e);
      if (m) res(m[1]!);
    });
  });
}
const client = createWasmvmClient({ baseUrl: url, protocol: 'grpc' });
const bytecode = readFileSync(join(root, 'test/server/fixtures/arith.wasm')).toString('base64');
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const payload = new Uint8Array(256);
for (let i = 0; i < 100; i++) await client.echo({ payload });
const echo: number[] = [];
for (let i = 0; i < n; i++) {
  const t = performance.now();
  await client.echo({ payload });
  echo.push(performance.now() - t);
}
for (const mode of [AttestationMode.SESSION_KEY, AttestationMode.PER_REQUEST]) {
  const rtt: number[] = [];
  const tot: number[] = [];
  const q: number[] = [];
  const ex: number[] = [];
  const at: number[] = [];
  for (let i = 0; i < n + 50; i++) {
    const t = performance.now();
    const r = await client.execute({
      execution: { bytecode, fnName: 'add', inputs: ['20', '22'] },
      runtimeConfig: { attestationMode: mode },
    });
    const d = performance.now() - t;
    if (i < 50) continue;
    const tm = r.result!.timing!;
    rtt.push(d);
    tot.push(Number(tm.totalUs) / 1000);
    q.push(Number(tm.queueUs) / 1000);
    ex.push(Number(tm.executeUs) / 1000);
    at.push(Number(tm.attestUs) / 1000);
  }
  console.log(
    `${AttestationMode[mode]}: rtt ${med(rtt).toFixed(3)} ms; server total ${med(tot).toFixed(3)} (queue ${med(q).toFixed(3)}, execute ${med(ex).toFixed(3)}, attest ${med(at).toFixed(3)}); echo rtt ${med(echo).toFixed(3)} ms`,
  );
}
child?.kill();
process.exit(0);
