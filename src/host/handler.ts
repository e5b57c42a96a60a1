/**
 * The parent-side HostHandler: answers the guest's `wasmtime_attestation` calls (forwarded by the
 * engine's synchronous bridge). Providers are injected, so a host without a GPU (or without a TEE)
 * simply answers `success: false` with the reason.
 *
 * attest_vm: fresh 32-byte nonce → REPORT_DATA = guestReportData(nonce, data) → TEE evidence →
 *   verifier (C) + host policy → only then an ES384 JWT from the attested session key (C's Attester).
 * attest_gpu: fresh nonce → GPU nonce = guestGpuNonce(nonce, data) → GPU evidence (G) → GPU verifier
 *   + policy → JWT. Without a GPU provider: `no NVIDIA GPU / NVML not available`.
 * verify_token: real signature verification (tokens.ts). clear_cache: empties the result cache.
 * Every call is appended to the hash-chained audit log (audit.ts) with hashes only, no secrets.
 */

import { randomBytes } from 'node:crypto';
import { guestGpuNonce, guestReportData, type TeeKind } from '../binding/index.ts';
import { sha256Hex, toBase64, toHex } from '../formats/index.ts';
import type { CpuEvidence, TeeProvider } from '../tee/index.ts';
import type { Check, SnpPolicy, TdxPolicy, Verdict } from '../verify/index.ts';
import { TEE_CODE } from './attestation.ts';
import { AuditLog, type AuditOptions } from './audit.ts';
import { cacheKey, TtlCache } from './cache.ts';
import { HostError } from './errors.ts';
import { evidenceFields } from './evidence-fields.ts';
import {
  DEFAULT_POLICY,
  evaluateCpuPolicy,
  evaluateGpuPolicy,
  type HostPolicy,
  parsePolicy,
} from './policy.ts';
import { type IssuerConfig, TokenVerifier } from './tokens.ts';
import type { AttestationErrorCode, AttestationResult, HostHandler } from './types.ts';
import type { WebGpuHost } from './webgpu/host.ts';

/** C's Attester satisfies this (issuer, signJwt ES384 with the attested session key, jwks). */
export interface TokenSigner {
  readonly issuer: string;
  signJwt(claims: Record<string, unknown>, opts?: { expiresInSeconds?: number }): Promise<string>;
  jwks(): Promise<{ keys: import('jose').JWK[] }>;
}

/** GPU evidence source + verifier (G's NVML provider and local verifier, or a simulated one). */
export interface GpuAttestationProvider {
  readonly description: string;
  /** Evidence of GPU `index` for a 32-byte nonce; JSON-serializable (NRAS evidence object form). */
  collect(
    index: number,
    nonce: Uint8Array,
  ): Promise<{ evidence: Record<string, unknown>; simulated: boolean; arch?: string }>;
  /** Verify that evidence (signature, chain, nonce, RIM measurements). */
  verify?(
    evidence: Record<string, unknown>,
    nonce: Uint8Array,
    opts: { referenceValues?: Record<string, unknown> },
  ): Promise<Verdict>;
}

export interface HostHandlerDeps {
  /** CPU TEE provider (C's detectTee()); absent → attest_vm answers 'no TEE available'. */
  tee?: TeeProvider;
  /** Signs the tokens (C's Attester); absent → attestations succeed without a token (token omitted). */
  signer?: TokenSigner;
  /** GPU provider; absent → attest_gpu answers 'no NVIDIA GPU / NVML not available'. */
  gpu?: GpuAttestationProvider;
  /** Why there is no GPU provider (e.g. NVML's error), appended to the error message. */
  gpuUnavailableReason?: string;
  /** CPU evidence verifier (C's verifySnpReport / F's verifyTdxQuote adapted). */
  verifyCpu?: (
    ev: CpuEvidence,
    expectedReportData: Uint8Array,
    opts: {
      allowSimulated: boolean;
      /** The reference-value file's vendor policy for this kind (pinned measurement, TCB minimums...). */
      snpPolicy?: SnpPolicy;
      tdxPolicy?: TdxPolicy;
    },
  ) => Promise<Verdict>;
  policy?: Partial<HostPolicy> | HostPolicy;
  /** Result cache TTL, ms (default 60 000; 0 disables). */
  cacheTtlMs?: number;
  /** Lifetime of issued tokens, s (default 300). */
  tokenTtlSeconds?: number;
  /** Extra token issuers (NRAS, Azure, ITA...). Our own signer's issuer is always added. */
  issuers?: IssuerConfig[];
  clockToleranceSeconds?: number;
  /** Append every call to this hash-chained audit log. */
  auditLogPath?: string;
  audit?: AuditOptions;
  /** Include the raw evidence (base64) in results (default true). */
  includeEvidence?: boolean;
  /**
   * Live guest output (WASI stdio: 'bridge'): the local runner writes it to the terminal. Absent (the
   * service) → 'stdio' calls are refused and the output is only captured.
   */
  stdio?: (fd: 1 | 2, data: Uint8Array) => void;
  /** WebGPU compute for guests (`run/serve --webgpu`); absent → guests' adapter requests fail (disabled). */
  webgpu?: Pick<WebGpuHost, 'handle' | 'describe'>;
  /** Why WebGPU is off (reported by detect_tee and to guests asking for an adapter). */
  webgpuUnavailableReason?: string;
  now?: () => number;
}

