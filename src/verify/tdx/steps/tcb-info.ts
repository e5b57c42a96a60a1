/**
 * Step 11: the TCB Info for the PCK's FMSPC: signed by Intel SGX TCB Signing ('tdx.collateral.tcb-info.*')
 * and applicable to this platform: TDX, version 3, same FMSPC and PCE-ID ('tdx.collateral.tcb-info.match').
 */
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import type { SignedJson, TcbInfo, TdxCollateral } from '../collateral.ts';
import type { PckExtensions } from '../pki.ts';
import { hex } from './common.ts';
import { checkSignedJson } from './signed-collateral.ts';

/** How collateral documents are trusted: the root, the verification time, the root CRL's revoked serials. */
export interface CollateralTrust {
  root: Certificate;
  now: Date;
  rootRevoked: Set<string> | undefined;
  simulated: boolean;
}

/** The TCB Info document (when present) and whether it verified and applies. */
export async function checkTcbInfo(
  col: TdxCollateral,
  ext: PckExtensions | undefined,
  trust: CollateralTrust,
  checks: Check[],
): Promise<{ tcbDoc: SignedJson<TcbInfo> | undefined; tcbOk: boolean }> {
  const fmspc = ext ? hex(ext.fmspc) : undefined;
  const tcbDoc: SignedJson<TcbInfo> | undefined = fmspc ? col.tcbInfos[fmspc] : undefined;
  if (!tcbDoc) {
    checks.push({
      id: 'tdx.collateral.tcb-info',
      outcome: 'fail',
      detail: `no TCB Info for FMSPC ${fmspc ?? '?'} in the collateral (has: ${Object.keys(col.tcbInfos).join(', ') || 'none'})`,
    });
    return { tcbDoc, tcbOk: false };
  }
  const sigOk = await checkSignedJson(
    checks,
    'tdx.collateral.tcb-info',
    'TCB Info',
    tcbDoc,
    col.tcbInfoIssuerChain,
    trust.root,
    trust.now,
    trust.rootRevoked,
    trust.simulated,
  );
  const t = tcbDoc.parsed;
  const problems: string[] = [];
  if (typeof t.fmspc !== 'string' || typeof t.pceId !== 'string' || !Array.isArray(t.tcbLevels))
    problems.push('malformed TCB Info (fmspc, pceId or tcbLevels missing)');
  else {
    if (t.id !== 'TDX') problems.push(`id '${t.id}' (expected TDX)`);
    if (t.version !== 3) problems.push(`version ${t.version} (expected 3)`);
    if (ext && t.fmspc.toLowerCase() !== hex(ext.fmspc))
      problems.push(`FMSPC ${t.fmspc} ≠ PCK ${hex(ext.fmspc)}`);
    if (ext && t.pceId.toLowerCase() !== hex(ext.pceId))
      problems.push(`PCE-ID ${t.pceId} ≠ PCK ${hex(ext.pceId)}`);
  }
  checks.push({
    id: 'tdx.collateral.tcb-info.match',
    outcome: problems.length ? 'fail' : 'pass',
    detail: problems.length
      ? `TCB Info does not apply: ${problems.join('; ')}`
      : `TCB Info v3 for TDX, FMSPC ${t.fmspc}, PCE-ID ${t.pceId}, evaluation data number ${t.tcbEvaluationDataNumber}`,
  });
  return { tcbDoc, tcbOk: sigOk && problems.length === 0 };
}
