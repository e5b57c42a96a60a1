/** Issue 13 item 8: SPDM evidence with trailing zero bytes (trustee's hopper_coco_report1) verifies; non-zero trailing bytes do not. */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MAX_TRAILING_ZERO_BYTES, parseSpdmEvidence, SpdmError } from '../../../src/formats/nvidia/spdm.ts';
import type { GpuEvidence } from '../../../src/tee/nvidia/types.ts';
import { verifyGpuEvidence } from '../../../src/verify/nvidia/local.ts';

const dir = new URL('../../data/nvidia/trustee/', import.meta.url);
const reportHex = readFileSync(new URL('hopper_coco_report1.txt', dir), 'utf8').trim();
const chainPem = readFileSync(new URL('hopper_coco_certs1.txt', dir), 'utf8');
const raw = new Uint8Array(Buffer.from(reportHex, 'hex'));
const NOW = new Date('2026-01-01T00:00:00Z');

function evidence(bytes: Uint8Array): GpuEvidence {
  return {
    arch: 'HOPPER',
    evidence: Buffer.from(bytes).toString('base64'),
    certificate: Buffer.from(chainPem).toString('base64'),
    nonce: Buffer.from(parseSpdmEvidence(raw).request.nonce).toString('hex'),
  };
}
const outcome = (v: { checks: { id: string; outcome: string }[] }, id: string) =>
  v.checks.find((c) => c.id === id)?.outcome;

describe('nvidia: zero-padded SPDM evidence (trustee hopper_coco_report1)', () => {
  it('the recorded evidence ends in one zero byte after the signature', () => {
    assert.equal(raw[raw.length - 1], 0);
    const e = parseSpdmEvidence(raw);
    assert.equal(e.response.trailingZeroBytes, 1);
    assert.equal(e.response.signature.length, 96);
  });

  it('verifies: SPDM signature, chain to the pinned root, FWID, nonce', async () => {
    const ev = evidence(raw);
    const v = await verifyGpuEvidence(ev, { now: NOW, nonce: ev.nonce });
    for (const id of [
      'nvidia.spdm.parse',
      'nvidia.spdm.signature',
      'nvidia.chain.root-pinned',
      'nvidia.chain.signatures',
      'nvidia.chain.fwid',
      'nvidia.nonce',
    ])
      assert.equal(outcome(v, id), 'pass', `${id}: ${JSON.stringify(v.checks.find((c) => c.id === id))}`);
    assert.match(v.checks.find((c) => c.id === 'nvidia.spdm.parse')!.detail, /1 zero byte/);
    assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => c.outcome === 'fail')));
  });

  it('the same evidence without the padding verifies too', async () => {
    const v = await verifyGpuEvidence(evidence(raw.subarray(0, raw.length - 1)), { now: NOW });
    assert.equal(outcome(v, 'nvidia.spdm.signature'), 'pass');
  });

  it('a non-zero trailing byte is rejected (exit code of the parse: NVIDIA_SPDM_MALFORMED)', async () => {
    for (const tail of [Uint8Array.of(1), Uint8Array.of(0, 0, 0x80), Uint8Array.of(0xff)]) {
      const b = new Uint8Array(raw.length - 1 + tail.length);
      b.set(raw.subarray(0, raw.length - 1));
      b.set(tail, raw.length - 1);
      assert.throws(
        () => parseSpdmEvidence(b),
        (e: unknown) => e instanceof SpdmError && /not all zero/.test(e.message),
      );
      const v = await verifyGpuEvidence(evidence(b), { now: NOW });
      assert.equal(v.ok, false);
      assert.equal(outcome(v, 'nvidia.spdm.parse'), 'fail');
    }
  });

  it('more zero padding than the limit is rejected', () => {
    const b = new Uint8Array(raw.length + MAX_TRAILING_ZERO_BYTES);
    b.set(raw);
    assert.throws(() => parseSpdmEvidence(b), /padding limit/);
  });
});
