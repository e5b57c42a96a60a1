/**
 * Verifier throughput: SEV-SNP report verifications per second with the AMD chain cached, and whole
 * execution verifications (envelope, and a complete saved response with its request and nonce: every
 * field compared), as a ratio to the raw cost of one P-384 ECDSA verification measured side by side in
 * the same run, each without and with a warm VerifierCache (src/verify/cache.ts) side by side; rounds
 * interleaved. Writes bench/results/verify.json and .svg. Before/after across trees: compare.ts.
 * Then browser (Chromium) ÷ Node time for one SEV-SNP verification with the chain cached (browser.ts;
 * skipped, saying why, without /usr/bin/chromium).
 *   node --import tsx bench/verify/index.ts [--quick] [--seconds N (per case, all rounds)]
 */
import { createPublicKey, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { claimFromExecution } from '../../src/binding/index.ts';
import { parseAzureEvidence, parseHclReport } from '../../src/formats/index.ts';
import {
  clearChainCache,
  clearVekCache,
  parseReport,
  SIGNED_REGION_END,
  signatureP1363,
  VerifierCache,
  verifyAzureEvidence,
  verifyExecution,
  verifySnpReport,
} from '../../src/verify/index.ts';
import { writeBenchResult } from '../report.ts';
import { browserVsNode } from './browser.ts';

const DATA = new URL('../../test/data/sev-snp/', import.meta.url);
const report = new Uint8Array(readFileSync(new URL('genoa-v5-report.bin', DATA)));
const vcekDer = new Uint8Array(readFileSync(new URL('genoa-v5-vcek.der', DATA)));
const now = new Date('2026-06-01T00:00:00Z');
const quick = process.argv.includes('--quick');
const secondsArg = process.argv.indexOf('--seconds');
/** Time per case, all rounds together. */
const budgetMs = (secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : quick ? 0.5 : 3) * 1000;

const vcekKey = createPublicKey(
  new X509Certificate(Buffer.from(vcekDer)).publicKey.export({ format: 'pem', type: 'spki' }),
);
const sig = signatureP1363(parseReport(report))!;
const signed = report.subarray(0, SIGNED_REGION_END);

/** A measured case: `fn` is one verification; `group` 'no cache' or 'warm cache'. */
interface Case {
  name: string;
  group: 'no cache' | 'warm cache' | 'cold caches';
  fn: () => unknown | Promise<unknown>;
}
const cases: Case[] = [];

async function rate(fn: () => unknown | Promise<unknown>, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    await fn();
    n++;
  }
  return (n * 1000) / (performance.now() - t0);
}
const raw = () => {
  if (!cryptoVerify('sha384', signed, { key: vcekKey, dsaEncoding: 'ieee-p1363' }, sig))
    throw new Error('bad');
};

cases.push({
  name: 'verifySnpReport, chain cached',
  group: 'no cache',
  fn: async () => {
    const v = await verifySnpReport(report, { vek: vcekDer, now });
    if (!v.ok) throw new Error('verification failed');
  },
});
// Azure vTPM evidence (trustee az-snp-vtpm v1, Milan): the whole chain (SNP report → claims hash → AK →
// quote → nonce → PCR digest), side by side with the plain SNP verification of the same report.
const azureDoc = JSON.parse(
  readFileSync(
    new URL('../../test/data/azure/trustee/az-snp-vtpm/evidence-v1.json', import.meta.url),
    'utf8',
  ),
);
const azureNonce = new TextEncoder().encode('challenge');
const azureEv = parseAzureEvidence(azureDoc);
const azureSnp = parseHclReport(azureEv.hclReport).hwReport;
const azureVcek = azureEv.certs[0]!;
cases.push({
  name: "verifySnpReport (the Azure HCL report's SNP report), chain cached",
  group: 'no cache',
  fn: async () => {
    const v = await verifySnpReport(azureSnp, { vek: azureVcek, now });
    if (!v.ok) throw new Error('verification failed');
  },
});
cases.push({
  name: 'verifyAzureEvidence (az-snp-vtpm v1, nonce), chain cached',
  group: 'no cache',
  fn: async () => {
    const v = await verifyAzureEvidence(azureDoc, { nonce: azureNonce, now });
    if (!v.ok) throw new Error('verification failed');
  },
});
const snpCache = new VerifierCache();
cases.push({
  name: 'verifySnpReport, chain cached',
  group: 'warm cache',
  fn: async () => {
    const v = await verifySnpReport(report, { vek: vcekDer, now, cache: snpCache });
    if (!v.ok) throw new Error('verification failed');
  },
});
cases.push({
  name: 'verifySnpReport, all caches cleared each time',
  group: 'cold caches',
  fn: async () => {
    clearChainCache();
    clearVekCache();
    const v = await verifySnpReport(report, { vek: vcekDer, now });
    if (!v.ok) throw new Error('verification failed');
  },
});

