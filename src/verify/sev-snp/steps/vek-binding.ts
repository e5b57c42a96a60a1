/**
 * Step 7: the VEK belongs to this report: a VCEK's hwID equals CHIP_ID ('snp.vek.hwid'), a VLEK names its
 * CSP ('snp.vlek.csp'), and the certificate's SPLs equal REPORTED_TCB ('snp.vek.tcb').
 */

import {
  decodeSignerInfo,
  decodeTcb,
  type SnpProduct,
  type SnpReportFields,
} from '../../../formats/index.ts';
import { bytesEqual } from '../../../util/text-codec.ts';
import type { Check } from '../../types.ts';
import { fail, hex, pass, skip } from './common.ts';
import type { Vek } from './vek.ts';

export function checkVekIdentity(r: SnpReportFields, v: Vek, checks: Check[]): void {
  const { info } = v;
  const signer = decodeSignerInfo(r.signerInfo);
  if (v.vekKind === 'VCEK') {
    if (!info.hwId) checks.push(fail('snp.vek.hwid', 'the VCEK has no hwID extension'));
    else if (signer.maskChipKey || r.chipId.every((b) => b === 0))
      checks.push(skip('snp.vek.hwid', 'CHIP_ID masked (MASK_CHIP_KEY): cannot compare with the VCEK hwID'));
    else {
      const n = info.hwId.length; // 64, or 8 on Turin (the first 8 bytes of CHIP_ID)
      const ok = (n === 64 || n === 8) && bytesEqual(info.hwId, r.chipId.subarray(0, n));
      checks.push(
        (ok ? pass : fail)(
          'snp.vek.hwid',
          `VCEK hwID (${n} bytes, ${info.hwIdEncoding}) ${ok ? '=' : '≠'} CHIP_ID${n === 8 ? '[0..8]' : ''} ${hex(r.chipId.subarray(0, Math.min(n, 8)))}…`,
        ),
      );
    }
  } else {
    checks.push(
      info.cspId
        ? pass('snp.vlek.csp', `VLEK issued to CSP ${info.cspId}`)
        : fail('snp.vlek.csp', 'VLEK without a cspId extension'),
    );
  }
}

export function checkVekTcb(
  r: SnpReportFields,
  v: Vek,
  tcbProduct: SnpProduct | undefined,
  checks: Check[],
): void {
  const { info } = v;
  const reported = decodeTcb(r.reportedTcb, tcbProduct);
  const keys = [
    'blSPL',
    'teeSPL',
    'snpSPL',
    'ucodeSPL',
    ...(tcbProduct === 'Turin' ? ['fmcSPL'] : []),
  ] as const;
  const diffs = keys.filter(
    (k) =>
      (reported as unknown as Record<string, number>)[k] !==
      ((info.tcb as unknown as Record<string, number>)[k] ?? 0),
  );
  checks.push(
    diffs.length === 0
      ? pass(
          'snp.vek.tcb',
          `certificate SPLs = REPORTED_TCB (${keys.map((k) => `${k}=${(reported as unknown as Record<string, number>)[k]}`).join(' ')})`,
        )
      : fail(
          'snp.vek.tcb',
          `certificate SPLs ≠ REPORTED_TCB: ${diffs.map((k) => `${k} cert ${(info.tcb as unknown as Record<string, number>)[k]} vs report ${(reported as unknown as Record<string, number>)[k]}`).join(', ')}`,
        ),
  );
}
