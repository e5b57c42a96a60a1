import * as assert from 'node:assert/strict';
import { KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { emptyReport, encodeTcb, serializeReport, setSignatureP1363 } from '../../../src/formats/index.ts';
import { createAmdShapedChain } from '../../../src/tee/index.ts';
import {
  decodeTcb,
  parseReport,
  SIGNED_REGION_END,
  verifySnpReport,
} from '../../../src/verify/sev-snp/index.ts';

describe('sev-snp: Turin layout (a test chain, trusted explicitly)', () => {
  it('TCB_VERSION layouts differ: Turin has FMC in byte 0 and SNP in byte 3', () => {
    const t = { fmcSPL: 1, blSPL: 2, teeSPL: 3, snpSPL: 4, ucodeSPL: 5 };
    const raw = encodeTcb(t, 'Turin');
    assert.equal(raw, 0x0500000004030201n);
    assert.deepEqual(decodeTcb(raw, 'Turin'), t);
    assert.deepEqual(decodeTcb(raw, 'Milan'), { blSPL: 1, teeSPL: 2, snpSPL: 0, ucodeSPL: 5 });
  });

  it('8-byte hwID matches the first 8 bytes of CHIP_ID; fmcSPL is compared', async () => {
    const chipId = new Uint8Array(64).map((_, i) => i + 1);
    const tcb = { fmcSPL: 1, blSPL: 2, teeSPL: 3, snpSPL: 4, ucodeSPL: 5 };
    const chain = await createAmdShapedChain({
      rsaBits: 2048,
      arkName: 'CN=ARK-Turin (TEST)',
      askName: 'CN=SEV-Turin (TEST)',
      vcekName: 'CN=SEV-VCEK (TEST)',
      chipId,
      tcb,
      fmcSPL: 1,
      hwId: chipId.subarray(0, 8),
      productName: 'Turin',
    });
    const make = (reported: typeof tcb, chip = chipId) => {
      const r = emptyReport(5);
      r.signatureAlgo = 1;
      r.policy = 0x30000n;
      r.cpuidFamId = 0x1a;
      r.cpuidModId = 0x02;
      r.chipId = chip;
      r.reportedTcb = r.currentTcb = r.committedTcb = r.launchTcb = encodeTcb(reported, 'Turin');
      const sig = sign('sha384', serializeReport(r).subarray(0, SIGNED_REGION_END), {
        key: KeyObject.from(chain.vcekKeys.privateKey as never),
        dsaEncoding: 'ieee-p1363',
      });
      setSignatureP1363(r, new Uint8Array(sig));
      return serializeReport(r);
    };
    const certs = { vcek: new Uint8Array(chain.vcek.rawData), ask: new Uint8Array(chain.ask.rawData) };
    const trustSimulatedRoots = [new Uint8Array(chain.ark.rawData)];
    const good = await verifySnpReport(make(tcb), { certs, trustSimulatedRoots });
    assert.deepEqual(
      good.checks.filter((c) => c.outcome === 'fail'),
      [],
    );
    assert.equal(parseReport(make(tcb)).cpuidFamId, 0x1a);
    assert.match(good.checks.find((c) => c.id === 'snp.vek.hwid')!.detail, /8 bytes/);
    const badFmc = await verifySnpReport(make({ ...tcb, fmcSPL: 2 }), { certs, trustSimulatedRoots });
    assert.deepEqual(
      badFmc.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
      ['snp.vek.tcb'],
    );
    const other = Uint8Array.from(chipId);
    other[3] ^= 1;
    const badChip = await verifySnpReport(make(tcb, other), { certs, trustSimulatedRoots });
    assert.deepEqual(
      badChip.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
      ['snp.vek.hwid'],
    );
    // same chip id beyond the first 8 bytes does not matter for an 8-byte hwID
    const tail = Uint8Array.from(chipId);
    tail[40] ^= 1;
    assert.equal((await verifySnpReport(make(tcb, tail), { certs, trustSimulatedRoots })).ok, true);
    // and without trusting the test root it fails
    assert.equal((await verifySnpReport(make(tcb), { certs })).ok, false);
  });
});
