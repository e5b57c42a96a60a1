/**
 * Before/after: the verifier of another checkout (e.g. `git worktree add /tmp/base <commit>` or a
 * `git archive` of it, with node_modules linked) and of this tree, in one process, rounds interleaved
 * (alternating order), each case as its cost in units of one raw P-384 verify measured in the same round.
 *   node --import tsx bench/verify/compare.ts /path/to/other-checkout [rounds]
 * Both trees verify their own server's responses (simulated SEV-SNP, chain cached), with the nonce.
 */
import { createPublicKey, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const here = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const other = process.argv[2];
if (!other) {
  console.error('usage: node --import tsx bench/verify/compare.ts /path/to/other-checkout [rounds]');
  process.exit(2);
}
const TREES = { before: other.replace(/\/$/, ''), after: here } as const;
type Case = { name: string; fn: () => Promise<void> };
async function setup(root: string): Promise<Case[]> {
  const b = await import(`${root}/src/binding/index.ts`);
  const tee = await import(`${root}/src/tee/index.ts`);
  const v = await import(`${root}/src/verify/index.ts`);
  const { startServer } = await import(`${root}/src/server/server.ts`);
  const { TeeAttester } = await import(`${root}/src/server/attester.ts`);
  const { Engine } = await import(`${root}/src/engine/index.ts`);
  const { createLogger } = await import(`${root}/src/server/log.ts`);
  const cl = await import(`${root}/src/server/client.ts`);
  const { toJson } = await import('@bufbuild/protobuf');
  const pb = await import(`${root}/src/gen/wasmvm/v1/wasmvm_pb.ts`);
  const dir = mkdtempSync(join(tmpdir(), 'cmpb-'));
  const sim = new tee.SimulatedSevSnpProvider({ stateDir: join(dir, 'sim'), rsaBits: 2048, warn: false });
  const rootPem = await sim.rootPem();
  const nonce = Uint8Array.from({ length: 32 }, (_, i) => i);
  const nonceHex = Buffer.from(nonce).toString('hex');
  const cases: Case[] = [];
  const claim = b.claimFromExecution(
    { bytecodeSha256: 'ab'.repeat(32), fn: 'f', inputs: [], mode: 'interp', nonce },
    {
      status: 'ok',
      outputs: [{ type: 'i32', value: 1 }],
      bytecodeSha256: 'ab'.repeat(32),
      mode: 'interp',
      durationMs: 0,
      cacheHit: false,
    },
  );
  for (const mode of ['per-request', 'session-key']) {
    const { json } = await new tee.Attester(sim).attestExecution(claim, mode);
    cases.push({
      name: `envelope ${mode}`,
      fn: async () => {
        const r = await v.verifyExecution(json, { trustSimulatedRoot: rootPem, nonce: nonceHex });
        if (!r.ok) throw new Error('fail');
      },
    });
  }
  const engine = new Engine({ workers: 1 });
  const server = await startServer({
    backend: { engine, attester: new TeeAttester(sim) },
    port: 0,
    host: '127.0.0.1',
    logger: createLogger('error', () => {}),
    shutdownTimeoutMs: 1000,
  });
  const wasm = new Uint8Array(readFileSync(`${here}/test/binding/fixtures/values.wasm`));
  for (const mode of ['per-request', 'session-key']) {
    const r = await cl.executeAndVerify(
      cl.createWasmvmClient({ baseUrl: server.url }),
      {
        bytecode: wasm,
        fn: 'all',
        args: [
          { type: 'i32', value: -7 },
          { type: 'i64', value: 5n },
          { type: 'f32', bits: 0x7fa00001 },
          { type: 'f64', bits: 0x8000000000000000n },
        ],
        attestationMode: mode,
        gasLimit: 1_000_000n,
        nonce,
      },
      { trustSimulatedRoot: rootPem },
    );
    const response = toJson(pb.WASMVMExecutionResponseSchema, r.response);
    const request = toJson(pb.WASMVMExecutionRequestSchema, r.request);
    cases.push({
      name: `whole response ${mode}`,
      fn: async () => {
        const x = await v.verifyExecution(undefined, {
          response,
          request,
          nonce: nonceHex,
          trustSimulatedRoot: rootPem,
        });
        if (!x.ok)
          throw new Error(
            `fail ${JSON.stringify(x.checks.filter((c: { outcome: string }) => c.outcome === 'fail'))}`,
          );
      },
    });
  }
  await server.close();
  await engine.close?.();
  return cases;
}
const DATA = `${here}/test/data/sev-snp/`;
const report = new Uint8Array(readFileSync(`${DATA}genoa-v5-report.bin`));
const vcek = createPublicKey(
  new X509Certificate(readFileSync(`${DATA}genoa-v5-vcek.der`)).publicKey.export({
    format: 'pem',
    type: 'spki',
  }),
);
const vb = await import(`${here}/src/verify/index.ts`);
const sig = vb.signatureP1363(vb.parseReport(report))!;
const signed = report.subarray(0, vb.SIGNED_REGION_END);
const raw = async () => {
  if (!cryptoVerify('sha384', signed, { key: vcek, dsaEncoding: 'ieee-p1363' }, sig)) throw new Error('bad');
};
async function rate(fn: () => Promise<void>, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    await fn();
    n++;
  }
  return (n * 1000) / (performance.now() - t0);
}
const sets = { before: await setup(TREES.before), after: await setup(TREES.after) };
for (const t of ['before', 'after'] as const)
  for (const c of sets[t]) for (let i = 0; i < 30; i++) await c.fn();
const ROUNDS = Number(process.argv[3] ?? 11);
const costs: Record<string, { before: number[]; after: number[] }> = {};
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
  for (let i = 0; i < sets.after.length; i++) {
    for (const t of order) {
      const p384 = await rate(raw, 150);
      const x = await rate(sets[t][i]!.fn, 300);
      const name = sets[t][i]!.name;
      costs[name] ??= { before: [], after: [] };
      costs[name][t].push(p384 / x);
    }
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(
  `verifyExecution cost in units of one raw P-384 verify (same round), median of ${ROUNDS} interleaved rounds`,
);
for (const [name, c] of Object.entries(costs))
  console.log(
    `${name.padEnd(28)} before ${med(c.before).toFixed(2)}×  after ${med(c.after).toFixed(2)}×  after/before ${(med(c.after) / med(c.before)).toFixed(2)}`,
  );
process.exit(0);
