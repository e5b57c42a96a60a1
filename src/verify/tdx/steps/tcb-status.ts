/**
 * Step 13: the TCB level of platform, TDX module and QE from the verified TCB Info and QE identity
 * ('tdx.tcb.level'), its status against the accepted list ('tdx.tcb.status') and rejected advisories.
 */
import type { Check } from '../../types.ts';
import type { EnclaveIdentity, SignedJson, TcbInfo } from '../collateral.ts';
import type { SgxReportBody, TdxQuote } from '../layout.ts';
import type { PckExtensions } from '../pki.ts';
import { DEFAULT_ACCEPTED_TCB_STATUSES, type TdxPolicy } from '../policy.ts';
import { evaluateTdxTcb, type TcbResult } from '../tcb.ts';
import type { StepOutput } from './common.ts';

export interface TcbInputs {
  tcbDoc: SignedJson<TcbInfo> | undefined;
  tcbOk: boolean;
  qeDoc: SignedJson<EnclaveIdentity> | undefined;
  qeOk: boolean;
  ext: PckExtensions | undefined;
}

export function checkTcbStatus(
  q: TdxQuote,
  qeReport: SgxReportBody,
  inputs: TcbInputs,
  policy: TdxPolicy,
  out: StepOutput,
): void {
  const { checks, fields } = out;
  const { tcbDoc, qeDoc, ext } = inputs;
  if (!(tcbDoc && qeDoc && ext && inputs.tcbOk && inputs.qeOk)) {
    checks.push({
      id: 'tdx.tcb.level',
      outcome: 'fail',
      detail: 'TCB status not evaluated: the TCB Info / QE identity collateral is missing or did not verify',
    });
    return;
  }
  let res: TcbResult;
  try {
    res = evaluateTdxTcb(tcbDoc.parsed, ext, q.body, qeDoc.parsed, qeReport);
  } catch (e) {
    res = { ok: false, error: `malformed collateral: ${(e as Error).message}`, advisoryIds: [], notes: [] };
  }
  fields.tcb = {
    status: res.status ?? null,
    platformStatus: res.platformStatus ?? null,
    tdxModuleStatus: res.moduleStatus ?? null,
    qeStatus: res.qeStatus ?? null,
    advisoryIds: res.advisoryIds,
    tcbDate: res.tcbDate ?? null,
    error: res.error ?? null,
  };
  if (!res.ok) {
    checks.push({ id: 'tdx.tcb.level', outcome: 'fail', detail: res.error! });
    return;
  }
  checks.push({ id: 'tdx.tcb.level', outcome: 'pass', detail: res.notes.join('; ') });
  checkAcceptedStatus(res, policy, checks);
}

function checkAcceptedStatus(res: TcbResult, policy: TdxPolicy, checks: Check[]): void {
  const accepted = policy.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES;
  const ok = accepted.includes(res.status!);
  checks.push({
    id: 'tdx.tcb.status',
    outcome: ok ? 'pass' : 'fail',
    detail: `TCB status ${res.status}${res.advisoryIds.length ? ` (advisories: ${res.advisoryIds.join(', ')})` : ''}; accepted: ${accepted.join(', ')}`,
  });
  if (policy.rejectAdvisories?.length) {
    const bad = res.advisoryIds.filter((a) => policy.rejectAdvisories!.includes(a));
    checks.push({
      id: 'tdx.tcb.advisories',
      outcome: bad.length ? 'fail' : 'pass',
      detail: bad.length ? `rejected advisories present: ${bad.join(', ')}` : 'no rejected advisory applies',
    });
  }
}
