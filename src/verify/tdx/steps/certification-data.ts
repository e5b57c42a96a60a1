/** Step 3: the quote's certification data must be type 6 (QE report) wrapping type 5 (PCK chain). */
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import { TdxError } from '../errors.ts';
import { pemToDerList, type QeReportCertificationData, type TdxQuote } from '../layout.ts';
import { toX509 } from '../pki.ts';

export interface PckCertificationData {
  qc: QeReportCertificationData;
  /** PCK leaf first; at least two certificates. */
  pckChain: Certificate[];
  pck: Certificate;
  pckIssuer: Certificate;
}

/** The QE certification data and its PCK chain, or undefined after a failed check (verification stops). */
export function readCertificationData(q: TdxQuote, checks: Check[]): PckCertificationData | undefined {
  const qc = q.qeCert;
  if (qc?.inner.type !== 5) {
    checks.push({
      id: 'tdx.qe.certification-data',
      outcome: 'fail',
      detail: `certification data must be type 6 wrapping type 5 (PCK chain); found ${q.certificationType}${qc ? `/${qc.inner.type}` : ''}`,
    });
    return undefined;
  }
  let pckChain: Certificate[] = [];
  try {
    pckChain = toX509(pemToDerList(qc.inner.data));
  } catch (e) {
    const code = e instanceof TdxError ? `${e.code}: ` : '';
    checks.push({ id: 'tdx.pck.chain', outcome: 'fail', detail: `${code}${(e as Error).message}` });
    return undefined;
  }
  if (pckChain.length < 2) {
    checks.push({
      id: 'tdx.pck.chain',
      outcome: 'fail',
      detail: `PCK chain has ${pckChain.length} certificate(s)`,
    });
    return undefined;
  }
  return { qc, pckChain, pck: pckChain[0]!, pckIssuer: pckChain[1]! };
}
