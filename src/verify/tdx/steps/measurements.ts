/**
 * Step 8: the TD report against what the caller expects: REPORT_DATA ('tdx.report-data') and the policy's
 * measurement allow-lists ('tdx.policy.<field>': MRTD, RTMRs, MRCONFIGID, MROWNER, …).
 */
import type { Check } from '../../types.ts';
import type { TdReport } from '../layout.ts';
import { sameBytes } from '../pki.ts';
import { MEASUREMENT_FIELDS, type MeasurementField, type TdxPolicy } from '../policy.ts';
import { hex } from './common.ts';

function measurement(b: TdReport, k: MeasurementField): Uint8Array | undefined {
  switch (k) {
    case 'mrServiceTd':
      return b.mrServiceTd;
    case 'mrTd':
      return b.mrTd;
    case 'rtmr0':
      return b.rtmr[0];
    case 'rtmr1':
      return b.rtmr[1];
    case 'rtmr2':
      return b.rtmr[2];
    case 'rtmr3':
      return b.rtmr[3];
    case 'mrConfigId':
      return b.mrConfigId;
    case 'mrOwner':
      return b.mrOwner;
    case 'mrOwnerConfig':
      return b.mrOwnerConfig;
    case 'mrSeam':
      return b.mrSeam;
  }
}

export function checkReportData(body: TdReport, expected: Uint8Array | undefined, checks: Check[]): void {
  if (expected) {
    const ok = sameBytes(expected, body.reportData);
    checks.push({
      id: 'tdx.report-data',
      outcome: ok ? 'pass' : 'fail',
      detail: ok
        ? 'REPORT_DATA equals the expected 64 bytes'
        : `REPORT_DATA ${hex(body.reportData)} differs from the expected ${hex(expected)}`,
    });
  } else {
    checks.push({ id: 'tdx.report-data', outcome: 'skip', detail: 'no expected REPORT_DATA given' });
  }
}

export function checkMeasurements(body: TdReport, policy: TdxPolicy, checks: Check[]): void {
  for (const k of MEASUREMENT_FIELDS) {
    const allow = policy[k];
    if (!allow) continue;
    const m = measurement(body, k);
    if (!m) {
      checks.push({
        id: `tdx.policy.${k}`,
        outcome: 'fail',
        detail: `${k} is pinned by the policy but this quote has none (TDX 1.0 body; MRSERVICETD needs a TDX 1.5 quote)`,
      });
      continue;
    }
    const v = hex(m);
    const ok = allow.includes(v);
    checks.push({
      id: `tdx.policy.${k}`,
      outcome: ok ? 'pass' : 'fail',
      detail: ok ? `${k} ${v} is allowed` : `${k} ${v} is not in the allow-list (${allow.length} entries)`,
    });
  }
}
