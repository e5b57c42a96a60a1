/**
 * The hardware evidence steps: CPU evidence (SEV-SNP or TDX verifier by kind), the REPORT_DATA inside it,
 * GPU evidence (NVIDIA, nonce from the bound 64 bytes), and raw CPU evidence on its own (verifyEvidence).
 */
import {
  bytesToHex,
  type CpuEvidence,
  checkEvidenceShape,
  type EvidenceJson,
  evidenceFromJson,
  gpuNonceFor,
} from '../../binding/index.ts';
import { parseAzureEvidence, parseReport, parseTpmsAttest } from '../../formats/index.ts';
import { parseAzurePolicy } from '../azure/policy.ts';
import { type VerifyAzureOptions, verifyAzureEvidence } from '../azure/verify.ts';
import { type VerifyGpuEvidenceOptions, verifyGpuEvidenceList } from '../nvidia/index.ts';
import { ocspFromBundle } from '../reference/collateral-ocsp.ts';
import {
  snpCollateralFromBundle,
  tdxCollateralFromBundle,
  withCollateralChecks,
} from '../reference/collateral-vendors.ts';
import { verifySnpReport } from '../sev-snp/verify.ts';
import { parseTdxPolicy, parseTdxQuote, type VerifyTdxOptions, verifyTdxQuote } from '../tdx/index.ts';
import type { Check, Verdict } from '../types.ts';
import { verdict } from '../types.ts';
import { eq, fail, invalid, pass, skip, type VerifyExecutionOptions } from './common.ts';

export type Cpu = CpuEvidence;

export async function verifyCpu(
  cpu: Cpu,
  expectedReportData: Uint8Array,
  opts: VerifyExecutionOptions,
): Promise<Verdict> {
  if (cpu.kind === 'sev-snp') {
    const roots = opts.trustSimulatedRoot;
    const list = roots === undefined ? [] : Array.isArray(roots) ? roots : [roots as string | Uint8Array];
    const o: Parameters<typeof verifySnpReport>[1] = { expectedReportData, trustSimulatedRoots: list };
    if (cpu.certs) o.certs = cpu.certs;
    if (cpu.auxblob) o.auxblob = cpu.auxblob;
    if (opts.now) o.now = opts.now;
    if (opts.policy?.snp) o.policy = opts.policy.snp;
    if (opts.allowSimulated) o.allowSimulated = true;
    if (opts.kds) o.kds = opts.kds;
    if (opts.crl) o.crl = opts.crl;
    if (opts.allowStaleCrl) o.allowStaleCrl = true;
    if (opts.cache) o.cache = opts.cache;
    if (opts.collateral && !cpu.simulated) {
      const b = await snpCollateralFromBundle(opts.collateral, cpu.report, {
        at: opts.now ?? new Date(),
        ...(cpu.certs ? { certs: cpu.certs } : {}),
        ...(cpu.auxblob ? { auxblob: cpu.auxblob } : {}),
      });
      if (b.vek) o.vek = b.vek;
      if (b.crl) o.crl = b.crl;
      return withCollateralChecks(await verifySnpReport(cpu.report, o), b.checks, opts.allowNotChecked);
    }
    return verifySnpReport(cpu.report, o);
  }
  if (cpu.kind === 'tdx') {
    const roots = opts.trustSimulatedRoot;
    const list = roots === undefined ? [] : Array.isArray(roots) ? roots : [roots as string | Uint8Array];
    const o: VerifyTdxOptions = { expectedReportData, trustSimulatedRoots: list };
    if (opts.allowSimulated) o.allowSimulated = true;
    if (opts.now) o.now = opts.now;
    if (opts.tdxCollateral) o.collateral = opts.tdxCollateral;
    if (opts.cache) o.cache = opts.cache;
    let colChecks: Check[] | undefined;
    if (opts.collateral && !cpu.simulated) {
      const b = await tdxCollateralFromBundle(opts.collateral, cpu.report, opts.now ?? new Date());
      if (b.collateral) o.collateral = b.collateral;
      colChecks = b.checks;
    }
    if (opts.policy?.tdx !== undefined) {
      try {
        o.policy = parseTdxPolicy(opts.policy.tdx);
      } catch (e) {
        return verdict('tdx', [fail('tdx.policy', `bad TDX policy: ${(e as Error).message}`)]);
      }
    }
    const v = await verifyTdxQuote(cpu.report, o);
    return colChecks ? withCollateralChecks(v, colChecks, opts.allowNotChecked) : v;
  }
  if (cpu.kind === 'azure-sev-snp' || cpu.kind === 'azure-tdx') {
    // The quote's extraData carries the bound 64 bytes; the hardware REPORT_DATA holds the claims hash.
    const o: VerifyAzureOptions = { nonce: expectedReportData };
    try {
      o.policy = parseAzurePolicy(opts.policy?.azure);
      if (opts.policy?.snp) o.snpPolicy = opts.policy.snp;
      if (opts.policy?.tdx !== undefined) o.tdxPolicy = parseTdxPolicy(opts.policy.tdx);
    } catch (e) {
      return verdict(cpu.kind, [fail('azure.policy', `bad policy: ${(e as Error).message}`)]);
    }
    if (opts.now) o.now = opts.now;
    if (opts.kds) o.kds = opts.kds;
    if (opts.tdxCollateral) o.tdxCollateral = opts.tdxCollateral;
    if (opts.allowMissingTdxCollateral) o.allowMissingTdxCollateral = true;
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(cpu.report));
    } catch (e) {
      return verdict(cpu.kind, [
        fail('azure.evidence.format', `evidence report is not JSON: ${(e as Error).message}`),
      ]);
    }
    const v = await verifyAzureEvidence(doc, o);
    if (v.kind !== cpu.kind)
      return {
        ...v,
        ok: false,
        checks: [...v.checks, fail('azure.tee', `evidence kind ${cpu.kind}, the HCL report is ${v.kind}`)],
      };
    return v;
  }
  return verdict('unknown', [
    fail('cpu.kind', `unknown evidence kind '${String((cpu as { kind: unknown }).kind)}'`),
  ]);
}