function teeName(kind: TeeKind): string {
  return TEE_NAMES[kind];
}

const TEE_NAMES: Readonly<Record<TeeKind, string>> = {
  'sev-snp': 'AMD SEV-SNP',
  tdx: 'Intel TDX',
  'azure-sev-snp': 'Azure SEV-SNP (vTPM)',
  'azure-tdx': 'Azure TDX (vTPM)',
};

const TEE_CODES: Readonly<Record<TeeKind, number>> = {
  'sev-snp': TEE_CODE.SEV_SNP,
  tdx: TEE_CODE.TDX,
  'azure-sev-snp': TEE_CODE.AZURE_SEV_SNP,
  'azure-tdx': TEE_CODE.AZURE_TDX,
};

/** Parse the `data` param (hex string from the worker), bounded. */
function dataParam(p: Record<string, unknown>): Uint8Array {
  const d = p.data;
  if (d === undefined) return new Uint8Array(0);
  if (typeof d !== 'string' || !/^(?:[0-9a-f]{2})*$/i.test(d) || d.length > 2 * 64 * 1024) {
    throw new HostError('INVALID_GUEST_DATA', 'invalid guest data');
  }
  return new Uint8Array(Buffer.from(d, 'hex'));
}

function b64(b: Uint8Array | undefined): string | undefined {
  return b ? toBase64(b) : undefined;
}

export interface HostHandlerInstance {
  handler: HostHandler;
  cache: TtlCache<AttestationResult>;
  tokens: TokenVerifier;
  policy: HostPolicy;
  audit?: AuditLog;
}

/** Run a verifier; a thrown error becomes a failing verdict, never an exception to the guest. */
async function safeVerify(kind: string, run: () => Promise<Verdict>): Promise<Verdict> {
  try {
    return await run();
  } catch (e) {
    return {
      ok: false,
      kind,
      checks: [{ id: 'verify.error', outcome: 'fail', detail: (e as Error).message }],
    };
  }
}

type Params = Record<string, unknown>;

/**
 * The host calls, one method per call group: attestation (attest_vm, attest_gpu), tokens
 * (verify_token), the cache (clear_cache), detection (detect_tee), WebGPU and stdio passthrough.
 * `handle` is the HostHandler: it dispatches by method name.
 */
class HostCalls {
  readonly now: () => number;
  readonly policy: HostPolicy;
  readonly cache: TtlCache<AttestationResult>;
  readonly tokens: TokenVerifier;
  readonly audit: AuditLog | undefined;
  private readonly includeEvidence: boolean;

  constructor(private readonly deps: HostHandlerDeps) {
    const now = deps.now ?? Date.now;
    this.now = now;
    // a policy from a reference-value file carries its parsed vendor sections beside the host keys
    const { referenceValues, ...hostKeys } = (deps.policy ?? {}) as Partial<HostPolicy>;
    this.policy = parsePolicy({ ...DEFAULT_POLICY, ...hostKeys });
    if (referenceValues) this.policy.referenceValues = referenceValues;
    this.cache = new TtlCache<AttestationResult>(deps.cacheTtlMs ?? 60_000, now);
    this.tokens = new TokenVerifier(deps.issuers ?? [], {
      clockToleranceSeconds: deps.clockToleranceSeconds ?? 60,
      now,
    });
    if (deps.signer) {
      const signer = deps.signer;
      this.tokens.addIssuer({
        name: 'self',
        issuer: signer.issuer,
        algorithms: ['ES384'],
        jwksProvider: () => signer.jwks(),
      });
    }
    this.audit = deps.auditLogPath ? new AuditLog(deps.auditLogPath, { now, ...deps.audit }) : undefined;
    this.includeEvidence = deps.includeEvidence ?? true;
  }

