/**
 * Step 6: the report signature, ECDSA P-384/SHA-384 over 0x000–0x29F with the VEK ('snp.report.signature').
 * Checked even when the chain failed, for diagnostics; the verdict fails anyway.
 */
import { verify as cryptoVerify, type X509Certificate } from 'node:crypto';
import { SIGNED_REGION_END, type SnpReportFields, signatureP1363 } from '../../../formats/index.ts';
import type { Check } from '../../types.ts';
import { fail, pass } from './common.ts';

/** Whether the signature verifies. */
export function checkReportSignature(
  report: Uint8Array,
  r: SnpReportFields,
  vek: X509Certificate,
  vekKind: string,
  checks: Check[],
): boolean {
  const sig = signatureP1363(r);
  let sigOk = false;
  if (!sig) {
    checks.push(
      fail('snp.report.signature', 'signature r/s has non-zero bytes above 48 (not a P-384 signature)'),
    );
    return sigOk;
  }
  try {
    sigOk = cryptoVerify(
      'sha384',
      report.subarray(0, SIGNED_REGION_END),
      { key: vek.publicKey, dsaEncoding: 'ieee-p1363' },
      sig,
    );
  } catch (e) {
    sigOk = false;
    checks.push(fail('snp.report.signature', `cannot verify: ${(e as Error).message}`));
  }
  if (!checks.some((c) => c.id === 'snp.report.signature'))
    checks.push(
      sigOk
        ? pass('snp.report.signature', `ECDSA P-384/SHA-384 over 0x000–0x29F verifies with the ${vekKind}`)
        : fail('snp.report.signature', `ECDSA signature does not verify with the ${vekKind}`),
    );
  return sigOk;
}