/** REPORT_DATA inside the CPU evidence (64 bytes), without verifying it. */
export function evidenceReportData(cpu: Cpu): Uint8Array | undefined {
  try {
    if (cpu.kind === 'sev-snp') return parseReport(cpu.report).reportData;
    if (cpu.kind === 'azure-sev-snp' || cpu.kind === 'azure-tdx') {
      const doc = parseAzureEvidence(JSON.parse(new TextDecoder().decode(cpu.report)));
      return parseTpmsAttest(doc.quoteMessage).extraData;
    }
    return parseTdxQuote(cpu.report).body.reportData;
  } catch {
    return undefined;
  }
}

export async function verifyGpu(
  gpu: unknown[],
  bindingData: Uint8Array,
  opts: VerifyExecutionOptions,
): Promise<Verdict> {
  // GPU nonce = gpuNonceFor(64 bytes): gpuBindingData(claim) for executions, the session REPORT_DATA for
  // GetAttestation answers (src/verify/nvidia/nonce.ts).
  const o: VerifyGpuEvidenceOptions = { nonce: gpuNonceFor(bindingData) };
  if (opts.now) o.now = opts.now;
  if (opts.policy?.gpuReferenceValues) o.referenceValues = opts.policy.gpuReferenceValues;
  // Simulated roots (tests): the same list as for the CPU (a GPU root among them is used), or any
  // SIMULATED-named self-signed root with allowSimulated.
  if (opts.trustSimulatedRoot !== undefined) o.trustSimulatedRoot = opts.trustSimulatedRoot;
  if (opts.allowSimulated) o.allowSimulated = true;
  // An offline bundle: the device chain's revocation from its nvidia-ocsp items (a missing one fails
  // nvidia.chain.revocation, naming the certificate), unless that check may stay not checked.
  if (opts.collateral && !opts.allowNotChecked?.includes('nvidia.chain.revocation'))
    o.ocsp = ocspFromBundle(opts.collateral, opts.now ?? new Date());
  return verifyGpuEvidenceList(gpu as Parameters<typeof verifyGpuEvidenceList>[0], o);
}

/**
 * Verify raw CPU evidence (`wasmvm-tee attest --json` output, or its `evidence` member) against the
 * REPORT_DATA it must carry. Throws a BindingError naming the field for malformed input.
 */
export async function verifyEvidence(
  file: unknown,
  expectedReportData: Uint8Array,
  opts: VerifyExecutionOptions = {},
): Promise<Verdict> {
  const o = file as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw invalid('evidence', 'not an object');
  const evJson = (o.evidence ?? o) as EvidenceJson;
  if (o.evidence !== undefined) {
    for (const k of Object.keys(o))
      if (!['provider', 'reportData', 'evidence'].includes(k)) throw invalid(k, 'unknown field');
    if (o.reportData !== undefined && o.reportData !== bytesToHex(expectedReportData))
      return verdict('evidence', [
        fail(
          'binding.report-data',
          `reportData ${String(o.reportData)} ≠ expected ${bytesToHex(expectedReportData)}`,
        ),
      ]);
  }
  checkEvidenceShape(evJson, 'evidence');
  const cpu = evidenceFromJson(evJson);
  const checks: Check[] = [];
  const inEv = evidenceReportData(cpu);
  checks.push(
    inEv && eq(inEv, expectedReportData)
      ? pass('binding.evidence-report-data', 'evidence REPORT_DATA = the expected one')
      : fail(
          'binding.evidence-report-data',
          `evidence REPORT_DATA ${inEv ? bytesToHex(inEv) : '(unreadable)'} ≠ expected ${bytesToHex(expectedReportData)}`,
        ),
  );
  if (opts.freshness === 'skip')
    checks.push(skip('binding.nonce', 'freshness NOT checked (--no-nonce): this evidence may be old'));
  const part = await verifyCpu(cpu, expectedReportData, opts);
  const sim = part.fields?.simulated === true;
  if (sim !== cpu.simulated)
    checks.push(
      fail(
        'binding.tee',
        `evidence.simulated ${cpu.simulated} ≠ the chain (${sim ? 'simulated' : 'vendor'} root)`,
      ),
    );
  return verdict('evidence', checks, { fields: { simulated: sim || cpu.simulated }, parts: [part] });
}
