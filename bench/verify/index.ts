/**
 * Verifier throughput: SEV-SNP report verifications per second with the AMD chain cached, and whole
 * execution verifications (envelope, and a complete saved response with its request and nonce: every
 * field compared), as a ratio to the raw cost of one P-384 ECDSA verification measured side by side in
 * the same run. The same file runs on an older tree (to measure before/after: see bench/verify/README).
 *   node --import tsx bench/verify/index.ts [--seconds N]
 */
import { createPublicKey, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { claimFromExecution } from '../../src/binding/index.ts';
import { parseAzureEvidence, parseHclReport } from '../../src/formats/index.ts';
import {
  clearChainCache,
  clearVekCache,
  parseReport,
  SIGNED_REGION_END,
  signatureP1363,
  verifyAzureEvidence,
  verifyExecution,
  verifySnpReport,
} from '../../src/verify/index.ts';

const DATA = new URL('../../test/data/sev-snp/', import.meta.url);
const report = new Uint8Array(readFileSync(new URL('genoa-v5-report.bin', DATA)));
const vcekDer = new Uint8Array(readFileSync(new URL('genoa-v5-vcek.der', DATA)));
const now = new Date('2026-06-01T00:00:00Z');
const secondsArg = process.argv.indexOf('--seconds');
const budgetMs = (secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2) * 1000;

const vcekKey = createPublicKey(
  new X509Certificate(Buffer.from(vcekDer)).publicKey.export({ format: 'pem', type: 'spki' }),
);
const sig = signatureP1363(parseReport(report))!;
const signed = report.subarray(0, SIGNED_REGION_END);

async function rate(
  name: string,
  fn: () => unknown | Promise<unknown>,
  rounds = 5,
): Promise<{ name: string; perSec: number }> {
  // Warm up, then `rounds` timed rounds of budget/rounds ms; report the median rate.
  for (let i = 0; i < 20; i++) await fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const end = performance.now() + budgetMs / rounds;
    let n = 0;
    const t0 = performance.now();
    while (performance.now() < end) {
      await fn();
      n++;
    }
    rates.push((n * 1000) / (performance.now() - t0));
  }
  rates.sort((a, b) => a - b);
  return { name, perSec: rates[Math.floor(rates.length / 2)]! };
}

const results = [];
results.push(
  await rate('raw P-384 ECDSA verify (node:crypto)', () => {
    if (!cryptoVerify('sha384', signed, { key: vcekKey, dsaEncoding: 'ieee-p1363' }, sig))
      throw new Error('bad');
  }),
);
results.push(
  await rate('verifySnpReport, chain cached', async () => {
    const v = await verifySnpReport(report, { vek: vcekDer, now });
    if (!v.ok) throw new Error('verification failed');
  }),
);
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
const snpSame = await rate("verifySnpReport (the Azure HCL report's SNP report), chain cached", async () => {
  const v = await verifySnpReport(azureSnp, { vek: azureVcek, now });
  if (!v.ok) throw new Error('verification failed');
});
const azure = await rate('verifyAzureEvidence (az-snp-vtpm v1, nonce), chain cached', async () => {
  const v = await verifyAzureEvidence(azureDoc, { nonce: azureNonce, now });
  if (!v.ok) throw new Error('verification failed');
});
results.push(snpSame, azure);
const azureRatio = snpSame.perSec / azure.perSec;
results.push(
  await rate('verifySnpReport, all caches cleared each time', async () => {
    clearChainCache();
    clearVekCache();
    const v = await verifySnpReport(report, { vek: vcekDer, now });
    if (!v.ok) throw new Error('verification failed');
  }),
);

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
    results.push(
      await rate(`verifyExecution (${mode}, envelope + nonce), chain cached`, async () => {
        const v = await verifyExecution(json, { trustSimulatedRoot: root, nonce: nonceHex });
        if (!v.ok)
          throw new Error(
            `verification failed: ${JSON.stringify(v.checks.filter((c) => c.outcome === 'fail'))}`,
          );
      }),
    );
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
      results.push(
        await rate(`verifyExecution (${mode}, whole response + request + nonce)`, async () => {
          const v = await verifyExecution(undefined, {
            response,
            request,
            nonce: nonceHex,
            trustSimulatedRoot: root,
          });
          if (!v.ok) throw new Error('verification failed');
        }),
      );
    }
  } finally {
    await server.close();
    await engine.close?.();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const base = results[0]!.perSec;
console.log(`verifier benchmark (node ${process.version}, ${budgetMs} ms per case, median of 5 rounds)`);
for (const r of results)
  console.log(
    `${r.name.padEnd(62)} ${r.perSec.toFixed(0).padStart(8)} /s   ${(base / r.perSec).toFixed(2)}× the cost of one raw P-384 verify`,
  );
console.log(
  `Azure evidence ÷ plain SNP (same report, chain cached): ${azureRatio.toFixed(2)}× the time per verification`,
);
