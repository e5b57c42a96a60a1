/**
 * verifySnpReport: an AMD SEV-SNP ATTESTATION_REPORT against the pinned AMD roots (or an explicitly trusted
 * simulated root), with every check recorded (docs/attestation-formats-sev-snp.md lists the ids). The steps
 * live in ./steps/, one file each; `verifySnpReport` runs them in order.
 */
import 'reflect-metadata';
import { describeReport, reportProduct } from '../../formats/index.ts';
import type { Check, Verdict } from '../types.ts';
import { verdict } from '../types.ts';
import {
  checkChainLinks,
  checkEvidenceArk,
  checkIntermediateCrl,
  checkSimulated,
  failNoChain,
} from './steps/chain.ts';
import type { VerifySnpOptions } from './steps/common.ts';
import { collectEvidenceCerts } from './steps/evidence-certs.ts';
import { verifiedFields } from './steps/fields.ts';
import { meteredKds } from './steps/network.ts';
import { checkPolicy, checkReportData } from './steps/policy.ts';
import { checkProduct } from './steps/product.ts';
import { checkReportStructure } from './steps/report-structure.ts';
import { checkReportSignature } from './steps/signature.ts';
import { candidateChains, findChain } from './steps/trust-chains.ts';
import { obtainVek } from './steps/vek.ts';
import { checkVekIdentity, checkVekTcb } from './steps/vek-binding.ts';

export { clearVekCache } from './steps/cert-cache.ts';
export { SIMULATED_MARK, type SnpCerts, type VerifySnpOptions } from './steps/common.ts';

/** Verify an SEV-SNP report. Never throws for bad evidence: every problem is a failed check. */
export async function verifySnpReport(report: Uint8Array, opts: VerifySnpOptions = {}): Promise<Verdict> {
  const checks: Check[] = [];
  const now = opts.now ?? new Date();
  const fields: Record<string, unknown> = { verifiedAt: now.toISOString() };
  const done = () => verdict('sev-snp', checks, { fields });
  // 1. The report: parse, signature algorithm, reserved bytes.
  const r = checkReportStructure(report, checks);
  if (!r) return done();
  // Network only through `kds`, every request counted.
  const { kds, networkField } = meteredKds(opts.kds);
  // 2. Certificates from the evidence; 3. the VEK (given, evidence or KDS).
  const evCerts = collectEvidenceCerts(opts, checks);
  if (!evCerts) {
    fields.network = networkField();
    return done();
  }
  let product = reportProduct(r) ?? opts.product;
  const v = await obtainVek(r, opts.vek, evCerts, product, kds, checks);
  if (!v) {
    fields.report = describeReport(r, product);
    fields.network = networkField();
    return done();
  }
  // 4. Product line; 5. chain ARK → ASK/ASVK → VEK, its CRL, the SIMULATED marking.
  product = checkProduct(r, v.info, product, opts.product, checks);
  const { chains, evArk, simulatedVia } = await candidateChains(product, evCerts, opts);
  const { chosen, inter } = await findChain(chains, v.vek, v.vekIsVlek);
  checkEvidenceArk(evArk, chosen, checks);
  if (!chosen || !inter) failNoChain(v, evArk, product, checks);
  else {
    checkChainLinks(chosen, inter, v, now, checks);
    await checkIntermediateCrl(chosen, inter, v.vekIsVlek, opts, kds, now, checks);
  }
  checkSimulated(chosen, simulatedVia, evArk, v.vek, checks, fields);
  // 6. Report signature; 7. VEK ↔ report (hwID / CSP, TCB).
  const cached: string[] = [];
  const sigOk = await checkReportSignature(report, r, v.vek, v.vekKind, checks, opts.cache, cached);
  checkVekIdentity(r, v, checks);
  const tcbProduct = product ?? v.info.product;
  checkVekTcb(r, v, tcbProduct, checks);
  // 8. REPORT_DATA and policy.
  checkReportData(r, opts.expectedReportData, checks);
  checkPolicy(r, opts.policy, tcbProduct, v.info, checks);
  Object.assign(fields, verifiedFields(r, v, tcbProduct, chosen, simulatedVia, networkField()));
  if (!sigOk) fields.signatureValid = false;
  if (cached.length > 0) fields.cached = cached;
  return done();
}
