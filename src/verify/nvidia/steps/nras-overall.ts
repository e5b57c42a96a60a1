/**
 * The overall NRAS token: signature, issuer, time, signing certificate ('nvidia.nras.*'), its eat_nonce
 * ('nvidia.nras.nonce'), its submods (one SHA-256 digest per device token: 'nvidia.nras.submods') and the
 * policy's overall claims and GPU count ('nvidia.nras.policy', 'nvidia.nras.gpu-count').
 */
import type { JWTPayload } from 'jose';
import type { Check } from '../../types.ts';
import { compareHexNonce } from '../hex.ts';
import type { ParsedNrasResponse } from '../nras.ts';
import { defaultPolicyFor, evaluateRules, type NvidiaPolicy } from '../policy.ts';
import type { NrasKeys } from './nras-keys.ts';
import { c, verifyToken } from './nras-token.ts';

export type TokenOptions = Parameters<typeof verifyToken>[4];

/** The overall token's payload (undefined when it did not verify) and the verdict's fields from it. */
export async function checkOverallToken(
  parsed: ParsedNrasResponse,
  k: NrasKeys,
  tokOpts: TokenOptions,
  expected: Uint8Array | undefined,
  checks: Check[],
): Promise<{ op: Record<string, unknown> | undefined; fields: Record<string, unknown> }> {
  const overall = await verifyToken('nvidia.nras', parsed.overall, k.keys, k.keyError, tokOpts);
  checks.push(overall.signature, overall.issuer, overall.time);
  if (overall.signature.outcome === 'pass' && k.keySet) {
    const x = (await k.keyTrust(parsed.overall)) ?? { outcome: 'fail' as const, detail: 'key not found' };
    checks.push(c('nvidia.nras.signing-cert', x.outcome, x.detail));
  } else checks.push(c('nvidia.nras.signing-cert', 'skip', 'overall token not verified'));
  const op = overall.payload as (JWTPayload & Record<string, unknown>) | undefined;
  const fields: Record<string, unknown> = {};
  if (op) {
    for (const key of [
      'x-nvidia-ver',
      'x-nvidia-overall-att-result',
      'iat',
      'nbf',
      'exp',
      'iss',
      'jti',
      'eat_nonce',
    ] as const)
      if (op[key] !== undefined) fields[key] = op[key];
  }
  if (expected) {
    if (op) {
      const n = compareHexNonce(op.eat_nonce, expected);
      checks.push(c('nvidia.nras.nonce', n.ok ? 'pass' : 'fail', `overall eat_nonce ${n.detail}`));
    } else checks.push(c('nvidia.nras.nonce', 'skip', 'overall token not verified'));
  }
  return { op, fields };
}

/** Submods ↔ device tokens: the digest of each device token, by name. */
export function checkSubmods(
  op: Record<string, unknown> | undefined,
  parsed: ParsedNrasResponse,
  checks: Check[],
): Map<string, string> {
  const submodDigests = new Map<string, string>();
  if (!op) {
    checks.push(c('nvidia.nras.submods', 'skip', 'overall token not verified'));
    return submodDigests;
  }
  const sub = op.submods;
  const problems: string[] = [];
  if (typeof sub !== 'object' || sub === null || Array.isArray(sub))
    problems.push('no submods object in the overall token');
  else {
    for (const [name, v] of Object.entries(sub as Record<string, unknown>)) {
      const ok =
        Array.isArray(v) &&
        v[0] === 'DIGEST' &&
        Array.isArray(v[1]) &&
        v[1][0] === 'SHA-256' &&
        typeof v[1][1] === 'string' &&
        /^[0-9a-fA-F]{64}$/.test(v[1][1]);
      if (!ok) problems.push(`${name}: not ["DIGEST", ["SHA-256", <64 hex>]]`);
      else submodDigests.set(name, (v[1][1] as string).toLowerCase());
    }
    for (const name of submodDigests.keys())
      if (!(name in parsed.devices)) problems.push(`${name}: listed in submods but no token`);
    for (const name of Object.keys(parsed.devices))
      if (!submodDigests.has(name)) problems.push(`${name}: token not listed in submods`);
  }
  checks.push(
    problems.length === 0
      ? c('nvidia.nras.submods', 'pass', `${submodDigests.size} submod digest(s), one per device token`)
      : c('nvidia.nras.submods', 'fail', problems.join('; ')),
  );
  return submodDigests;
}

/** The policy (given, or the default for the claims version) applied to the overall claims and GPU count. */
export function checkOverallPolicy(
  op: Record<string, unknown> | undefined,
  given: NvidiaPolicy | undefined,
  deviceCount: number,
  checks: Check[],
  fields: Record<string, unknown>,
): NvidiaPolicy | undefined {
  const policy = given ?? defaultPolicyFor(op?.['x-nvidia-ver']);
  fields.policy = policy?.name ?? null;
  if (!op) checks.push(c('nvidia.nras.policy', 'skip', 'overall token not verified'));
  else if (!policy)
    checks.push(
      c('nvidia.nras.policy', 'fail', `no default policy for claims version '${String(op['x-nvidia-ver'])}'`),
    );
  else {
    const m = evaluateRules(op, policy['overall-claims'] ?? {});
    checks.push(
      m.length === 0
        ? c('nvidia.nras.policy', 'pass', `overall claims meet '${policy.name}'`)
        : c('nvidia.nras.policy', 'fail', `overall claims vs '${policy.name}': ${m.join('; ')}`),
    );
  }
  if (policy?.gpuCount !== undefined)
    checks.push(
      c(
        'nvidia.nras.gpu-count',
        deviceCount === policy.gpuCount ? 'pass' : 'fail',
        `${deviceCount} GPU token(s), policy requires ${policy.gpuCount}`,
      ),
    );
  return policy;
}
