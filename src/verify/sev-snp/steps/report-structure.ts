/**
 * Step 1: the ATTESTATION_REPORT itself: it parses ('snp.report.parse'), is signed with ECDSA P-384/SHA-384
 * ('snp.report.signature-algo'), and its reserved bytes are zero ('snp.report.reserved').
 */

import { parseReport, type SnpReportFields } from '../../../formats/index.ts';
import type { Check } from '../../types.ts';
import { fail, pass } from './common.ts';

/** The parsed report, or undefined after a failed 'snp.report.parse' check (verification stops). */
export function checkReportStructure(report: Uint8Array, checks: Check[]): SnpReportFields | undefined {
  let r: SnpReportFields;
  try {
    r = parseReport(report);
    checks.push(pass('snp.report.parse', `ATTESTATION_REPORT version ${r.version}, ${report.length} bytes`));
  } catch (e) {
    checks.push(fail('snp.report.parse', (e as Error).message));
    return undefined;
  }
  checks.push(
    r.signatureAlgo === 1
      ? pass('snp.report.signature-algo', 'SIGNATURE_ALGO 1 = ECDSA P-384 with SHA-384')
      : fail('snp.report.signature-algo', `unsupported SIGNATURE_ALGO ${r.signatureAlgo}`),
  );
  // Reserved (must-be-zero) bytes of the signed region; CPUID bytes are reserved before version 3.
  const mbz: Array<[string, Uint8Array]> = [
    ['0x04C', r.reserved0],
    ['0x18B', r.reserved1],
    ['0x1EB', r.reserved2],
    ['0x1EF', r.reserved3],
    ['0x208', r.reserved4],
  ];
  if (r.version < 3)
    mbz.push(['0x188 (CPUID, version 2)', Uint8Array.of(r.cpuidFamId, r.cpuidModId, r.cpuidStep)]);
  const nonZero = mbz.filter(([, b]) => b.some((x) => x !== 0)).map(([at]) => at);
  checks.push(
    nonZero.length === 0
      ? pass('snp.report.reserved', 'reserved fields of the signed region are zero')
      : fail('snp.report.reserved', `reserved bytes are not zero at ${nonZero.join(', ')}`),
  );
  return r;
}
