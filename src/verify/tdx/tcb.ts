/**
 * TCB status evaluation for TDX quotes, after Intel's Quote Verification Library:
 *   1. platform: the first TCB level (in document order) whose 16 sgxtcbcomponents <= the PCK
 *      certificate's TCB components, pcesvn <= the PCK PCESVN, and tdxtcbcomponents <= TEE_TCB_SVN
 *      (bytes 0 and 1 are skipped when TEE_TCB_SVN[1] > 0: the TDX module is then judged by
 *      `tdxModuleIdentities`);
 *   2. TDX module: TEE_TCB_SVN[1] == 0 → MRSIGNERSEAM/SEAMATTRIBUTES vs `tdxModule`; otherwise the
 *      identity `TDX_<TEE_TCB_SVN[1] as 2 hex digits>`, the same mrsigner/attributes match, then the
 *      first of its levels with isvsvn <= TEE_TCB_SVN[0];
 *   3. QE: QE identity levels, the first with isvsvn <= the QE report ISVSVN;
 *   4. converge: an OutOfDate module or QE makes an UpToDate/SWHardeningNeeded platform OutOfDate
 *      and a ConfigurationNeeded/ConfigurationAndSWHardeningNeeded one OutOfDateConfigurationNeeded;
 *      a Revoked QE/module makes it Revoked. Advisory ids are the union of every level that matched.
 */

import type { SgxReportBody, TdReport } from '../../formats/index.ts';
import { toHex } from '../../formats/index.ts';
import { hexToBytes } from '../../util/text-codec.ts';
import type { EnclaveIdentity, TcbInfo, TcbStatus } from './collateral.ts';
import type { PckExtensions } from './pki.ts';

export interface TcbResult {
  ok: boolean;
  /** Set when ok. */
  status?: TcbStatus;
  platformStatus?: TcbStatus;
  moduleStatus?: TcbStatus;
  qeStatus?: TcbStatus;
  advisoryIds: string[];
  tcbDate?: string;
  /** Why evaluation failed (e.g. 'No matching TCB level found'). */
  error?: string;
  /** Step notes for check details. */
  notes: string[];
}

const hex = toHex;

/** The bytes of the leading whole hex pairs of `s` (decoding stops at the first pair that is not hex). */
function leadingHexBytes(s: string): Uint8Array {
  return hexToBytes(/^(?:[0-9a-fA-F]{2})*/.exec(s)![0]);
}

function maskedEqual(value: Uint8Array, expectedHex: string, maskHex: string): boolean {
  const exp = leadingHexBytes(expectedHex);
  const mask = leadingHexBytes(maskHex);
  if (exp.length !== value.length || mask.length !== value.length) return false;
  for (let i = 0; i < value.length; i++) if ((value[i]! & mask[i]!) !== exp[i]) return false;
  return true;
}

export function converge(platform: TcbStatus, other: TcbStatus | undefined): TcbStatus {
  if (other === 'Revoked') return 'Revoked';
  if (other === 'OutOfDate' || other === 'OutOfDateConfigurationNeeded') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded')
      return 'OutOfDateConfigurationNeeded';
  }
  return platform;
}

export function evaluateQeTcb(
  qe: EnclaveIdentity,
  report: SgxReportBody,
): { status?: TcbStatus; advisoryIds: string[]; error?: string } {
  for (const l of qe.tcbLevels) {
    if (l.tcb.isvsvn <= report.isvSvn) return { status: l.tcbStatus, advisoryIds: l.advisoryIDs ?? [] };
  }
  return { advisoryIds: [], error: `QE ISVSVN ${report.isvSvn} is below every QE identity TCB level` };
}

