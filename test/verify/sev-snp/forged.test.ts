import * as assert from 'node:assert/strict';
import { KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { encodeTcb, serializeReport, setSignatureP1363 } from '../../../src/formats/index.ts';
import { createAmdShapedChain } from '../../../src/tee/index.ts';
import { parseReport, SIGNED_REGION_END, verifySnpReport } from '../../../src/verify/sev-snp/index.ts';
import { read } from './helpers.ts';

const AMD = (cn: string) => `CN=${cn}, O=Advanced Micro Devices, L=Santa Clara, ST=CA, C=US, OU=Engineering`;

describe('sev-snp: forged chains', () => {
  it('a self-made ARK/ASK/VCEK using AMD names is rejected (also with --allow-simulated)', async () => {
    const real = parseReport(read('milan-v5-gcp-report.bin'));
    const tcb = { blSPL: 4, teeSPL: 0, snpSPL: 27, ucodeSPL: 222 };
    const chain = await createAmdShapedChain({
      rsaBits: 2048,
      arkName: AMD('ARK-Milan'),
      askName: AMD('SEV-Milan'),
      vcekName: AMD('SEV-VCEK'),
      chipId: real.chipId,
      tcb,
      productName: 'Milan-B0',
    });
    real.reportedTcb = encodeTcb(tcb, 'Milan');
    const unsigned = serializeReport(real);
    const sig = sign('sha384', unsigned.subarray(0, SIGNED_REGION_END), {
      key: KeyObject.from(chain.vcekKeys.privateKey as never),
      dsaEncoding: 'ieee-p1363',
    });
    setSignatureP1363(real, new Uint8Array(sig));
    const forged = serializeReport(real);
    const certs = {
      vcek: new Uint8Array(chain.vcek.rawData),
      ask: new Uint8Array(chain.ask.rawData),
      ark: new Uint8Array(chain.ark.rawData),
    };
    for (const allowSimulated of [false, true]) {
      const v = await verifySnpReport(forged, { certs, now: new Date(), allowSimulated });
      assert.equal(v.ok, false);
      const failed = v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id);
      assert.ok(failed.includes('snp.chain.vek'), failed.join());
      assert.ok(failed.includes('snp.chain.evidence-ark'), failed.join());
      // the forgery is otherwise perfect: the report signature verifies with its (forged) VCEK
      assert.ok(v.checks.some((c) => c.id === 'snp.report.signature' && c.outcome === 'pass'));
    }
    // even passing the forged ARK as a "trusted simulated root" does not help: it is not named SIMULATED,
    // so it is only usable as an explicit root, and then it is reported as a simulated (non-AMD) root.
    const v = await verifySnpReport(forged, { certs, now: new Date(), trustSimulatedRoots: [certs.ark] });
    const root = v.fields?.root as { simulated: boolean } | null;
    assert.ok(root === null || root.simulated === true);
  });
});
