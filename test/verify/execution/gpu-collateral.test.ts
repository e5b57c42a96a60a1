/**
 * A response's GPU evidence verified with an offline collateral bundle (`verify --response … --collateral`):
 * the device chain's revocation comes from the bundle's nvidia-ocsp items (verifyGpu wires ocspFromBundle),
 * a missing item fails nvidia.chain.revocation naming the certificates, `allowNotChecked` leaves it not
 * checked, and without a bundle it stays not checked (offline). Real Hopper evidence.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { verifyGpu } from '../../../src/verify/execution/evidence.ts';
import type { CollateralBundle } from '../../../src/verify/reference/collateral.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { hopperEvidence, NRAS_CLOCK } from '../nvidia/helpers.ts';

const bundle: CollateralBundle = {
  format: 'wasmvm-tee/collateral-bundle/v1',
  createdAt: NRAS_CLOCK.toISOString(),
  items: [],
};

function revocation(v: Verdict): { outcome: string; detail: string } {
  const found: { outcome: string; detail: string }[] = [];
  const walk = (x: Verdict) => {
    for (const c of x.checks) if (c.id === 'nvidia.chain.revocation') found.push(c);
    for (const p of x.parts ?? []) walk(p);
  };
  walk(v);
  assert.equal(found.length, 1, 'one GPU, one revocation check');
  return found[0]!;
}

describe('GPU evidence in a response, with a collateral bundle', () => {
  const gpu = [hopperEvidence()];
  const binding = new Uint8Array(64);

  it('a bundle without the OCSP items fails nvidia.chain.revocation, naming each certificate', async () => {
    const v = await verifyGpu(gpu, binding, { now: NRAS_CLOCK, collateral: bundle });
    const c = revocation(v);
    assert.equal(c.outcome, 'fail');
    assert.equal(
      c.detail.match(/COLLATERAL_MISSING_ITEM: the bundle has no nvidia-ocsp item for/g)?.length,
      3,
    );
    assert.equal(v.ok, false);
  });

  it('allowNotChecked nvidia.chain.revocation leaves it not checked; no bundle: not checked (offline)', async () => {
    const allowed = await verifyGpu(gpu, binding, {
      now: NRAS_CLOCK,
      collateral: bundle,
      allowNotChecked: ['nvidia.chain.revocation'],
    });
    assert.equal(revocation(allowed).outcome, 'skip');
    const none = await verifyGpu(gpu, binding, { now: NRAS_CLOCK });
    assert.equal(revocation(none).outcome, 'skip');
    assert.match(revocation(none).detail, /not checked/);
  });
});
