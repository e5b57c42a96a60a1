/**
 * Step 3: the VCEK/VLEK that signed the report: given, from the evidence, or fetched from AMD KDS
 * ('snp.vek.present'), and of the kind SIGNER_INFO names ('snp.vek.kind').
 */
import type { AmdCertInfo } from '../../../formats/index.ts';
import {
  decodeSignerInfo,
  decodeTcb,
  type SnpProduct,
  type SnpReportFields,
} from '../../../formats/index.ts';
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import { cn } from '../chain.ts';
import { fetchVcek, type KdsOptions } from '../kds.ts';
import { parseVek } from './cert-cache.ts';
import { fail, pass, type SnpCerts } from './common.ts';

export interface Vek {
  vek: Certificate;
  info: AmdCertInfo;
  vekKind: 'VCEK' | 'VLEK';
  vekIsVlek: boolean;
  /** Where it came from ('given', 'evidence', 'AMD KDS (Milan)', …). */
  vekSource: string;
}

/** The VEK, or undefined after a failed 'snp.vek.present' check (verification stops). */
export async function obtainVek(
  r: SnpReportFields,
  given: Uint8Array | string | undefined,
  evCerts: SnpCerts,
  product: SnpProduct | undefined,
  kds: KdsOptions | undefined,
  checks: Check[],
): Promise<Vek | undefined> {
  const signer = decodeSignerInfo(r.signerInfo);
  let vekDer: Uint8Array | string | undefined =
    given ?? (signer.signingKey === 'VLEK' ? (evCerts.vlek ?? evCerts.vcek) : (evCerts.vcek ?? evCerts.vlek));
  let vekSource = given ? 'given' : vekDer ? 'evidence' : '';
  if (!vekDer && signer.signingKey === 'VCEK' && kds) {
    const candidates: SnpProduct[] = product ? [product] : ['Milan', 'Genoa'];
    for (const p of candidates) {
      try {
        vekDer = await fetchVcek(p, r.chipId, decodeTcb(r.reportedTcb, p), kds);
        vekSource = `AMD KDS (${p})`;
        break;
      } catch (e) {
        vekSource = `AMD KDS failed: ${(e as Error).message}`;
      }
    }
  }
  if (!vekDer) {
    checks.push(
      fail(
        'snp.vek.present',
        signer.signingKey === 'none'
          ? 'SIGNER_INFO.SIGNING_KEY = none: the report is not signed'
          : `no ${signer.signingKey} certificate in the evidence${vekSource ? ` (${vekSource})` : ''}; pass one, or allow KDS retrieval`,
      ),
    );
    return undefined;
  }
  let vek: Certificate;
  let info: AmdCertInfo;
  try {
    ({ vek, info } = parseVek(vekDer));
    checks.push(
      pass('snp.vek.present', `${cn(vek.subject)} from ${vekSource}, product ${info.productName ?? '?'}`),
    );
  } catch (e) {
    checks.push(fail('snp.vek.present', `cannot parse the VCEK/VLEK: ${(e as Error).message}`));
    return undefined;
  }
  const vekIsVlek = cn(vek.subject) === 'SEV-VLEK' || info.cspId !== undefined;
  const vekKind = vekIsVlek ? 'VLEK' : 'VCEK';
  checks.push(
    signer.signingKey === vekKind
      ? pass('snp.vek.kind', `SIGNER_INFO.SIGNING_KEY = ${signer.signingKey}, certificate is a ${vekKind}`)
      : fail(
          'snp.vek.kind',
          `SIGNER_INFO.SIGNING_KEY = ${signer.signingKey} but the certificate is a ${vekKind}`,
        ),
  );
  return { vek, info, vekKind, vekIsVlek, vekSource };
}
