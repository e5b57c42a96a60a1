/**
 * Claim v3 output field 20 (guestAttestations): absent → the output side is unchanged; present → appended
 * after 17 (and after 18/19 when they are there); every receipt field changes REPORT_DATA; the encoder
 * and the JSON view are strict.
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  claimFromJson,
  claimToJson,
  type ExecutionClaim,
  type GuestAttestationReceipt,
  outputSide,
  reportDataFor,
} from '../../src/binding/index.ts';
import { BINDING_VECTORS } from './vectors.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const vector = (name: string) => BINDING_VECTORS.find((v) => v.name === name)!;
const H = (c: string) => c.repeat(64);

const RECEIPT: GuestAttestationReceipt = {
  kind: 'gpu',
  gpuIndex: 3,
  teeType: 'NVIDIA GPU',
  simulated: false,
  dataSha256: H('a'),
  evidenceSha256: H('b'),
  outcome: 'ok',
  cached: false,
};

describe('binding: guestAttestations (claim output field 20)', () => {
  const gv = vector('guest-attestations');
  const base = (): ExecutionClaim => {
    const c = claimFromJson(gv.claim);
    delete c.guestAttestations;
    return c;
  };

  it('absent: the output side has no field 20; present: appended after field 17 (and after 18, 19)', () => {
    const without = hex(outputSide(base()));
    assert.ok(gv.outputSide.startsWith(without), 'the fields before it are encoded exactly as without it');
    assert.equal(gv.outputSide.slice(without.length, without.length + 2), '14');
    const wb = claimFromJson(vector('webgpu-server-build').claim);
    const before = hex(outputSide(wb));
    wb.guestAttestations = { receipts: [RECEIPT], truncated: false };
    const after = hex(outputSide(wb));
    assert.ok(after.startsWith(before));
    assert.equal(after.slice(before.length, before.length + 4), '1408');
  });

  it('every receipt field, the order and truncation change REPORT_DATA', () => {
    const c = base();
    const other = { ...RECEIPT, kind: 'vm' as const, gpuIndex: undefined, outcome: 'no_tee' };
    delete other.gpuIndex;
    c.guestAttestations = { receipts: [RECEIPT, other], truncated: false };
    const seen = new Set([hex(reportDataFor(c))]);
    const variants: Array<Partial<GuestAttestationReceipt>> = [
      { gpuIndex: 4 },
      { gpuIndex: undefined },
      { teeType: 'NVIDIA GPUx' },
      { teeType: undefined },
      { teeType: '' },
      { simulated: true },
      { simulated: undefined },
      { dataSha256: H('c') },
      { dataSha256: undefined },
      { evidenceSha256: H('c') },
      { evidenceSha256: undefined },
      { outcome: 'policy_rejected' },
      { cached: true },
    ];
    for (const v of variants) {
      const r = { ...RECEIPT, ...v };
      for (const k of Object.keys(r) as (keyof GuestAttestationReceipt)[])
        if (r[k] === undefined) delete r[k];
      const d = hex(reportDataFor({ ...c, guestAttestations: { receipts: [r, other], truncated: false } }));
      assert.ok(!seen.has(d), JSON.stringify(v));
      seen.add(d);
    }
    const reordered = hex(
      reportDataFor({ ...c, guestAttestations: { receipts: [other, RECEIPT], truncated: false } }),
    );
    assert.ok(!seen.has(reordered));
    const dropped = hex(
      reportDataFor({ ...c, guestAttestations: { receipts: [RECEIPT], truncated: false } }),
    );
    assert.ok(!seen.has(dropped));
    const full = Array.from({ length: 64 }, () => RECEIPT);
    assert.notEqual(
      hex(reportDataFor({ ...c, guestAttestations: { receipts: full, truncated: true } })),
      hex(reportDataFor({ ...c, guestAttestations: { receipts: full, truncated: false } })),
    );
  });

  it('the encoder refuses what no execution produces', () => {
    const c = base();
    const bad = (g: unknown, re: RegExp) =>
      assert.throws(() => outputSide({ ...c, guestAttestations: g } as ExecutionClaim), re);
    bad({ receipts: [], truncated: false }, /receipts: empty/);
    bad({ receipts: Array.from({ length: 65 }, () => RECEIPT), truncated: true }, /more than 64/);
    bad({ receipts: [RECEIPT], truncated: true }, /truncated: true with 1 receipts/);
    bad({ receipts: [{ ...RECEIPT, kind: 'tpm' }], truncated: false }, /kind: 'tpm' is not one of vm, gpu/);
    bad({ receipts: [{ ...RECEIPT, kind: 'vm' }], truncated: false }, /gpuIndex: only for kind gpu/);
    bad(
      { receipts: [{ ...RECEIPT, gpuIndex: 2 ** 32 }], truncated: false },
      /gpuIndex: not an unsigned 32-bit/,
    );
    bad(
      { receipts: [{ ...RECEIPT, outcome: 'OK' }], truncated: false },
      /outcome: expected 'ok' or an error code/,
    );
    bad({ receipts: [{ ...RECEIPT, outcome: '' }], truncated: false }, /outcome/);
    bad({ receipts: [{ ...RECEIPT, dataSha256: 'ab' }], truncated: false }, /dataSha256: expected 32 bytes/);
    bad({ receipts: [{ ...RECEIPT, cached: 1 }], truncated: false }, /cached: expected true or false/);
  });

  it('the JSON view round-trips and is strict', () => {
    const j = structuredClone(gv.claim) as Record<string, unknown>;
    assert.deepEqual(claimToJson(claimFromJson(j)), j);
    const g = () => structuredClone(j) as { guestAttestations: { receipts: Record<string, unknown>[] } };
    const bad = (edit: (x: ReturnType<typeof g>) => void, re: RegExp) => {
      const x = g();
      edit(x);
      assert.throws(() => claimFromJson(x), re);
    };
    bad(
      (x) => ((x.guestAttestations as Record<string, unknown>).surprise = 1),
      /guestAttestations\.surprise: unknown field/,
    );
    bad((x) => delete (x.guestAttestations as Record<string, unknown>).truncated, /truncated: missing/);
    bad((x) => (x.guestAttestations.receipts[0]!.extra = 1), /receipts\[0\]\.extra: unknown field/);
    bad((x) => delete x.guestAttestations.receipts[1]!.outcome, /receipts\[1\]\.outcome: missing/);
    bad((x) => delete x.guestAttestations.receipts[1]!.cached, /receipts\[1\]\.cached: missing/);
    bad((x) => (x.guestAttestations.receipts[1]!.gpuIndex = '1'), /gpuIndex: not an unsigned 32-bit/);
    bad(
      (x) => (x.guestAttestations.receipts[0]!.dataSha256 = H('A')),
      /dataSha256: expected 32 bytes of lowercase hex/,
    );
    bad((x) => (x.guestAttestations.receipts[0]!.simulated = 'yes'), /simulated: expected true or false/);
  });
});
