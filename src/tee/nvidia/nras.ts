/**
 * NRAS (NVIDIA Remote Attestation Service) client: POSTs GPU evidence and returns the raw detached
 * EAT (`[["JWT", overall], {"GPU-0": token, ...}]`), to be checked with `verifyNrasResponse`.
 * No network is touched unless you call it; `fetch` is injectable.
 *
 *   v3: POST https://nras.attestation.nvidia.com/v3/attest/gpu
 *       { nonce, arch, evidence_list: [{ arch, certificate, evidence }] }     → claims 2.0
 *   v4: POST https://nras.attestation.nvidia.com/v4/attest/gpu
 *       { nonce, arch, evidence_list: [{ certificate, evidence }], claims_version: "3.0" } → claims 3.0
 */
import type { GpuEvidence } from './types.ts';
import { NvidiaError } from './types.ts';

export const NRAS_BASE_URL = 'https://nras.attestation.nvidia.com';
export type NrasVersion = 'v3' | 'v4';

export interface NrasRequestBody {
  nonce: string;
  arch: string;
  evidence_list: { certificate: string; evidence: string; arch?: string }[];
  claims_version?: string;
}

export function nrasUrl(version: NrasVersion = 'v3', base: string = NRAS_BASE_URL): string {
  return `${base.replace(/\/$/, '')}/${version}/attest/gpu`;
}

/** Build the request body. Every evidence must carry the same nonce and arch (one NRAS request = one nonce). */
export function buildNrasRequest(evidence: GpuEvidence[], version: NrasVersion = 'v3'): NrasRequestBody {
  if (evidence.length === 0) throw new NvidiaError('NVIDIA_BAD_EVIDENCE', 'no GPU evidence to send');
  const nonce = evidence[0]!.nonce.toLowerCase();
  const arch = evidence[0]!.arch;
  for (const e of evidence) {
    if (e.nonce.toLowerCase() !== nonce)
      throw new NvidiaError('NVIDIA_BAD_EVIDENCE', 'GPU evidence items carry different nonces');
    if (e.arch !== arch)
      throw new NvidiaError('NVIDIA_BAD_EVIDENCE', `mixed GPU architectures (${arch}, ${e.arch})`);
  }
  const body: NrasRequestBody = {
    nonce,
    arch,
    evidence_list: evidence.map((e) =>
      version === 'v3'
        ? { arch: e.arch, certificate: e.certificate, evidence: e.evidence }
        : { certificate: e.certificate, evidence: e.evidence },
    ),
  };
  if (version === 'v4') body.claims_version = '3.0';
  return body;
}

export interface NrasClientOptions {
  version?: NrasVersion;
  baseUrl?: string;
  fetch?: typeof fetch;
  /** NGC service key (sent as `Authorization: nv-ngc-service-key ...` style bearer when set). */
  serviceKey?: string;
  timeoutMs?: number;
}

/** POST evidence to NRAS and return the parsed JSON response (unverified). */
export async function attestWithNras(
  evidence: GpuEvidence[],
  opts: NrasClientOptions = {},
): Promise<unknown> {
  const version = opts.version ?? 'v3';
  const body = buildNrasRequest(evidence, version);
  const f = opts.fetch ?? fetch;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (opts.serviceKey) headers.authorization = `Bearer ${opts.serviceKey}`;
  let res: Response;
  try {
    res = await f(nrasUrl(version, opts.baseUrl), {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
  } catch (e) {
    throw new NvidiaError(
      'NVIDIA_NRAS_FAILED',
      `cannot reach NRAS: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const text = await res.text();
  if (!res.ok)
    throw new NvidiaError('NVIDIA_NRAS_FAILED', `NRAS answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new NvidiaError('NVIDIA_NRAS_FAILED', 'NRAS answered with a body that is not JSON');
  }
}
