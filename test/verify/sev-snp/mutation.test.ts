import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VerifierCache } from '../../../src/verify/cache.ts';
import { SIGNED_REGION_END, verifySnpReport as verifySnp } from '../../../src/verify/sev-snp/index.ts';
import { read } from './helpers.ts';

const report = read('genoa-v5-report.bin');
const vcek = read('genoa-v5-vcek.der');
const now = new Date('2026-06-01T00:00:00Z');

// Cold, and with a VerifierCache warmed by the unmodified report (its signature then a cached fact).
for (const warm of [false, true])
  describe(`sev-snp mutations${warm ? ' (warm VerifierCache)' : ''}`, () => {
    const cache = warm ? new VerifierCache() : undefined;
    const verifySnpReport: typeof verifySnp = (r, o) => verifySnp(r, cache ? { ...o, cache } : o);
    it('the unmodified Genoa report verifies (control)', async () => {
      assert.equal((await verifySnpReport(report, { vek: vcek, now })).ok, true);
      if (cache) {
        const again = await verifySnpReport(report, { vek: vcek, now });
        assert.equal(again.ok, true);
        assert.deepEqual(again.fields?.cached, ['snp.report.signature']);
      }
    });

    it('flipping any single byte of the signed region 0x000–0x29F fails', async () => {
      let rejected = 0;
      for (let i = 0; i < SIGNED_REGION_END; i++) {
        const m = Uint8Array.from(report);
        m[i]! ^= 0x01;
        const v = await verifySnpReport(m, { vek: vcek, now });
        assert.equal(v.ok, false, `byte 0x${i.toString(16)} flipped but still verifies`);
        rejected++;
      }
      assert.equal(rejected, 0x2a0);
    });

    it('flipping any byte of the signature r or s fails', async () => {
      for (let i = 0x2a0; i < 0x2a0 + 144; i++) {
        const m = Uint8Array.from(report);
        m[i]! ^= 0x80;
        const v = await verifySnpReport(m, { vek: vcek, now });
        assert.equal(v.ok, false, `signature byte 0x${i.toString(16)}`);
        assert.ok(v.checks.some((c) => c.id === 'snp.report.signature' && c.outcome === 'fail'));
      }
    });

    it('flipping any byte of the VCEK fails', async () => {
      for (let i = 0; i < vcek.length; i++) {
        const m = Uint8Array.from(vcek);
        m[i]! ^= 0x01;
        const v = await verifySnpReport(report, { vek: m, now });
        assert.equal(v.ok, false, `VCEK byte ${i} flipped but still verifies`);
      }
    });
  });
