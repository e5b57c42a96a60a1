/**
 * Wiring of the real providers into the host handler (parent side): the CPU TEE (C/F), the session-key
 * Attester (C), the CPU evidence verifiers (C: SEV-SNP, F: TDX) and NVIDIA GPUs (G).
 * Used by `wasmvm-tee run` and by the service (D).
 */
import { readFileSync } from 'node:fs';
import {
  Attester,
  type CpuEvidence,
  collectGpuEvidence,
  detectTee,
  type GpuEvidence,
  probeGpus,
  type TeeProvider,
} from '../tee/index.ts';
import {
  flattenVerdict,
  rimsFromReferenceValues,
  type SnpPolicy,
  type TdxPolicy,
  type VerifyAzureOptions,
  type VerifyTdxOptions,
  verifyAzureEvidence,
  verifyGpuEvidence,
  verifyGpuEvidenceWithRims,
  verifySnpReport,
  verifyTdxQuote,
} from '../verify/index.ts';
import { HostError } from './errors.ts';
import type { GpuAttestationProvider, HostHandlerDeps } from './handler.ts';

/** CPU verifier for the handler: SEV-SNP against pinned AMD roots (or the local simulated root), TDX. */
export function cpuVerifier(
  tee?: TeeProvider,
  o: { tdxCollateral?: VerifyTdxOptions['collateral'] } = {},
): NonNullable<HostHandlerDeps['verifyCpu']> {
  return async (
    ev: CpuEvidence,
    expectedReportData: Uint8Array,
    opts: { allowSimulated: boolean; snpPolicy?: SnpPolicy; tdxPolicy?: TdxPolicy },
  ) => {
    // A simulated root is trusted only when the policy allows simulation AND it is our own provider's
    // (duck-typed: a provider exposing rootPem(); for TDX also collateral(), when the provider has one).
    const t = tee as { rootPem?: () => Promise<string>; collateral?: () => Promise<unknown> } | undefined;
    const trust: string[] = [];
    if (ev.simulated && opts.allowSimulated && t?.rootPem) trust.push(await t.rootPem.call(tee));
    if (ev.kind === 'sev-snp') {
      return verifySnpReport(ev.report, {
        ...(ev.certs ? { certs: ev.certs } : {}),
        ...(ev.auxblob ? { auxblob: ev.auxblob } : {}),
        expectedReportData,
        ...(trust.length ? { trustSimulatedRoots: trust } : {}),
        ...(opts.snpPolicy ? { policy: opts.snpPolicy } : {}),
      });
    }
    if (ev.kind === 'azure-sev-snp' || ev.kind === 'azure-tdx') {
      // The vTPM quote's qualifyingData carries the 64 bytes; the hardware report binds the AK.
      let doc: unknown;
      try {
        doc = JSON.parse(new TextDecoder().decode(ev.report));
      } catch {
        doc = undefined;
      }
      const ao: VerifyAzureOptions = { nonce: expectedReportData };
      if (o.tdxCollateral) ao.tdxCollateral = o.tdxCollateral;
      return verifyAzureEvidence(doc, ao);
    }
    const vo: VerifyTdxOptions = { expectedReportData };
    if (opts.tdxPolicy) vo.policy = opts.tdxPolicy;
    if (trust.length) vo.trustSimulatedRoots = trust;
    if (o.tdxCollateral) vo.collateral = o.tdxCollateral;
    else if (ev.simulated && opts.allowSimulated && t?.collateral) {
      vo.collateral = (await t.collateral.call(tee)) as NonNullable<VerifyTdxOptions['collateral']>;
    }
    return verifyTdxQuote(ev.report, vo);
  };
}

/** NVIDIA GPU provider through NVML (G); undefined + the reason when there is no usable GPU. */
export async function nvidiaGpuProvider(): Promise<{ gpu?: GpuAttestationProvider; reason?: string }> {
  let probe: Awaited<ReturnType<typeof probeGpus>>;
  try {
    probe = await probeGpus();
  } catch (e) {
    return { reason: (e as Error).message };
  }
  if (!probe.available) return { reason: probe.reason ?? probe.code ?? 'no GPU' };
  return {
    gpu: {
      description: `NVIDIA GPU via NVML (${probe.gpus.length} GPU(s), driver ${probe.driverVersion ?? '?'})`,
      async collect(index, nonce) {
        const [ev] = await collectGpuEvidence(nonce, { index });
        if (!ev) throw new HostError('NO_GPU_EVIDENCE', `no evidence for GPU ${index}`);
        return { evidence: ev as unknown as Record<string, unknown>, simulated: false, arch: ev.arch };
      },
      async verify(evidence, nonce, opts) {
        // RIMs configured (policy gpu.referenceValues.rims): appraise against them (issue 19)
        const rims = rimsFromReferenceValues(opts.referenceValues);
        // an entry that is not XML is a file path (docs/reference-values.md)
        if (rims)
          rims.rims = rims.rims.map((r) => (r.trimStart().startsWith('<') ? r : readFileSync(r, 'utf8')));
        if (rims)
          return flattenVerdict(
            await verifyGpuEvidenceWithRims(evidence as unknown as GpuEvidence, { nonce, ...rims }),
          );
        return verifyGpuEvidence(evidence as unknown as GpuEvidence, {
          nonce,
          ...(opts.referenceValues ? { referenceValues: opts.referenceValues } : {}),
        });
      },
    },
  };
}

export interface DefaultDepsOptions {
  allowSimulated: boolean;
  /** Skip GPU probing (tests, no NVML). */
  noGpu?: boolean;
  /** Intel TDX collateral (TCB Info, QE identity, CRLs): a JSON file path or the object (docs/tdx.md). */
  tdxCollateral?: VerifyTdxOptions['collateral'];
}

/** Detect the TEE and GPUs and build handler deps: tee, signer (Attester), verifiers, GPU provider. */
export async function defaultHostDeps(
  o: DefaultDepsOptions,
): Promise<HostHandlerDeps & { teeError?: string }> {
  const deps: HostHandlerDeps & { teeError?: string } = {};
  try {
    const tee = await detectTee({ allowSimulated: o.allowSimulated });
    deps.tee = tee;
    deps.signer = new Attester(tee, { issuer: 'wasmvm-tee' });
    deps.verifyCpu = cpuVerifier(tee, o.tdxCollateral ? { tdxCollateral: o.tdxCollateral } : {});
  } catch (e) {
    deps.teeError = (e as Error).message;
  }
  if (!o.noGpu) {
    const g = await nvidiaGpuProvider();
    if (g.gpu) deps.gpu = g.gpu;
    if (g.reason) deps.gpuUnavailableReason = g.reason;
  }
  return deps;
}
