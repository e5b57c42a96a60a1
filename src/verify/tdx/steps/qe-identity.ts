/**
 * Step 12: the TD_QE identity: signed by Intel SGX TCB Signing ('tdx.collateral.qe-identity.*'), and the
 * QE report matching it: MISCSELECT, ATTRIBUTES under their masks, MRSIGNER, ISVPRODID ('tdx.qe.identity').
 */
import { hexToBytes } from '../../../util/text-codec.ts';
import type { Check } from '../../types.ts';
import type { EnclaveIdentity, SignedJson, TdxCollateral } from '../collateral.ts';
import type { SgxReportBody } from '../layout.ts';
import { hex } from './common.ts';
import { checkSignedJson } from './signed-collateral.ts';
import type { CollateralTrust } from './tcb-info.ts';

/** The QE identity document (when present) and whether it verified and the QE report matches it. */
export async function checkQeIdentity(
  col: TdxCollateral,
  r: SgxReportBody,
  trust: CollateralTrust,
  checks: Check[],
): Promise<{ qeDoc: SignedJson<EnclaveIdentity> | undefined; qeOk: boolean }> {
  const qeDoc: SignedJson<EnclaveIdentity> | undefined = col.qeIdentity;
  if (!qeDoc) {
    checks.push({
      id: 'tdx.collateral.qe-identity',
      outcome: 'fail',
      detail: 'no QE identity in the collateral',
    });
    return { qeDoc, qeOk: false };
  }
  const sigOk = await checkSignedJson(
    checks,
    'tdx.collateral.qe-identity',
    'QE identity',
    qeDoc,
    col.qeIdentityIssuerChain ?? col.tcbInfoIssuerChain,
    trust.root,
    trust.now,
    trust.rootRevoked,
    trust.simulated,
  );
  const e = qeDoc.parsed;
  const problems: string[] = [];
  const shapeOk =
    typeof e === 'object' &&
    e !== null &&
    [e.miscselect, e.miscselectMask, e.attributes, e.attributesMask, e.mrsigner].every(
      (x) => typeof x === 'string' && /^[0-9a-fA-F]*$/.test(x),
    ) &&
    typeof e.isvprodid === 'number' &&
    Array.isArray(e.tcbLevels);
  if (!shapeOk) problems.push('malformed QE identity (fields missing or not hex)');
  else {
    if (e.id !== 'TD_QE') problems.push(`id '${e.id}' (expected TD_QE)`);
    const ms = Number.parseInt(e.miscselect, 16);
    const mm = Number.parseInt(e.miscselectMask, 16);
    if ((r.miscSelect & mm) >>> 0 !== ms >>> 0) problems.push('MISCSELECT does not match');
    // hex-only by the shape check above; an odd trailing digit is dropped (the length check then fails)
    const attr = hexToBytes(e.attributes);
    const am = hexToBytes(e.attributesMask);
    if (attr.length !== 16 || am.length !== 16 || r.attributes.some((x, i) => (x & am[i]!) !== attr[i]))
      problems.push('ATTRIBUTES do not match');
    if (hex(r.mrSigner) !== e.mrsigner.toLowerCase())
      problems.push(`MRSIGNER ${hex(r.mrSigner)} ≠ ${e.mrsigner}`);
    if (r.isvProdId !== e.isvprodid) problems.push(`ISVPRODID ${r.isvProdId} ≠ ${e.isvprodid}`);
  }
  checks.push({
    id: 'tdx.qe.identity',
    outcome: problems.length ? 'fail' : 'pass',
    detail: problems.length
      ? `QE report does not match the TD_QE identity: ${problems.join('; ')}`
      : `QE report matches TD_QE identity (MRSIGNER ${e.mrsigner.toLowerCase()}, ISVPRODID ${e.isvprodid}, ISVSVN ${r.isvSvn})`,
  });
  return { qeDoc, qeOk: sigOk && problems.length === 0 };
}
