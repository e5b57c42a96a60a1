/**
 * Appraisal policy for NRAS claims. Default = NVIDIA's remote GPU policy (nvtrust
 * NVGPURemotePolicyExample v4 for claims 3.0; the same checks in their flat 2.0 form for claims 2.0,
 * which NRAS v3 returns), plus `secboot: true` and `dbgstat: "disabled"` (debug GPUs rejected).
 *
 * Custom policies: a JSON file with an `nvidia` section, or NVIDIA's own policy file:
 *   { "nvidia": { "overall-claims": {...}, "detached-claims": {...}, "gpuCount": 8 } }
 *   { "version": "4.0", "authorization-rules": { "overall-claims": {...}, "detached-claims": {...} } }
 * Each listed claim must be present with an equal value (objects: every listed member, recursively).
 */
import { PolicyError } from '../errors.ts';

export type ClaimRules = Record<string, unknown>;

export interface NvidiaPolicy {
  /** Rules for the overall token. */
  'overall-claims'?: ClaimRules;
  /** Rules every GPU token must meet. */
  'detached-claims'?: ClaimRules;
  /** Exact number of GPUs required (submods). */
  gpuCount?: number;
  /** Name for reports. */
  name?: string;
}

const CHAIN_OK = { 'x-nvidia-cert-status': 'valid', 'x-nvidia-cert-ocsp-status': 'good' };

/** NVIDIA's remote policy v4 (claims 3.0) + secboot/dbgstat. */
export const DEFAULT_POLICY_CLAIMS_3: NvidiaPolicy = {
  name: 'nvidia-default (claims 3.0)',
  'overall-claims': { 'x-nvidia-overall-att-result': true, 'x-nvidia-ver': '3.0' },
  'detached-claims': {
    measres: 'success',
    secboot: true,
    dbgstat: 'disabled',
    'x-nvidia-gpu-arch-check': true,
    'x-nvidia-gpu-attestation-report-parsed': true,
    'x-nvidia-gpu-attestation-report-nonce-match': true,
    'x-nvidia-gpu-attestation-report-signature-verified': true,
    'x-nvidia-gpu-attestation-report-cert-chain': CHAIN_OK,
    'x-nvidia-gpu-attestation-report-cert-chain-fwid-match': true,
    'x-nvidia-gpu-driver-rim-fetched': true,
    'x-nvidia-gpu-driver-rim-schema-validated': true,
    'x-nvidia-gpu-driver-rim-signature-verified': true,
    'x-nvidia-gpu-driver-rim-version-match': true,
    'x-nvidia-gpu-driver-rim-cert-chain': CHAIN_OK,
    'x-nvidia-gpu-driver-rim-measurements-available': true,
    'x-nvidia-gpu-vbios-rim-fetched': true,
    'x-nvidia-gpu-vbios-rim-schema-validated': true,
    'x-nvidia-gpu-vbios-rim-signature-verified': true,
    'x-nvidia-gpu-vbios-rim-version-match': true,
    'x-nvidia-gpu-vbios-rim-cert-chain': CHAIN_OK,
    'x-nvidia-gpu-vbios-rim-measurements-available': true,
    'x-nvidia-gpu-vbios-index-no-conflict': true,
  },
};

/** The same appraisal for claims 2.0 (NRAS v3): flat `*-cert-validated` / `*-cert-chain-validated` claims. */
export const DEFAULT_POLICY_CLAIMS_2: NvidiaPolicy = {
  name: 'nvidia-default (claims 2.0)',
  'overall-claims': { 'x-nvidia-overall-att-result': true, 'x-nvidia-ver': '2.0' },
  'detached-claims': {
    measres: 'success',
    secboot: true,
    dbgstat: 'disabled',
    'x-nvidia-gpu-arch-check': true,
    'x-nvidia-gpu-attestation-report-parsed': true,
    'x-nvidia-gpu-attestation-report-nonce-match': true,
    'x-nvidia-gpu-attestation-report-signature-verified': true,
    'x-nvidia-gpu-attestation-report-cert-chain-validated': true,
    'x-nvidia-gpu-driver-rim-fetched': true,
    'x-nvidia-gpu-driver-rim-schema-validated': true,
    'x-nvidia-gpu-driver-rim-signature-verified': true,
    'x-nvidia-gpu-driver-rim-cert-validated': true,
    'x-nvidia-gpu-driver-rim-measurements-available': true,
    'x-nvidia-gpu-vbios-rim-fetched': true,
    'x-nvidia-gpu-vbios-rim-schema-validated': true,
    'x-nvidia-gpu-vbios-rim-signature-verified': true,
    'x-nvidia-gpu-vbios-rim-cert-validated': true,
    'x-nvidia-gpu-vbios-rim-measurements-available': true,
    'x-nvidia-gpu-vbios-index-no-conflict': true,
  },
};

