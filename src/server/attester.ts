/**
 * Adapter from src/tee's Attester (and, on request, NVIDIA GPU evidence from src/tee/nvidia) to the
 * service's ExecutionAttester interface.
 */
import type {
  AttestationEnvelope,
  AttestationMode,
  ClaimDraft,
  ExecutionClaim,
  SessionKeyJson,
} from '../binding/index.ts';
import { Attester, type AttesterOptions, type SealKeyLookup, type TeeProvider } from '../tee/index.ts';
import type { ExecutionAttester, TeeInfo } from './backend.ts';
import { ServiceError } from './errors.ts';

type GpuCollector = (reportData: Uint8Array) => Promise<unknown[]>;

/** NVIDIA evidence via NVML, nonce = gpuNonceFor(the 64 bytes given: gpuBindingData(claim) for executions, the session REPORT_DATA for GetAttestation). Loaded on first use. */
async function nvmlCollector(): Promise<GpuCollector> {
  const nv = await import('../tee/index.ts');
  const probe = await nv.probeGpus();
  if (!probe.available)
    throw new ServiceError(
      'GPU_UNAVAILABLE',
      `no GPU evidence on this server: ${probe.reason ?? probe.code ?? 'no GPU'}`,
    );
  return async (reportData) => nv.collectGpuEvidence(nv.gpuNonceFor(reportData));
}

export class TeeAttester implements ExecutionAttester {
  readonly tee: TeeInfo;
  readonly attester: Attester;
  private gpu?: Promise<GpuCollector>;
  private spki?: Uint8Array;

  constructor(
    readonly provider: TeeProvider,
    opts: AttesterOptions & { gpuCollector?: GpuCollector } = {},
  ) {
    this.tee = { kind: provider.kind, simulated: provider.simulated, description: provider.description };
    this.attester = new Attester(provider, opts);
    if (opts.gpuCollector) this.gpu = Promise.resolve(opts.gpuCollector);
  }

  get serverBuildSha256(): string | undefined {
    return this.attester.serverBuildSha256;
  }

  private gpuCollector(): Promise<GpuCollector> {
    if (!this.gpu) {
      const p = nvmlCollector();
      this.gpu = p;
      // A missing GPU stays missing; other failures (driver hiccup) are retried next time.
      p.catch((e: unknown) => {
        if (!(e instanceof ServiceError) && this.gpu === p) this.gpu = undefined;
      });
    }
    return this.gpu;
  }

  async attestExecution(
    claim: ClaimDraft,
    mode: AttestationMode,
    options: { includeGpuEvidence: boolean; sealedRequestSha256?: string; sessionKeyId?: string },
  ): Promise<{ envelope: AttestationEnvelope; claim: ExecutionClaim }> {
    const gpu = options.includeGpuEvidence ? await this.gpuCollector() : undefined;
    // GPU evidence is collected for gpuBindingData(claim) (the input side, with the client's nonce) and
    // its digest goes into the claim (src/tee/attester.ts).
    const r = await this.attester.attestExecution(claim, mode, {
      ...(gpu ? { gpu } : {}),
      ...(options.sealedRequestSha256 !== undefined
        ? { sealedRequestSha256: options.sealedRequestSha256 }
        : {}),
      ...(options.sessionKeyId !== undefined ? { sessionKeyId: options.sessionKeyId } : {}),
    });
    if (r.envelope.session) this.spki = new Uint8Array(Buffer.from(r.envelope.session.spki, 'base64'));
    return { envelope: r.envelope, claim: r.claim };
  }

  async sessionEvidence(
    nonce: Uint8Array,
    options: { includeGpuEvidence: boolean },
  ): Promise<SessionKeyJson> {
    const gpu = options.includeGpuEvidence ? await this.gpuCollector() : undefined;
    const { session, reportData } = await this.attester.sessionEvidence(nonce);
    this.spki = new Uint8Array(Buffer.from(session.spki, 'base64'));
    if (gpu) return { ...session, gpu: await gpu(reportData) } as SessionKeyJson;
    return session;
  }

  async warmUp(): Promise<void> {
    const s = await this.attester.currentSession();
    this.spki = new Uint8Array(Buffer.from(s.spki, 'base64'));
  }

  sealKeyFor(kid: string): Promise<SealKeyLookup> {
    return this.attester.sealKeyFor(kid);
  }

  sessionPublicKey(): Uint8Array | undefined {
    return this.spki;
  }
}
