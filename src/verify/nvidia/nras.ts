/**
 * Verification of an NRAS response (detached EAT):
 *
 *   [["JWT", "<overall EAT>"], { "GPU-0": "<device EAT>", ... }]
 *
 * Every token: ES384 only (alg none / HS* / RS* rejected before any key is looked up), signed by a
 * key of the NRAS JWKS (pinned file or fetched, one refetch on an unknown kid), issuer, exp/nbf at
 * an explicit clock. The overall token's `submods[GPU-n] = ["DIGEST", ["SHA-256", hex]]` must equal
 * SHA-256 of that GPU's compact token, every submod must have a token and vice versa. `eat_nonce` of
 * every token is compared as bytes with the nonce we sent. Claims are appraised by a policy
 * (default: NVIDIA's remote policy for the token's claims version).
 */

import type { JSONWebKeySet } from 'jose';
import type { Check } from '../types.ts';
import { type Verdict, verdict } from '../types.ts';
import { NrasFormatError } from './errors.ts';
import { toNonceBytes } from './hex.ts';
import type { JwksSource } from './jwks.ts';
import type { NvidiaPolicy } from './policy.ts';
import { verifyDeviceToken } from './steps/nras-device.ts';
import { loadNrasKeys } from './steps/nras-keys.ts';
import { checkOverallPolicy, checkOverallToken, checkSubmods } from './steps/nras-overall.ts';
import { c } from './steps/nras-token.ts';

export { checkJwkX5c } from './steps/nras-x5c.ts';

/** Bounds of an NRAS response (issue 14): real ones hold 1–8 device tokens of 2–20 KB. */
export const NRAS_LIMITS = { maxDeviceTokens: 64, maxTokenChars: 256 * 1024 } as const;

export const NRAS_ISSUER = 'https://nras.attestation.nvidia.com';

export interface VerifyNrasOptions {
  /** The nonce sent to NRAS (hex or bytes). */
  nonce: Uint8Array | string;
  /**
   * ADDITIONAL NRAS signing keys: a JWKS (e.g. a file the user fetched) or a source (fetched, cached, refetched
   * once on an unknown kid). Merged with NVIDIA's pinned keys (NRAS_PINNED_JWKS; on a kid conflict the pinned
   * key wins). Like the pinned ones, an added key signs nothing unless its x5c chain reaches a pinned NRAS CA.
   */
  jwks?: JSONWebKeySet | JwksSource;
  /** Use NVIDIA's pinned keys (default true). false: only `jwks` (tests with their own keys). */
  pinnedKeys?: boolean;
  /**
   * Require every signing key's x5c to chain to a pinned NRAS CA (default true). false: a key without x5c,
   * or with an unanchored chain, is used as it is (only for keys you trust by other means; marked 'skip').
   */
  requireNrasCa?: boolean;
  /** Explicit clock for exp/nbf (recorded tokens need one). Default: now. */
  now?: Date;
  /** Appraisal policy; default: NVIDIA's, chosen by the overall token's x-nvidia-ver. */
  policy?: NvidiaPolicy;
  /** Accepted issuers (default: the production NRAS). */
  issuer?: string | string[];
  /** Seconds of clock skew tolerated for exp/nbf (default 0). */
  clockToleranceSec?: number;
  /**
   * SHA-256 (hex) of SubjectPublicKeyInfo of the NRAS issuing CAs the signing keys' `x5c` must reach. Default
   * NRAS_PINNED_CA_SPKI_SHA256 ('NVIDIA Attestation Service GPU Intermediate 004'); a list given here
   * replaces the default (the CLI's --pin-nras-ca adds to it).
   */
  pinnedNrasCaSpkiSha256?: string[];
}

export interface ParsedNrasResponse {
  overall: string;
  devices: Record<string, string>;
}

export { NrasFormatError };

