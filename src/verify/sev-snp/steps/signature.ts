/**
 * Step 6: the report signature, ECDSA P-384/SHA-384 over 0x000–0x29F with the VEK ('snp.report.signature').
 * Checked even when the chain failed, for diagnostics; the verdict fails anyway.
 */
import { verify as cryptoVerify, type X509Certificate } from 'node:crypto';
import { SIGNED_REGION_END, type SnpReportFields, signatureP1363 } from '../../../formats/index.ts';
import { cachedNote, factKey, type VerifierCache } from '../../cache.ts';
import type { Check } from '../../types.ts';
import { fingerprint } from '../chain.ts';
import { fail, pass } from './common.ts';

/**
 * Whether the signature verifies. With a cache, a signature that verified before (same report bytes, same
 * VEK by its SHA-256) is not verified again: the check says so and `cached` gets its id.
 */
export function checkReportSignature(
  report: Uint8Array,
  r: SnpReportFields,
  vek: X509Certificate,
  vekKind: string,
  checks: Check[],
  cache?: VerifierCache,
  cached?: string[],
): boolean {
  const sig = signatureP1363(r);
  let sigOk = false;
  if (!sig) {
    checks.push(
      fail('snp.report.signature', 'signature r/s has non-zero bytes above 48 (not a P-384 signature)'),
    );
    return sigOk;
  }
  const signed = report.subarray(0, SIGNED_REGION_END);
  const key = cache ? factKey('snp-report-signature', fingerprint(vek), signed, sig) : undefined;
  const hit = key ? cache!.get<true>(key) : undefined;
  if (hit) {
    checks.push(
      pass(
        'snp.report.signature',
        `ECDSA P-384/SHA-384 over 0x000–0x29F verifies with the ${vekKind}${cachedNote(hit.at)}`,
      ),
    );
    cached?.push('snp.report.signature');
    return true;
  }
  try {
    sigOk = cryptoVerify('sha384', signed, { key: vek.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
  } catch (e) {
    sigOk = false;
    checks.push(fail('snp.report.signature', `cannot verify: ${(e as Error).message}`));
  }
  if (sigOk && key) cache!.set(key, true);
  if (!checks.some((c) => c.id === 'snp.report.signature'))
    checks.push(
      sigOk
        ? pass('snp.report.signature', `ECDSA P-384/SHA-384 over 0x000–0x29F verifies with the ${vekKind}`)
        : fail('snp.report.signature', `ECDSA signature does not verify with the ${vekKind}`),
    );
  return sigOk;
}