/** Pick the default policy for a claims version ('2.0' | '3.0'); undefined when unknown. */
export function defaultPolicyFor(claimsVersion: unknown): NvidiaPolicy | undefined {
  if (claimsVersion === '2.0') return DEFAULT_POLICY_CLAIMS_2;
  if (claimsVersion === '3.0') return DEFAULT_POLICY_CLAIMS_3;
  return undefined;
}

export { PolicyError };

/** Accept `{nvidia: {...}}`, NVIDIA's `{authorization-rules: {...}}`, or the rules object itself. */
export function parseNvidiaPolicy(json: unknown): NvidiaPolicy {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new PolicyError('NVIDIA_BAD_POLICY', 'policy must be a JSON object');
  const o = json as Record<string, unknown>;
  let p: Record<string, unknown> = o;
  if ('nvidia' in o) p = o.nvidia as Record<string, unknown>;
  else if ('authorization-rules' in o) p = o['authorization-rules'] as Record<string, unknown>;
  if (typeof p !== 'object' || p === null || Array.isArray(p))
    throw new PolicyError('NVIDIA_BAD_POLICY', 'policy section must be an object');
  const allowed = new Set(['overall-claims', 'detached-claims', 'gpuCount', 'name', 'type']);
  for (const k of Object.keys(p))
    if (!allowed.has(k)) throw new PolicyError('NVIDIA_BAD_POLICY', `unknown policy key '${k}'`);
  if (p.type !== undefined && p.type !== 'JWT')
    throw new PolicyError('NVIDIA_BAD_POLICY', `policy type '${String(p.type)}' is not supported (only JWT)`);
  const out: NvidiaPolicy = {};
  for (const k of ['overall-claims', 'detached-claims'] as const) {
    const v = p[k];
    if (v === undefined) continue;
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new PolicyError('NVIDIA_BAD_POLICY', `'${k}' must be an object`);
    out[k] = v as ClaimRules;
  }
  if (p.gpuCount !== undefined) {
    if (!Number.isInteger(p.gpuCount) || (p.gpuCount as number) < 1)
      throw new PolicyError('NVIDIA_BAD_POLICY', 'gpuCount must be a positive integer');
    out.gpuCount = p.gpuCount as number;
  }
  out.name = typeof p.name === 'string' ? p.name : 'custom';
  if (!out['overall-claims'] && !out['detached-claims'])
    throw new PolicyError('NVIDIA_BAD_POLICY', 'policy has neither overall-claims nor detached-claims');
  return out;
}

/** Mismatches of `claims` against `rules` (empty = pass). */
export function evaluateRules(claims: Record<string, unknown>, rules: ClaimRules, path = ''): string[] {
  const out: string[] = [];
  for (const [k, want] of Object.entries(rules)) {
    const name = path ? `${path}.${k}` : k;
    if (!(k in claims)) {
      out.push(`${name}: missing (want ${JSON.stringify(want)})`);
      continue;
    }
    const got = claims[k];
    if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
      if (got === null || typeof got !== 'object' || Array.isArray(got))
        out.push(`${name}: ${JSON.stringify(got)} is not an object`);
      else out.push(...evaluateRules(got as Record<string, unknown>, want as ClaimRules, name));
    } else if (JSON.stringify(got) !== JSON.stringify(want)) {
      out.push(`${name}: ${JSON.stringify(got)} (want ${JSON.stringify(want)})`);
    }
  }
  return out;
}