export function evaluateTdxTcb(
  tcb: TcbInfo,
  pck: PckExtensions,
  body: TdReport,
  qe: EnclaveIdentity,
  qeReport: SgxReportBody,
): TcbResult {
  const notes: string[] = [];
  const fail = (error: string): TcbResult => ({ ok: false, error, advisoryIds: [], notes });
  const teeTcbSvn = body.teeTcbSvn;
  const moduleVersion = teeTcbSvn[1]!;
  // Platform TCB level.
  let level: TcbInfo['tcbLevels'][number] | undefined;
  for (const l of tcb.tcbLevels) {
    const sgx = l.tcb.sgxtcbcomponents;
    if (!Array.isArray(sgx) || sgx.length !== 16) continue;
    if (!sgx.every((c, i) => c.svn <= pck.tcbComponents[i]!)) continue;
    if (l.tcb.pcesvn > pck.pceSvn) continue;
    const tdx = l.tcb.tdxtcbcomponents;
    if (!Array.isArray(tdx) || tdx.length !== 16) continue;
    const start = moduleVersion > 0 && tcb.tdxModuleIdentities ? 2 : 0;
    let okTdx = true;
    for (let i = start; i < 16; i++) if (tdx[i]!.svn > teeTcbSvn[i]!) okTdx = false;
    if (!okTdx) continue;
    level = l;
    break;
  }
  if (!level) return fail('No matching TCB level found');
  notes.push(`platform level ${level.tcbDate}: ${level.tcbStatus}`);
  const advisories = new Set<string>(level.advisoryIDs ?? []);
  let status: TcbStatus = level.tcbStatus;
  // TDX module.
  let moduleStatus: TcbStatus | undefined;
  if (moduleVersion === 0 || !tcb.tdxModuleIdentities) {
    const m = tcb.tdxModule;
    if (m) {
      if (!maskedEqual(body.mrSignerSeam, m.mrsigner, 'ff'.repeat(48)))
        return fail(`MRSIGNERSEAM ${hex(body.mrSignerSeam)} does not match tdxModule.mrsigner`);
      if (!maskedEqual(body.seamAttributes, m.attributes, m.attributesMask))
        return fail(`SEAMATTRIBUTES ${hex(body.seamAttributes)} do not match tdxModule.attributes`);
      notes.push('TDX module matches tdxModule');
    }
  } else {
    const id = `TDX_${moduleVersion.toString(16).padStart(2, '0').toUpperCase()}`;
    const ident = tcb.tdxModuleIdentities.find((x) => x.id.toUpperCase() === id);
    if (!ident) return fail(`TDX module identity ${id} not in TCB Info`);
    if (!maskedEqual(body.mrSignerSeam, ident.mrsigner, 'ff'.repeat(48)))
      return fail(`MRSIGNERSEAM does not match ${id}.mrsigner`);
    if (!maskedEqual(body.seamAttributes, ident.attributes, ident.attributesMask))
      return fail(`SEAMATTRIBUTES do not match ${id}.attributes`);
    const ml = ident.tcbLevels.find((l) => l.tcb.isvsvn <= teeTcbSvn[0]!);
    if (!ml) return fail(`TDX module ${id} ISVSVN ${teeTcbSvn[0]} is below every level`);
    moduleStatus = ml.tcbStatus;
    for (const a of ml.advisoryIDs ?? []) advisories.add(a);
    notes.push(`TDX module ${id} svn ${teeTcbSvn[0]}: ${ml.tcbStatus}`);
    status = converge(status, moduleStatus);
  }
  const platformStatus = level.tcbStatus;
  // QE.
  const q = evaluateQeTcb(qe, qeReport);
  if (!q.status) return fail(q.error!);
  for (const a of q.advisoryIds) advisories.add(a);
  notes.push(`QE isvsvn ${qeReport.isvSvn}: ${q.status}`);
  status = converge(status, q.status);
  const r: TcbResult = {
    ok: true,
    status,
    platformStatus,
    qeStatus: q.status,
    advisoryIds: [...advisories].sort(),
    tcbDate: level.tcbDate,
    notes,
  };
  if (moduleStatus) r.moduleStatus = moduleStatus;
  return r;
}