const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Parse the detached EAT (JSON text or parsed value). */
export function parseNrasResponse(response: unknown): ParsedNrasResponse {
  let r = response;
  if (typeof r === 'string') {
    try {
      r = JSON.parse(r);
    } catch {
      throw new NrasFormatError('NRAS response is not JSON');
    }
  }
  if (!Array.isArray(r) || r.length !== 2)
    throw new NrasFormatError(
      `NRAS response must be [["JWT", overall], {"GPU-0": token, ...}]; got ${Array.isArray(r) ? `an array of ${r.length}` : JSON.stringify(r)?.slice(0, 200)}`,
    );
  const [head, devs] = r as [unknown, unknown];
  if (
    !Array.isArray(head) ||
    head.length !== 2 ||
    head[0] !== 'JWT' ||
    typeof head[1] !== 'string' ||
    !JWT_RE.test(head[1])
  )
    throw new NrasFormatError('first element must be ["JWT", "<compact JWT>"]');
  if (typeof devs !== 'object' || devs === null || Array.isArray(devs))
    throw new NrasFormatError('second element must be an object of device tokens');
  const devices: Record<string, string> = {};
  if (head[1].length > NRAS_LIMITS.maxTokenChars)
    throw new NrasFormatError(`NVIDIA_NRAS_SIZE: overall token over ${NRAS_LIMITS.maxTokenChars} characters`);
  const entries = Object.entries(devs as Record<string, unknown>);
  if (entries.length > NRAS_LIMITS.maxDeviceTokens)
    throw new NrasFormatError(
      `NVIDIA_NRAS_SIZE: ${entries.length} device tokens, over the limit of ${NRAS_LIMITS.maxDeviceTokens}`,
    );
  for (const [k, v] of entries) {
    if (typeof v === 'string' && v.length > NRAS_LIMITS.maxTokenChars)
      throw new NrasFormatError(
        `NVIDIA_NRAS_SIZE: device token '${k}' over ${NRAS_LIMITS.maxTokenChars} characters`,
      );
    if (typeof v !== 'string' || !JWT_RE.test(v))
      throw new NrasFormatError(`device token '${k}' is not a compact JWT`);
    devices[k] = v;
  }
  if (Object.keys(devices).length === 0) throw new NrasFormatError('no device tokens');
  return { overall: head[1], devices };
}

export async function verifyNrasResponse(response: unknown, opts: VerifyNrasOptions): Promise<Verdict> {
  const checks: Check[] = [];
  const parts: Verdict[] = [];
  const now = opts.now ?? new Date();
  const issuers =
    opts.issuer === undefined ? [NRAS_ISSUER] : Array.isArray(opts.issuer) ? opts.issuer : [opts.issuer];
  let parsed: ParsedNrasResponse;
  try {
    parsed = parseNrasResponse(response);
    checks.push(
      c(
        'nvidia.nras.format',
        'pass',
        `overall token + ${Object.keys(parsed.devices).length} device token(s)`,
      ),
    );
  } catch (e) {
    checks.push(c('nvidia.nras.format', 'fail', (e as Error).message));
    return verdict('nvidia-nras', checks);
  }
  let expected: Uint8Array | undefined;
  try {
    expected = toNonceBytes(opts.nonce);
  } catch (e) {
    checks.push(c('nvidia.nras.nonce', 'fail', `expected nonce: ${(e as Error).message}`));
  }

  // Keys: NVIDIA's pinned keys plus any added ones; the overall token, its submods, the policy.
  const k = await loadNrasKeys(parsed, opts, now, checks);
  const tokOpts = { issuers, now, tolerance: opts.clockToleranceSec ?? 0, knownKids: k.knownKids };
  const { op, fields } = await checkOverallToken(parsed, k, tokOpts, expected, checks);
  const submodDigests = checkSubmods(op, parsed, checks);
  const deviceNames = Object.keys(parsed.devices).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const policy = checkOverallPolicy(op, opts.policy, deviceNames.length, checks, fields);
  // Device tokens, one sub-verdict each.
  for (const name of deviceNames)
    parts.push(
      await verifyDeviceToken(name, parsed.devices[name]!, k, tokOpts, submodDigests, expected, policy),
    );
  return verdict('nvidia-nras', checks, { fields, parts });
}
