/** Step 8: the report against what the caller expects: REPORT_DATA ('snp.report-data') and the SNP policy ('snp.policy.*'). */

import type { AmdCertInfo, SnpProduct, SnpReportFields } from '../../../formats/index.ts';
import { bytesEqual } from '../../../util/text-codec.ts';
import type { Check } from '../../types.ts';
import { checkSnpPolicy, type SnpPolicy } from '../policy.ts';
import { fail, hex, pass } from './common.ts';

export function checkReportData(r: SnpReportFields, expected: Uint8Array | undefined, checks: Check[]): void {
  if (!expected) return;
  const ok = bytesEqual(expected, r.reportData);
  checks.push(
    (ok ? pass : fail)(
      'snp.report-data',
      ok ? 'REPORT_DATA matches' : `REPORT_DATA ${hex(r.reportData)} ≠ expected ${hex(expected)}`,
    ),
  );
}

export function checkPolicy(
  r: SnpReportFields,
  policy: SnpPolicy | undefined,
  tcbProduct: SnpProduct | undefined,
  info: AmdCertInfo,
  checks: Check[],
): void {
  checks.push(
    ...checkSnpPolicy(r, policy ?? {}, tcbProduct, info.cspId !== undefined ? { cspId: info.cspId } : {}),
  );
}