// A full execution envelope (simulated TEE, per-request), verified with its trusted root.
const { SimulatedSevSnpProvider, Attester } = await import('../../src/tee/index.ts');
const { mkdtempSync, rmSync } = await import('node:fs');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');
const dir = mkdtempSync(join(tmpdir(), 'wasmvm-tee-bench-'));
try {
  const sim = new SimulatedSevSnpProvider({ stateDir: join(dir, 'sim'), rsaBits: 2048, warn: false });
  const nonce = Uint8Array.from({ length: 32 }, (_, i) => i);
  const nonceHex = Buffer.from(nonce).toString('hex');
  const claim = claimFromExecution(
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
  const root = await sim.rootPem();
  for (const mode of ['per-request', 'session-key'] as const) {
    const { json } = await new Attester(sim).attestExecution(claim, mode);
    for (const group of ['no cache', 'warm cache'] as const) {
      const cache = group === 'warm cache' ? new VerifierCache() : undefined;
      cases.push({
        name: `verifyExecution ${mode}, envelope + nonce, chain cached`,
        group,
        fn: async () => {
          const v = await verifyExecution(json, {
            trustSimulatedRoot: root,
            nonce: nonceHex,
            ...(cache ? { cache } : {}),
          });
          if (!v.ok)
            throw new Error(
              `verification failed: ${JSON.stringify(v.checks.filter((c) => c.outcome === 'fail'))}`,
            );
        },
      });
    }
  }
  // A complete saved response from a real in-process server (every value type), verified with its request
  // and nonce: every response field compared with the claim.
  const { startServer } = await import('../../src/server/server.ts');
  const { TeeAttester } = await import('../../src/server/attester.ts');
  const { Engine } = await import('../../src/engine/index.ts');
  const { createLogger } = await import('../../src/server/log.ts');
  const { createWasmvmClient, executeAndVerify } = await import('../../src/server/client.ts');
  const { toJson } = await import('@bufbuild/protobuf');
  const pb = await import('../../src/gen/wasmvm/v1/wasmvm_pb.ts');
  const engine = new Engine({ workers: 1 });
  const server = await startServer({
    backend: { engine, attester: new TeeAttester(sim) },
    port: 0,
    host: '127.0.0.1',
    logger: createLogger('error', () => {}),
    shutdownTimeoutMs: 1000,
  });
  try {
    const wasm = new Uint8Array(
      readFileSync(new URL('../../test/binding/fixtures/values.wasm', import.meta.url)),
    );
    for (const mode of ['per-request', 'session-key'] as const) {
      const r = await executeAndVerify(
        createWasmvmClient({ baseUrl: server.url }),
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
        { trustSimulatedRoot: root },
      );
      const response = toJson(pb.WASMVMExecutionResponseSchema, r.response);
      const request = toJson(pb.WASMVMExecutionRequestSchema, r.request);
      for (const group of ['no cache', 'warm cache'] as const) {
        const cache = group === 'warm cache' ? new VerifierCache() : undefined;
        cases.push({
          name: `verifyExecution ${mode}, whole response + request + nonce`,
          group,
          fn: async () => {
            const v = await verifyExecution(undefined, {
              response,
              request,
              nonce: nonceHex,
              trustSimulatedRoot: root,
              ...(cache ? { cache } : {}),
            });
            if (!v.ok) throw new Error('verification failed');
          },
        });
      }
    }
  } finally {
    await server.close();
    await engine.close?.();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Interleaved rounds: in each round every case, each right after a raw P-384 verify rate measured for it,
// so load from elsewhere hits both alike; a case's cost is raw rate ÷ its rate, median over the rounds.
for (const c of cases) for (let i = 0; i < 20; i++) await c.fn(); // warm up (and warm the caches)
const ROUNDS = quick ? 3 : 7;
const perCase = budgetMs / ROUNDS;
const costs = cases.map(() => [] as number[]);
const rates = cases.map(() => [] as number[]);
const rawRates: number[] = [];
for (let r = 0; r < ROUNDS; r++)
  for (let i = 0; i < cases.length; i++) {
    const k = r % 2 === 0 ? i : cases.length - 1 - i;
    const p384 = await rate(raw, perCase / 2);
    const x = await rate(cases[k]!.fn, perCase);
    rawRates.push(p384);
    rates[k]!.push(x);
    costs[k]!.push(p384 / x);
  }
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const cost = (name: string, group: Case['group']) => {
  const i = cases.findIndex((c) => c.name === name && c.group === group);
  return i < 0 ? Number.NaN : med(costs[i]!);
};
console.log(
  `verifier benchmark (node ${process.version}, ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(
      ' ',
    )} load average, ${ROUNDS} interleaved rounds of ${perCase.toFixed(0)} ms per case; median raw P-384 verify ${med(rawRates).toFixed(0)}/s)`,
);
console.log('cost of one verification in units of one raw P-384 ECDSA verify measured beside it (median)\n');
console.log(`${'measure'.padEnd(58)} ${'no cache'.padStart(9)} ${'warm cache'.padStart(11)}   goal`);
const TABLE: Array<[string, string, string]> = [
  ['verifySnpReport, chain cached', 'verifySnpReport, chain cached', '≤ 1.15 (no cache)'],
  [
    'verifyExecution per-request, chain cached',
    'verifyExecution per-request, envelope + nonce, chain cached',
    '≤ 1.2 (no cache)',
  ],
  [
    'verifyExecution session-key, chain cached',
    'verifyExecution session-key, envelope + nonce, chain cached',
    '≤ 1.0 (warm cache)',
  ],
  [
    '  whole response + request + nonce, per-request',
    'verifyExecution per-request, whole response + request + nonce',
    '',
  ],
  [
    '  whole response + request + nonce, session-key',
    'verifyExecution session-key, whole response + request + nonce',
    '',
  ],
  ['verifySnpReport, all caches cleared each time', 'verifySnpReport, all caches cleared each time', ''],
];
const figures: Record<string, number> = { rawP384PerSec: Number(med(rawRates).toFixed(1)) };
for (const [label, name, goal] of TABLE) {
  const a = cost(name, name.includes('cleared') ? 'cold caches' : 'no cache');
  const b = cost(name, 'warm cache');
  figures[`${name} (no cache)`] = Number(a.toFixed(3));
  if (!Number.isNaN(b)) figures[`${name} (warm cache)`] = Number(b.toFixed(3));
  console.log(
    `${label.padEnd(58)} ${`${a.toFixed(2)}×`.padStart(9)} ${(Number.isNaN(b) ? '' : `${b.toFixed(2)}×`).padStart(11)}   ${goal}`,
  );
}
// Why src/util/signature.ts keeps node:crypto in Node (signature-node.ts) and WebCrypto only in browsers:
// the same raw P-384 verify both ways in this process, interleaved.
{
  const spki = vcekKey.export({ type: 'spki', format: 'der' });
  const wk = await globalThis.crypto.subtle.importKey(
    'spki',
    spki,
    { name: 'ECDSA', namedCurve: 'P-384' },
    false,
    ['verify'],
  );
  const viaWebCrypto = async () => {
    if (!(await globalThis.crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, wk, sig, signed)))
      throw new Error('bad');
  };
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const native = await rate(raw, perCase / 2);
    const web = await rate(viaWebCrypto, perCase / 2);
    ratios.push(native / web);
  }
  console.log(
    `\nraw P-384 verify in Node, WebCrypto ÷ node:crypto time: ${med(ratios).toFixed(2)}× (median of ${ROUNDS} interleaved rounds; why Node keeps its node:crypto path)`,
  );
  figures['raw P-384 verify in Node, WebCrypto ÷ node:crypto'] = Number(med(ratios).toFixed(3));
}
const inBrowser = await browserVsNode(report, vcekDer, now, {
  rounds: ROUNDS,
  msPerSide: Math.max(100, perCase / 2),
});
if (inBrowser.skipped) console.log(`\nbrowser ÷ Node: skipped (${inBrowser.skipped})`);
else {
  console.log(
    `\nbrowser (Chromium) ÷ Node, one verifySnpReport with the chain cached: ${inBrowser.ratio!.toFixed(2)}× (${inBrowser.browserMs!.toFixed(3)} ms ÷ ${inBrowser.nodeMs!.toFixed(3)} ms, median of ${inBrowser.rounds} interleaved rounds)`,
  );
  figures['verifySnpReport chain cached, browser ÷ Node'] = Number(inBrowser.ratio!.toFixed(3));
  figures['verifySnpReport chain cached, browser ms'] = Number(inBrowser.browserMs!.toFixed(4));
  figures['verifySnpReport chain cached, node ms'] = Number(inBrowser.nodeMs!.toFixed(4));
}
console.log(
  '\n(warm cache: a VerifierCache that has seen this evidence; per-request evidence is new with every response, so its warm row is the re-verification of one response, not a stream of them.)',
);
writeBenchResult(
  'verify',
  {
    title: `verifier cost ÷ one raw P-384 verify, median of ${ROUNDS} interleaved rounds`,
    figures,
    charts: [
      {
        title: 'cost in units of one raw P-384 ECDSA verify (lower is better)',
        unit: '×',
        bars: cases.map((c, i) => ({ label: c.name, value: med(costs[i]!), group: c.group })),
        target: { value: 1, label: '1 × P-384' },
      },
    ],
    detail: cases.map((c, i) => ({ name: c.name, group: c.group, costs: costs[i], perSec: rates[i] })),
  },
  { quick },
);
process.exit(0);
