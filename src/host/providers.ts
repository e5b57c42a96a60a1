/**
 * Wiring of the real providers into the host handler (parent side): the CPU TEE (C/F), the session-key
 * Attester (C), the CPU evidence verifiers (C: SEV-SNP, F: TDX) and NVIDIA GPUs (G).
 * Used by `wasmvm-tee run` and by the service (D).
 */
import { Attester, detectTee } from '../tee/index.ts';
import { collectGpuEvidence, type GpuEvidence, probeGpus } from '../tee/nvidia/index.ts';
import type { CpuEvidence, TeeProvider } from '../tee/types.ts';
import { type Verdict, verifyGpuEvidence, verifySnpReport, verifyTdxQuote } from '../verify/index.ts';
import type { GpuAttestationProvider, HostHandlerDeps } from './handler.ts';

/** CPU verifier for the handler: SEV-SNP against pinned AMD roots (or the local simulated root), TDX. */
export function cpuVerifier(tee?: TeeProvider): NonNullable<HostHandlerDeps['verifyCpu']> {
  return async (
    ev: CpuEvidence,
    expectedReportData: Uint8Array,
    opts: { allowSimulated: boolean },
  ): Promise<Verdict> => {
    if (ev.kind === 'sev-snp') {
      const trust: string[] = [];
      // The simulated root is trusted only when the policy allows simulation AND it is our own provider's.
      const rootPem = (tee as { rootPem?: () => Promise<string> } | undefined)?.rootPem;
      if (ev.simulated && opts.allowSimulated && rootPem) trust.push(await rootPem.call(tee));
      return verifySnpReport(ev.report, {
        ...(ev.certs ? { certs: ev.certs } : {}),
        ...(ev.auxblob ? { auxblob: ev.auxblob } : {}),
        expectedReportData,
        ...(trust.length ? { trustSimulatedRoots: trust } : {}),
      });
    }
    return verifyTdxQuote(ev.report, { expectedReportData });
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
        if (!ev) throw new Error(`no evidence for GPU ${index}`);
        return { evidence: ev as unknown as Record<string, unknown>, simulated: false, arch: ev.arch };
      },
      async verify(evidence, nonce, opts) {
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
    deps.verifyCpu = cpuVerifier(tee);
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