  /** The HostHandler: one host call by method name. */
  async handle(method: string, rawParams: unknown): Promise<unknown> {
    const params = (rawParams && typeof rawParams === 'object' ? rawParams : {}) as Params;
    const started = this.now();
    switch (method) {
      case 'attest_vm':
        return this.attestVmCall(params, started);
      case 'attest_gpu':
        return this.attestGpuCall(params, started);
      case 'verify_token':
        return this.verifyToken(params);
      case 'clear_cache':
        return this.clearCache(params);
      case 'detect_tee':
        return this.detect();
      case 'webgpu':
        return this.webgpu(rawParams, params);
      case 'stdio':
        return this.stdio(params);
      default:
        throw new HostError('UNKNOWN_HOST_METHOD', `unknown host method '${method}'`);
    }
  }

  // ---- common parts ----------------------------------------------------------------------------

  private ts(): number {
    return Math.floor(this.now() / 1000);
  }

  private fail(
    code: AttestationErrorCode,
    error: string,
    tee_type: string | null,
    extra: Partial<AttestationResult> = {},
  ): AttestationResult {
    return {
      success: false,
      code,
      error,
      timestamp: this.ts(),
      tee_type,
      ...extra,
    };
  }

  private log(event: Record<string, unknown>): void {
    if (!this.audit) return;
    try {
      this.audit.append(event);
    } catch (e) {
      // An audit failure must be loud but must not crash the service.
      process.emitWarning(`audit log ${this.deps.auditLogPath}: ${(e as Error).message}`);
    }
  }

  private async withCache(
    key: string,
    run: () => Promise<AttestationResult>,
  ): Promise<{ result: AttestationResult; cached: boolean }> {
    const hit = this.cache.get(key);
    if (hit) return { result: { ...hit, cached: true }, cached: true };
    const result = await run();
    if (result.success) this.cache.set(key, result);
    return { result, cached: false };
  }

  private auditResult(event: string, r: AttestationResult, extra: Record<string, unknown>): void {
    this.log({
      event,
      success: r.success,
      ...(r.error ? { error: r.error } : {}),
      tee_type: r.tee_type,
      simulated: r.simulated,
      nonce: r.nonce,
      report_data: r.report_data,
      token_sha256: r.token ? sha256Hex(r.token) : undefined,
      evidence_sha256: r.evidence ? sha256Hex(r.evidence) : undefined,
      policy_failed: r.policy_failed,
      ...extra,
    });
  }

  /**
   * The common end of attest_vm and attest_gpu: refuse when a policy check failed, else sign a token
   * (when a signer is configured) carrying `claims` and the passed checks, and answer success.
   */
  private async conclude(
    what: string,
    checks: Check[],
    base: { tee_type: string; simulated: boolean; nonce: string; report_data: string },
    evidenceJson: string,
    claims: Record<string, unknown>,
  ): Promise<AttestationResult> {
    const failed = checks.filter((c) => c.outcome === 'fail');
    if (failed.length > 0) {
      const why = failed.map((c) => `${c.id}: ${c.detail}`).join('; ');
      return this.fail('policy_rejected', `host policy rejected the ${what}: ${why}`, base.tee_type, {
        ...base,
        policy_failed: failed.map((c) => c.id),
      });
    }
    const token = this.deps.signer
      ? await this.deps.signer.signJwt(
          {
            sub: 'wasmvm-tee/guest-attestation',
            jti: toHex(new Uint8Array(randomBytes(16))),
            nbf: this.ts(),
            ...claims,
            policy: { ok: true, checks: checks.map((c) => c.id) },
          },
          { expiresInSeconds: this.deps.tokenTtlSeconds ?? 300 },
        )
      : undefined;
    return {
      success: true,
      ...(token ? { token } : {}),
      ...(this.includeEvidence ? { evidence: evidenceJson } : {}),
      timestamp: this.ts(),
      ...base,
    };
  }

  // ---- attest_vm -------------------------------------------------------------------------------

  private async attestVmCall(params: Params, started: number): Promise<AttestationResult> {
    let data: Uint8Array;
    try {
      data = dataParam(params);
    } catch (e) {
      return this.fail('invalid_guest_data', (e as Error).message, null);
    }
    const key = cacheKey('vm', sha256Hex(data));
    const { result, cached } = await this.withCache(key, () =>
      this.attestVm(data).catch((e: unknown) =>
        this.fail('internal', `attest_vm: ${(e as Error).message}`, null),
      ),
    );
    this.auditResult('attest_vm', result, {
      cached,
      data_sha256: sha256Hex(data),
      context: params.context,
      ms: this.now() - started,
    });
    return result;
  }

