/**
 * ClaimBatcher (src/tee/claim-batcher.ts): claims signed together share one root signature, each with a
 * valid inclusion proof; the size bound closes a batch early; the window timer leaves Node's timers intact
 * (a regression: clearing a Timeout with clearImmediate corrupted the timer list and spun the event loop);
 * options out of range are refused.
 */
import * as assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { claimSignedBytes } from '../../src/binding/index.ts';
import { ClaimBatcher } from '../../src/tee/index.ts';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const claims = (n: number, tag = 0) =>
  Array.from({ length: n }, (_, i) => Uint8Array.of(tag, i >> 8, i & 255));

async function signAll(b: ClaimBatcher, cs: Uint8Array[]) {
  const rs = await Promise.all(cs.map((c) => b.sign(c)));
  for (const [i, r] of rs.entries()) {
    const signed = claimSignedBytes(cs[i]!, r.batch);
    assert.ok(signed, `proof ${i}`);
    assert.ok(verify('sha256', signed.bytes, { key: publicKey, dsaEncoding: 'ieee-p1363' }, r.signature));
  }
  return rs;
}

describe('ClaimBatcher', () => {
  for (const windowMs of [0, 25]) {
    it(`window ${windowMs} ms: claims signed in one turn share one batch and verify`, async () => {
      const b = new ClaimBatcher(privateKey, { windowMs });
      const rs = await signAll(b, claims(37));
      assert.deepEqual(
        rs.map((r) => r.batch.index),
        [...Array(37).keys()],
      );
      assert.ok(rs.every((r) => r.batch.size === 37));
      assert.equal(new Set(rs.map((r) => Buffer.from(r.signature).toString('hex'))).size, 1);
      // the next batch is another tree, another signature
      const again = await signAll(b, claims(3, 1));
      assert.ok(again.every((r) => r.batch.size === 3));
    });
  }

  it('the size bound closes a batch early', async () => {
    const b = new ClaimBatcher(privateKey, { maxSize: 8 });
    const rs = await signAll(b, claims(20));
    assert.deepEqual(
      rs.map((r) => r.batch.size),
      [...Array(8).fill(8), ...Array(8).fill(8), ...Array(4).fill(4)],
    );
  });

  it('the window timer leaves other timers alone and the loop goes idle', async () => {
    const b = new ClaimBatcher(privateKey, { windowMs: 25 });
    for (let round = 0; round < 3; round++) {
      const fired: number[] = [];
      const timers = [5, 25, 25, 40].map((ms, i) => setTimeout(() => fired.push(i), ms));
      await signAll(b, claims(4, round));
      await new Promise((r) => setTimeout(r, 60));
      assert.deepEqual(fired.sort(), [0, 1, 2, 3], `round ${round}`);
      for (const t of timers) clearTimeout(t);
    }
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 300));
    const d = process.cpuUsage(c0);
    assert.ok(
      (d.user + d.system) / 1000 < 150,
      `idle loop used ${(d.user + d.system) / 1000} ms of CPU in 300 ms`,
    );
  });

  it('options out of range are refused', () => {
    for (const o of [
      { windowMs: -1 },
      { windowMs: 1001 },
      { windowMs: 1.5 },
      { maxSize: 0 },
      { maxSize: 4097 },
    ])
      assert.throws(() => new ClaimBatcher(privateKey, o), /claim batch/);
  });
});
