/**
 * Intel TDX quote verification (DCAP, quote v4/v5, ECDSA P-256 attestation key).
 * Every step is a Check with a stable id; see docs/tdx.md for the list. The steps live in ./steps/,
 * one file each; `verifyInner` runs them in the order of the DCAP checklist.
 */
import type { VerifierCache } from '../cache.ts';
import type { Check, Verdict } from '../types.ts';
import { verdict } from '../types.ts';
import type { TdxCollateral } from './collateral.ts';
import { TdxError } from './errors.ts';
import type { TdxPolicy } from './policy.ts';
import { readCertificationData } from './steps/certification-data.ts';
import { resolveCollateral } from './steps/collateral.ts';
import type { StepOutput } from './steps/common.ts';
import { checkPckCrl, checkRootCrl } from './steps/crl.ts';
import { checkMeasurements, checkReportData } from './steps/measurements.ts';
import { checkPckChain } from './steps/pck-chain.ts';
import { readPolicy } from './steps/policy.ts';
import { checkQeIdentity } from './steps/qe-identity.ts';
import { checkQeReport } from './steps/qe-report.ts';
import { checkQuoteSignature } from './steps/quote-signature.ts';
import { checkQuoteStructure } from './steps/quote-structure.ts';
import { checkTcbInfo } from './steps/tcb-info.ts';
import { checkTcbStatus } from './steps/tcb-status.ts';
import { checkTdAttributes } from './steps/td-attributes.ts';
import { selectTrustRoot } from './steps/trust-root.ts';

export { INTEL_QE_VENDOR_ID, SIMULATED_MARK } from './steps/common.ts';
export { tdReportFields } from './steps/quote-structure.ts';

export interface VerifyTdxOptions {
  /** Verification time (certificate, CRL and collateral validity). Default: now. */
  now?: Date;
  /** Collateral (TCB Info, QE identity, CRLs, issuer chains), or a path to a bundle/file to load. */
  collateral?: TdxCollateral | string;
  /**
   * How a collateral path is loaded. Default: the file loader of ./collateral-fs.ts in Node (set when the
   * Node entry is loaded); none in browsers (a path then fails 'tdx.error').
   */
  loadCollateral?: (path: string) => TdxCollateral;
  policy?: TdxPolicy;
  /** When given, REPORT_DATA must equal it exactly (64 bytes). */
  expectedReportData?: Uint8Array;
  /**
   * Trust these SIMULATED roots (PEM or DER; the subject must contain 'SIMULATED'), e.g. the root of
   * src/tee/tdx/simulated.ts. Evidence chaining to one gets a loud 'tdx.simulated' check. Intel's pinned
   * root is always tried; a root with Intel's names can never be trusted this way.
   */
  trustSimulatedRoots?: ReadonlyArray<string | Uint8Array>;
  /** Accept any self-signed SIMULATED-named root that comes with the quote (testing only; loudly marked). */
  allowSimulated?: boolean;
  /**
   * Opt-in cache of verified facts (src/verify/cache.ts): the quote and QE report signatures verified
   * before (same bytes, same keys) are not verified again; those checks then say "cached" and
   * `fields.cached` lists them. Every other check runs on each call.
   */
  cache?: VerifierCache;
}

/**
 * Verify an Intel TDX quote. Never throws for bad input: a malformed quote is a failed
 * 'tdx.quote.format' check.
 */
export async function verifyTdxQuote(quote: Uint8Array, opts: VerifyTdxOptions = {}): Promise<Verdict> {
  const checks: Check[] = [];
  const fields: Record<string, unknown> = {};
  try {
    return await verifyInner(quote, opts, checks, fields);
  } catch (e) {
    checks.push({
      id: 'tdx.error',
      outcome: 'fail',
      detail: `verification aborted: ${e instanceof TdxError ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}`,
    });
    return verdict('tdx', checks, { fields });
  }
}

async function verifyInner(
  quote: Uint8Array,
  opts: VerifyTdxOptions,
  checks: Check[],
  fields: Record<string, unknown>,
): Promise<Verdict> {
  const cached: string[] = [];
  const done = () => {
    if (cached.length > 0) fields.cached = cached;
    return verdict('tdx', checks, { fields });
  };
  const out: StepOutput = { checks, fields };
  const now = opts.now ?? new Date();
  // 0. Policy; 1. quote structure and QE vendor.
  const policy = readPolicy(opts.policy, checks);
  if (!policy) return done();
  const q = checkQuoteStructure(quote, out);
  if (!q) return done();
  // 2. Quote signature over header ‖ body with the attestation key.
  const { attKeyOk } = await checkQuoteSignature(q, checks, opts.cache, cached);
  // 3. Certification data: QE report + PCK chain; 4. the root it must end at.
  const cert = readCertificationData(q, checks);
  if (!cert) return done();
  const { qc, pckChain, pck, pckIssuer } = cert;
  const trust = await selectTrustRoot(pckChain, opts, out);
  // 5. QE report signed by the PCK, binding the attestation key; 6. PCK chain, issuer, extensions.
  await checkQeReport(q, qc, pck, attKeyOk, checks, opts.cache, cached);
  const { issuerCn, ext } = await checkPckChain(pckChain, trust, now, out);
  // 7. TD attributes; 8. REPORT_DATA binding and measurements.
  checkTdAttributes(q, policy, checks);
  checkReportData(q.body, opts.expectedReportData, checks);
  checkMeasurements(q.body, policy, checks);
  // 9. Collateral: 10. CRLs, 11. TCB Info, 12. QE identity, 13. TCB status.
  const col = resolveCollateral(opts.collateral, policy, trust.simulated, checks, opts.loadCollateral);
  if (!col) return done();
  const rootRevoked = await checkRootCrl(col, trust.root, pckIssuer, issuerCn, now, checks);
  await checkPckCrl(col, pck, pckIssuer, issuerCn, now, checks);
  const collateralTrust = { root: trust.root, now, rootRevoked, simulated: trust.simulated };
  const { tcbDoc, tcbOk } = await checkTcbInfo(col, ext, collateralTrust, checks);
  const { qeDoc, qeOk } = await checkQeIdentity(col, qc.qeReport, collateralTrust, checks);
  checkTcbStatus(q, qc.qeReport, { tcbDoc, tcbOk, qeDoc, qeOk, ext }, policy, out);
  return done();
}