  private async attestVm(data: Uint8Array): Promise<AttestationResult> {
    const tee = this.deps.tee;
    if (!tee)
      return this.fail(
        'no_tee',
        'no TEE available (not running in an AMD SEV-SNP or Intel TDX confidential VM)',
        null,
      );
    const nonce = new Uint8Array(randomBytes(32));
    const reportData = guestReportData(nonce, data);
    let ev: CpuEvidence;
    try {
      ev = await tee.getEvidence(reportData);
    } catch (e) {
      return this.fail(
        'evidence_failed',
        `${tee.description}: evidence failed: ${(e as Error).message}`,
        teeName(tee.kind),
      );
    }
    const fields = evidenceFields(ev);
    if (fields.reportData !== toHex(reportData)) {
      return this.fail(
        'report_data_mismatch',
        'evidence REPORT_DATA does not match the requested value',
        teeName(ev.kind),
      );
    }
    const verifyCpu = this.deps.verifyCpu;
    const policy = this.policy;
    const verdict = verifyCpu
      ? await safeVerify(ev.kind, () =>
          verifyCpu(ev, reportData, {
            allowSimulated: policy.allowSimulated,
            ...(policy.referenceValues?.snp ? { snpPolicy: policy.referenceValues.snp } : {}),
            ...(policy.referenceValues?.tdx ? { tdxPolicy: policy.referenceValues.tdx } : {}),
          }),
        )
      : undefined;
    const checks = evaluateCpuPolicy(policy, {
      kind: ev.kind,
      simulated: ev.simulated,
      debug: fields.debug,
      measurement: fields.measurement,
      ...(verdict ? { verdict } : {}),
    });
    const evidenceJson = JSON.stringify({
      kind: ev.kind,
      simulated: ev.simulated,
      provider: ev.provider,
      report: b64(ev.report),
      certs: ev.certs
        ? Object.fromEntries(Object.entries(ev.certs).map(([k, v]) => [k, b64(v as Uint8Array)]))
        : undefined,
    });
    const base = {
      tee_type: teeName(ev.kind),
      simulated: ev.simulated,
      nonce: toHex(nonce),
      report_data: toHex(reportData),
    };
    return this.conclude('evidence', checks, base, evidenceJson, {
      kind: 'vm',
      tee_type: ev.kind,
      simulated: ev.simulated,
      provider: ev.provider,
      measurement: fields.measurement,
      report_data: toHex(reportData),
      nonce: toHex(nonce),
      data_sha256: sha256Hex(data),
      debug: fields.debug,
      evidence_sha256: sha256Hex(ev.report),
      verified: verdict?.ok ?? false,
    });
  }

  // ---- attest_gpu ------------------------------------------------------------------------------

