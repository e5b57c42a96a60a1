/**
 * Step 5: the QE report, signed by the PCK key ('tdx.qe.report-signature'), whose REPORT_DATA binds the
 * attestation key: SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes ('tdx.qe.report-data').
 */

import { sha256 } from '../../../util/digest.ts';
import { bytesToHex } from '../../../util/text-codec.ts';
import { cachedNote, factKey, type VerifierCache } from '../../cache.ts';
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import type { QeReportCertificationData, TdxQuote } from '../layout.ts';
import { keyOf, sameBytes, verifyP256Raw } from '../pki.ts';
import { hex } from './common.ts';

export async function checkQeReport(
  q: TdxQuote,
  qc: QeReportCertificationData,
  pck: Certificate,
  attKeyOk: boolean,
  checks: Check[],
  cache?: VerifierCache,
  cached?: string[],
): Promise<void> {
  // A cached fact: this signature over these QE report bytes verified with the key of this PCK (its DER).
  const fact = cache
    ? factKey('tdx-qe-report-signature', pck.raw, qc.qeReportRaw, qc.qeReportSignature)
    : undefined;
  const hit = fact ? cache!.get<true>(fact) : undefined;
  const qeSigOk = hit ? true : await verifyP256Raw(qc.qeReportRaw, qc.qeReportSignature, keyOf(pck));
  if (hit) cached?.push('tdx.qe.report-signature');
  else if (qeSigOk && fact) cache!.set(fact, true);
  checks.push({
    id: 'tdx.qe.report-signature',
    outcome: qeSigOk ? 'pass' : 'fail',
    detail: qeSigOk
      ? `QE report signature verifies with the PCK certificate key${hit ? cachedNote(hit.at) : ''}`
      : 'QE report signature does not verify with the PCK certificate key',
  });
  const expect = sha256(q.attestationKey, qc.qeAuthData);
  const rd = qc.qeReport.reportData;
  const bindOk = attKeyOk && sameBytes(rd.subarray(0, 32), expect) && rd.subarray(32).every((x) => x === 0);
  checks.push({
    id: 'tdx.qe.report-data',
    outcome: bindOk ? 'pass' : 'fail',
    detail: bindOk
      ? 'QE REPORT_DATA = SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes'
      : `QE REPORT_DATA ${hex(rd)} is not SHA-256(attestation key ‖ QE auth data) ${bytesToHex(expect)} ‖ zeros`,
  });
}
