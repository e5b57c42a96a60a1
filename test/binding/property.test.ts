import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  claimFromJson,
  claimToJson,
  type ExecutionClaim,
  encodeClaim,
  inputSide,
  outputSide,
} from '../../src/binding/index.ts';
import type { WasmValue } from '../../src/engine/types.ts';
import { verifyExecution, verifySnpReport } from '../../src/verify/index.ts';

const value: fc.Arbitrary<WasmValue> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => ({ type: 'i32' as const, value: v })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => ({ type: 'i64' as const, value: v })),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((b) => ({ type: 'f32' as const, bits: b })),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((b) => ({ type: 'f64' as const, bits: b })),
);
const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const claimArb: fc.Arbitrary<ExecutionClaim> = fc
  .record(
    {
      bytecodeSha256: hex32,
      fn: fc.string({ maxLength: 12 }),
      inputs: fc.oneof(
        fc.array(value, { maxLength: 4 }),
        fc.record({ legacy: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }) }),
      ),
      mode: fc.constantFrom('interp' as const, 'singlepass' as const, 'multipass' as const),
      gasLimit: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
      nonce: fc.uint8Array({ maxLength: 40 }),
      requestId: fc.string({ maxLength: 8 }),
      status: fc.constantFrom('ok' as const, 'unreachable' as const, 'out_of_gas' as const, 'exit' as const),
      outputs: fc.array(value, { maxLength: 3 }),
      exitCode: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      gasUsed: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      costTableVersion: fc.string({ maxLength: 8 }),
      stdoutSha256: hex32,
      stderrSha256: hex32,
      meter: fc.boolean(),
      attestationRequested: fc.constantFrom(
        'default' as const,
        'per-request' as const,
        'session-key' as const,
      ),
      gpuRequested: fc.boolean(),
      trapMessage: fc.string({ maxLength: 8 }),
      executedMode: fc.constantFrom('interp' as const, 'singlepass' as const, 'multipass' as const),
      session: fc.option(
        fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => Buffer.from(b).toString('hex')),
        {
          nil: undefined,
        },
      ),
      teeKind: fc.constantFrom('sev-snp' as const, 'tdx' as const),
      simulated: fc.boolean(),
      gpuEvidenceSha256: hex32,
      issuedAt: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    },
    {
      requiredKeys: [
        'bytecodeSha256',
        'fn',
        'inputs',
        'mode',
        'status',
        'outputs',
        'meter',
        'attestationRequested',
        'gpuRequested',
        'executedMode',
        'teeKind',
        'simulated',
        'issuedAt',
      ],
    },
  )
  .map((c) => {
    const out = {
      ...c,
      attestationMode: c.session === undefined ? 'per-request' : 'session-key',
    } as ExecutionClaim;
    if (out.session === undefined) delete out.session;
    return out;
  });

describe('binding properties', () => {
  it('JSON view round-trips to identical bytes', () => {
    fc.assert(
      fc.property(claimArb, (c) => {
        const back = claimFromJson(JSON.parse(JSON.stringify(claimToJson(c))));
        assert.deepEqual(encodeClaim(back), encodeClaim(c));
      }),
      { numRuns: 300 },
    );
  });

  it('different claims never encode the same (injective on these samples)', () => {
    fc.assert(
      fc.property(claimArb, claimArb, (a, b) => {
        const same = JSON.stringify(claimToJson(a)) === JSON.stringify(claimToJson(b));
        const ia = Buffer.from(inputSide(a)).equals(Buffer.from(inputSide(b)));
        const oa = Buffer.from(outputSide(a)).equals(Buffer.from(outputSide(b)));
        assert.equal(ia && oa, same);
      }),
      { numRuns: 300 },
    );
  });

  it('the verifiers never throw on garbage', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), fc.string(), fc.anything()), async (x) => {
        const v = await verifyExecution(x, {});
        assert.equal(v.ok, false);
      }),
      { numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1184, maxLength: 1184 }), async (b) => {
        // a parseable version (2..5) so the deeper checks run too
        b.set([2 + (b[1]! & 3), 0, 0, 0], 0);
        const v = await verifySnpReport(b, {});
        assert.equal(v.ok, false);
      }),
      { numRuns: 100 },
    );
  });
});