  private async attestGpuCall(params: Params, started: number): Promise<AttestationResult> {
    const index = Number(params.index);
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff)
      return this.fail('invalid_gpu_index', 'invalid GPU index', 'NVIDIA GPU');
    let data: Uint8Array;
    try {
      data = dataParam(params);
    } catch (e) {
      return this.fail('invalid_guest_data', (e as Error).message, 'NVIDIA GPU');
    }
    const key = cacheKey('gpu', sha256Hex(data), index);
    const { result, cached } = await this.withCache(key, () =>
      this.attestGpu(index, data).catch((e: unknown) =>
        this.fail('internal', `attest_gpu: ${(e as Error).message}`, 'NVIDIA GPU'),
      ),
    );
    this.auditResult('attest_gpu', result, {
      gpu_index: index,
      cached,
      data_sha256: sha256Hex(data),
      context: params.context,
      ms: this.now() - started,
    });
    return result;
  }

  private async attestGpu(index: number, data: Uint8Array): Promise<AttestationResult> {
    const gpu = this.deps.gpu;
    if (!gpu) {
      const why = this.deps.gpuUnavailableReason;
      return this.fail('no_gpu', `no NVIDIA GPU / NVML not available${why ? ` (${why})` : ''}`, 'NVIDIA GPU');
    }
    const nonce = new Uint8Array(randomBytes(32));
    const gpuNonce = guestGpuNonce(nonce, data);
    let got: Awaited<ReturnType<GpuAttestationProvider['collect']>>;
    try {
      got = await gpu.collect(index, gpuNonce);
    } catch (e) {
      return this.fail('evidence_failed', `GPU ${index}: ${(e as Error).message}`, 'NVIDIA GPU');
    }
    const verifyGpu = gpu.verify;
    const policy = this.policy;
    const verdict = verifyGpu
      ? await safeVerify('nvidia-local', () =>
          verifyGpu(got.evidence, gpuNonce, {
            ...(policy.gpu.referenceValues ? { referenceValues: policy.gpu.referenceValues } : {}),
          }),
        )
      : undefined;
    const checks = evaluateGpuPolicy(policy, {
      simulated: got.simulated,
      ...(verdict ? { verdict } : {}),
      ...(got.arch ? { architecture: got.arch } : {}),
    });
    const base = {
      tee_type: 'NVIDIA GPU',
      simulated: got.simulated,
      nonce: toHex(nonce),
      report_data: toHex(gpuNonce),
    };
    const evidenceJson = JSON.stringify(got.evidence);
    return this.conclude('GPU evidence', checks, base, evidenceJson, {
      kind: 'gpu',
      gpu_index: index,
      arch: got.arch,
      simulated: got.simulated,
      gpu_nonce: toHex(gpuNonce),
      nonce: toHex(nonce),
      data_sha256: sha256Hex(data),
      evidence_sha256: sha256Hex(evidenceJson),
      verified: verdict?.ok ?? false,
    });
  }

  // ---- verify_token, clear_cache -----------------------------------------------------------------

  private async verifyToken(params: Params): Promise<Record<string, unknown>> {
    const token = typeof params.token === 'string' ? params.token : '';
    const r = await this.tokens.verify(token);
    this.log({
      event: 'verify_token',
      valid: r.valid,
      issuer: r.issuer,
      reason: r.reason,
      token_sha256: sha256Hex(token),
      context: params.context,
    });
    return { valid: r.valid, issuer: r.issuer, reason: r.reason };
  }

  private clearCache(params: Params): { cleared: number } {
    const n = this.cache.size;
    this.cache.clear();
    this.log({ event: 'clear_cache', entries: n, context: params.context });
    return { cleared: n };
  }

  // ---- detect_tee ------------------------------------------------------------------------------

  private detect(): Record<string, unknown> {
    const tee = this.deps.tee;
    if (!tee)
      return {
        tee_type: 'None',
        supports_attestation: false,
        simulated: false,
        code: TEE_CODE.NONE,
        gpu: !!this.deps.gpu,
        webgpu: this.webgpuInfo(),
      };
    const code = TEE_CODES[tee.kind] | (tee.simulated ? TEE_CODE.SIMULATED_FLAG : 0);
    return {
      tee_type: teeName(tee.kind),
      supports_attestation: true,
      simulated: tee.simulated,
      code,
      provider: tee.description,
      gpu: !!this.deps.gpu,
      webgpu: this.webgpuInfo(),
    };
  }

  /** detect_tee's `webgpu`: whether guests get WebGPU compute here, and on which adapter. */
  private webgpuInfo(): Record<string, unknown> {
    if (!this.deps.webgpu)
      return {
        available: false,
        reason: this.deps.webgpuUnavailableReason ?? 'WebGPU is not enabled (--webgpu)',
      };
    const d = this.deps.webgpu.describe();
    return { available: d.available, adapter: d.adapter };
  }

  // ---- webgpu, stdio ---------------------------------------------------------------------------

  private webgpu(rawParams: unknown, params: Params): unknown {
    if (this.deps.webgpu) return this.deps.webgpu.handle(rawParams);
    // WebGPU off: an adapter request fails with the reason; nothing else can have a handle
    const reason = `WebGPU is not available on this host: ${this.deps.webgpuUnavailableReason ?? 'not enabled by the operator (--webgpu)'}`;
    if (params.op === 'createInstance') return { v: 1 };
    if (params.op === 'end' || params.op === 'release') return {};
    if (params.op === 'requestAdapter') return { v: 0, m: reason };
    return { trap: reason };
  }

  private stdio(params: Params): { ok: true } {
    if (!this.deps.stdio) throw new HostError('STDIO_DISABLED', 'stdio passthrough is not enabled');
    const fd = params.fd === 2 ? 2 : 1;
    const data = typeof params.data === 'string' ? Buffer.from(params.data, 'base64') : Buffer.alloc(0);
    this.deps.stdio(fd, new Uint8Array(data));
    return { ok: true };
  }
}

export function createHostHandlerInstance(deps: HostHandlerDeps = {}): HostHandlerInstance {
  const calls = new HostCalls(deps);
  const handler: HostHandler = (method, params) => calls.handle(method, params);
  const { cache, tokens, policy, audit } = calls;
  return { handler, cache, tokens, policy, ...(audit ? { audit } : {}) };
}

/** The HostHandler for EngineOptions.hostHandler. */
export function createHostHandler(deps: HostHandlerDeps = {}): HostHandler {
  return createHostHandlerInstance(deps).handler;
}
