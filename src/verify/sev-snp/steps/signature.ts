/**
 * Step 6: the report signature, ECDSA P-384/SHA-384 over 0x000–0x29F with the VEK ('snp.report.signature').
 * Checked even when the chain failed, for diagnostics; the verdict fails anyway.
 */
import { SIGNED_REGION_END, type SnpReportFields, signatureP1363 } from '../../../formats/index.ts';
import { verifySignature } from '../../../util/signature.ts';
import { cachedNote, factKey, type VerifierCache } from '../../cache.ts';
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import { fingerprint } from '../chain.ts';
import { fail, pass } from './common.ts';

const P384_P1363 = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384', encoding: 'p1363' } as const;

/**
 * Whether the signature verifies. With a cache, a signature that verified before (same report bytes, same
 * VEK by its SHA-256) is not verified again: the check says so and `cached` gets its id.
 */
export async function checkReportSignature(
  report: Uint8Array,
  r: SnpReportFields,
  vek: Certificate,
  vekKind: string,
  checks: Check[],
  cache?: VerifierCache,
  cached?: string[],
): Promise<boolean> {
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
  // A VEK whose key is not an EC P-384 key verifies nothing (verifySignature answers false, never throws).
  sigOk = await verifySignature(P384_P1363, { spki: vek.spki }, signed, sig);
  if (sigOk && key) cache!.set(key, true);
  checks.push(
    sigOk
      ? pass('snp.report.signature', `ECDSA P-384/SHA-384 over 0x000–0x29F verifies with the ${vekKind}`)
      : fail('snp.report.signature', `ECDSA signature does not verify with the ${vekKind}`),
  );
  return sigOk;
}
