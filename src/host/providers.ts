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
  type AppraiseGpuOptions,
  type CollateralBundle,
  createOcspChecker,
  flattenVerdict,
  ocspFromBundle,
  rimOcspFromBundle,
  rimOcspTargets,
  rimsFromReferenceValues,
  type SnpPolicy,
  type TdxPolicy,
  type VerifyAzureOptions,
  type VerifyGpuEvidenceOptions,
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

/**
 * Where the GPU verifier of the guest API (attest_gpu) takes the revocation status of the GPU device
 * chain (`nvidia.chain.revocation`) and of the RIM signing chains (`nvidia.rim.chain.revocation`)
 * from: an offline collateral bundle's nvidia-ocsp items, or NVIDIA's OCSP responder; with neither,
 * both are "not checked" (docs/reference-values.md, "Running fully offline").
 */
export interface GpuVerifierOptions {
  /**
   * An offline collateral bundle (`wasmvm-tee collateral fetch`): both chains' OCSP responses, read at
   * each verification's time, with no network. A missing, expired, badly signed, revoked or unknown
   * response FAILS the check (COLLATERAL_MISSING_ITEM, COLLATERAL_EXPIRED, COLLATERAL_SIGNATURE_INVALID,
   * OCSP_REVOKED, OCSP_UNKNOWN), unless the reference values' `allowNotChecked` names the check: then
   * it stays not checked and that chain's items are unused.
   */
  collateral?: CollateralBundle;
  /** Ask NVIDIA's OCSP responder (each certificate's AIA URL, else NVIDIA's) for both chains. */
  ocspOnline?: boolean;
  /** The network for `ocspOnline` (default: the global fetch). */
  fetch?: typeof fetch;
  /** The verification time, read at each call (default: the current time). */
  now?: () => Date;
  /** TESTS ONLY: a RIM trust anchor (PEM) instead of the pinned NVIDIA CoRIM signing root. */
  rimTrustRoot?: string;
}

const DEVICE_REVOCATION = 'nvidia.chain.revocation';
const RIM_REVOCATION = 'nvidia.rim.chain.revocation';

/**
 * The GPU verifier of the guest API (`GpuAttestationProvider.verify`): the evidence's SPDM signature,
 * device chain and nonce, and, when the policy's `gpu.referenceValues` names RIMs, the RIMs and the
 * appraisal of the measurements against them (a flat verdict for the GPU policy); otherwise the
 * plain-JSON reference-value comparison. Revocation of both chains as `o` says (GpuVerifierOptions).
 */
export function gpuEvidenceVerifier(
  o: GpuVerifierOptions = {},
): NonNullable<GpuAttestationProvider['verify']> {
  if (o.collateral && o.ocspOnline)
    throw new HostError(
      'HOST_INVALID_ARGUMENT',
      'GPU revocation: a collateral bundle (offline) or the OCSP responder (online), not both',
    );
  return async (evidence, nonce, opts) => {
    const at = o.now?.() ?? new Date();
    const rv = opts.referenceValues;
    // RIMs configured (policy gpu.referenceValues.rims): appraise against them (issue 19)
    const rims = rimsFromReferenceValues(rv);
    const allow = Array.isArray(rv?.allowNotChecked) ? rv.allowNotChecked.map(String) : [];
    const net = o.fetch ?? fetch;
    // a check the reference values allow to stay not checked leaves that chain's bundle items unused,
    // as `wasmvm-tee verify --collateral` does
    const ocsp: VerifyGpuEvidenceOptions['ocsp'] = o.ocspOnline
      ? createOcspChecker({ fetch: net, now: at })
      : o.collateral && !allow.includes(DEVICE_REVOCATION)
        ? ocspFromBundle(o.collateral, at)
        : undefined;
    const rimOcsp: AppraiseGpuOptions['rimOcsp'] = o.ocspOnline
      ? createOcspChecker({ fetch: net, now: at, targets: rimOcspTargets })
      : o.collateral && !allow.includes(RIM_REVOCATION)
        ? rimOcspFromBundle(o.collateral, at)
        : undefined;
    const ev = evidence as unknown as GpuEvidence;
    if (rims) {
      // an entry that is not XML is a file path (docs/reference-values.md)
      const xml = rims.rims.map((r) => (r.trimStart().startsWith('<') ? r : readFileSync(r, 'utf8')));
      return flattenVerdict(
        await verifyGpuEvidenceWithRims(ev, {
          rims: xml,
          allowNotChecked: rims.allowNotChecked,
          nonce,
          now: at,
          ...(ocsp ? { ocsp } : {}),
          ...(rimOcsp ? { rimOcsp } : {}),
          ...(o.rimTrustRoot ? { rimTrustRoot: o.rimTrustRoot } : {}),
        }),
      );
    }
    return verifyGpuEvidence(ev, {
      nonce,
      now: at,
      ...(rv ? { referenceValues: rv } : {}),
      ...(ocsp ? { ocsp } : {}),
    });
  };
}

/** NVIDIA GPU provider through NVML (G); undefined + the reason when there is no usable GPU. */
export async function nvidiaGpuProvider(
  o: GpuVerifierOptions = {},
): Promise<{ gpu?: GpuAttestationProvider; reason?: string }> {
  const verify = gpuEvidenceVerifier(o);
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
      verify,
    },
  };
}

export interface DefaultDepsOptions {
  allowSimulated: boolean;
  /** Skip GPU probing (tests, no NVML). */
  noGpu?: boolean;
  /** Intel TDX collateral (TCB Info, QE identity, CRLs): a JSON file path or the object (docs/tdx.md). */
  tdxCollateral?: VerifyTdxOptions['collateral'];
  /** Revocation of the GPU device and RIM signing chains for attest_gpu (GpuVerifierOptions). */
  gpuCollateral?: CollateralBundle;
  /** Ask NVIDIA's OCSP responder for them instead (network). */
  gpuOcspOnline?: boolean;
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
    const g = await nvidiaGpuProvider({
      ...(o.gpuCollateral ? { collateral: o.gpuCollateral } : {}),
      ...(o.gpuOcspOnline ? { ocspOnline: true } : {}),
    });
    if (g.gpu) deps.gpu = g.gpu;
    if (g.reason) deps.gpuUnavailableReason = g.reason;
  }
  return deps;
}
