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
import { createHash, createPublicKey, type JsonWebKey, type KeyObject, X509Certificate } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import { unknownCriticalExtensions } from '../../formats/index.ts';
import type { Check } from '../types.ts';
import { type Verdict, verdict } from '../types.ts';
import { compareHexNonce, toNonceBytes } from './hex.ts';
import { isJwks, type JwksSource, pinnedJwks } from './jwks.ts';
import { NRAS_PINNED_CA_SPKI_SHA256, NRAS_PINNED_JWKS, NRAS_PINNED_JWKS_DATE } from './nras-pinned-jwks.ts';

/** Bounds of an NRAS response (issue 14): real ones hold 1–8 device tokens of 2–20 KB. */
export const NRAS_LIMITS = { maxDeviceTokens: 64, maxTokenChars: 256 * 1024 } as const;

import { defaultPolicyFor, evaluateRules, type NvidiaPolicy } from './policy.ts';

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

/**
 * The `x5c` certificate chain of a JWKS key: x5c[0] must hold the same public key as the JWK, each
 * certificate must be signed by the next, and x5c[0] must be valid at `now`. Without a pinned CA the
 * chain is not anchored (NVIDIA publishes no NRAS root with the service); with `pinned` one of its
 * CAs' SPKI SHA-256 must be listed.
 */
export function checkJwkX5c(
  jwk: Record<string, unknown>,
  now: Date,
  pinned?: string[],
): { outcome: Check['outcome']; detail: string } {
  const x5c = jwk.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0)
    return pinned
      ? { outcome: 'fail', detail: 'key has no x5c chain but NRAS CAs are pinned' }
      : { outcome: 'skip', detail: 'key has no x5c chain' };
  let certs: X509Certificate[];
  try {
    certs = x5c.map((c) => new X509Certificate(Buffer.from(String(c), 'base64')));
  } catch (e) {
    return { outcome: 'fail', detail: `x5c does not parse: ${(e as Error).message}` };
  }
  const leaf = certs[0]!;
  for (const [i, c] of certs.entries()) {
    const u = unknownCriticalExtensions(new Uint8Array(c.raw));
    if (u.length > 0)
      return { outcome: 'fail', detail: `x5c[${i}] has unknown critical extension(s) ${u.join(', ')}` };
  }
  const jwkKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(leaf.publicKey).equals(spki(jwkKey)))
    return { outcome: 'fail', detail: 'x5c[0] holds a different public key than the JWK' };
  for (let i = 0; i + 1 < certs.length; i++)
    if (!certs[i]!.checkIssued(certs[i + 1]!) || !certs[i]!.verify(certs[i + 1]!.publicKey))
      return { outcome: 'fail', detail: `x5c[${i}] is not signed by x5c[${i + 1}]` };
  if (now < new Date(leaf.validFrom) || now > new Date(leaf.validTo))
    return {
      outcome: 'fail',
      detail: `signing certificate not valid at ${now.toISOString()} (${leaf.validFrom} .. ${leaf.validTo})`,
    };
  const cn = (c: X509Certificate) =>
    (c.subject.split('\n').find((l) => l.startsWith('CN=')) ?? c.subject).slice(3);
  const hashes = certs.slice(1).map((c) => createHash('sha256').update(spki(c.publicKey)).digest('hex'));
  if (pinned) {
    const want = pinned.map((h) => h.toLowerCase());
    const hit = hashes.findIndex((h) => want.includes(h));
    if (hit < 0) return { outcome: 'fail', detail: `no pinned NRAS CA in x5c (${hashes.join(', ')})` };
    return { outcome: 'pass', detail: `'${cn(leaf)}' chains to the pinned '${cn(certs[hit + 1]!)}'` };
  }
  return {
    outcome: 'pass',
    detail: `'${cn(leaf)}' valid now, signed by '${certs[1] ? cn(certs[1]) : '-'}' (chain not anchored: no NRAS CA pinned)`,
  };
}

export interface ParsedNrasResponse {
  overall: string;
  devices: Record<string, string>;
}

export class NrasFormatError extends Error {
  readonly code = 'NVIDIA_NRAS_MALFORMED';
}

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

interface TokenResult {
  payload?: JWTPayload;
  signature: Check;
  issuer: Check;
  time: Check;
}

function c(id: string, outcome: Check['outcome'], detail: string): Check {
  return { id, outcome, detail };
}

async function verifyToken(
  prefix: string,
  token: string,
  keys: ReturnType<typeof createLocalJWKSet> | undefined,
  keyError: string | undefined,
  opts: { issuers: string[]; now: Date; tolerance: number; knownKids: Set<string> },
): Promise<TokenResult> {
  const sig = `${prefix}.signature`;
  const iss = `${prefix}.issuer`;
  const time = `${prefix}.time`;
  const notReached = (why: string) => ({ issuer: c(iss, 'skip', why), time: c(time, 'skip', why) });
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch (e) {
    return {
      signature: c(sig, 'fail', `bad JWS header: ${(e as Error).message}`),
      ...notReached('token not verified'),
    };
  }
  if (header.alg !== 'ES384')
    return {
      signature: c(sig, 'fail', `alg '${String(header.alg)}' not allowed (ES384 only)`),
      ...notReached('token not verified'),
    };
  if (typeof header.kid !== 'string' || header.kid.length === 0)
    return { signature: c(sig, 'fail', 'no kid in the JWS header'), ...notReached('token not verified') };
  if (!keys)
    return { signature: c(sig, 'fail', `no NRAS keys: ${keyError}`), ...notReached('token not verified') };
  if (!opts.knownKids.has(header.kid))
    return {
      signature: c(sig, 'fail', `unknown kid '${header.kid}': not in the NRAS JWKS`),
      ...notReached('token not verified'),
    };
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ['ES384'],
      issuer: opts.issuers,
      currentDate: opts.now,
      clockTolerance: opts.tolerance,
      requiredClaims: ['exp', 'iss'],
    });
    return {
      payload,
      signature: c(sig, 'pass', `ES384 signature verifies with kid ${header.kid}`),
      issuer: c(iss, 'pass', `iss ${String(payload.iss)}`),
      time: c(
        time,
        'pass',
        `valid at ${opts.now.toISOString()} (nbf ${payload.nbf ?? '-'}, exp ${payload.exp})`,
      ),
    };
  } catch (e) {
    const okSig = c(sig, 'pass', `ES384 signature verifies with kid ${header.kid}`);
    if (e instanceof errors.JWTExpired)
      return {
        payload: e.payload,
        signature: okSig,
        issuer: c(
          iss,
          opts.issuers.includes(String(e.payload.iss)) ? 'pass' : 'fail',
          `iss ${String(e.payload.iss)}`,
        ),
        time: c(
          time,
          'fail',
          `expired: exp ${e.payload.exp} <= ${Math.floor(opts.now.getTime() / 1000)} (${opts.now.toISOString()})`,
        ),
      };
    if (e instanceof errors.JWTClaimValidationFailed) {
      const p = e.payload;
      if (e.claim === 'iss')
        return {
          payload: p,
          signature: okSig,
          issuer: c(iss, 'fail', `iss '${String(p.iss)}' is not ${opts.issuers.join(' or ')}`),
          time: c(time, 'skip', 'not evaluated (issuer rejected first)'),
        };
      if (e.claim === 'nbf')
        return {
          payload: p,
          signature: okSig,
          issuer: c(iss, 'pass', `iss ${String(p.iss)}`),
          time: c(
            time,
            'fail',
            `not yet valid: nbf ${p.nbf} > ${Math.floor(opts.now.getTime() / 1000)} (${opts.now.toISOString()})`,
          ),
        };
      return {
        payload: p,
        signature: okSig,
        issuer: c(iss, 'skip', 'not evaluated'),
        time: c(time, 'fail', `claim '${e.claim}': ${e.message}`),
      };
    }
    if (e instanceof errors.JWSSignatureVerificationFailed)
      return {
        signature: c(sig, 'fail', `ES384 signature does not verify with kid ${header.kid}`),
        ...notReached('token not verified'),
      };
    return {
      signature: c(sig, 'fail', `${(e as Error).name}: ${(e as Error).message}`),
      ...notReached('token not verified'),
    };
  }
}

function kidOf(token: string): string | undefined {
  try {
    const k = decodeProtectedHeader(token).kid;
    return typeof k === 'string' ? k : undefined;
  } catch {
    return undefined;
  }
}

const ERROR_CLAIM = /error/i;

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

  // Keys: NVIDIA's pinned keys plus any added ones (one refetch of an added source on an unknown kid).
  const pinnedSet: JSONWebKeySet = opts.pinnedKeys === false ? { keys: [] } : NRAS_PINNED_JWKS;
  const source: JwksSource | undefined =
    opts.jwks === undefined
      ? undefined
      : isJwks(opts.jwks)
        ? pinnedJwks(opts.jwks)
        : (opts.jwks as JwksSource);
  const pins = opts.pinnedNrasCaSpkiSha256 ?? [...NRAS_PINNED_CA_SPKI_SHA256];
  const caPins = opts.requireNrasCa === false ? undefined : pins;
  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let keyError: string | undefined;
  const knownKids = new Set<string>();
  let keySet: JSONWebKeySet | undefined;
  const kidsOf = (s: JSONWebKeySet) =>
    new Set(s.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string'));
  const merge = (added: JSONWebKeySet): { set: JSONWebKeySet; ignored: number } => {
    const have = kidsOf(pinnedSet);
    const extra = added.keys.filter((k) => typeof k.kid !== 'string' || !have.has(k.kid));
    return { set: { keys: [...pinnedSet.keys, ...extra] }, ignored: added.keys.length - extra.length };
  };
  let ignored = 0;
  let addedCount = 0;
  try {
    let added = source ? await source.get() : { keys: [] };
    const kids = [parsed.overall, ...Object.values(parsed.devices)]
      .map(kidOf)
      .filter((k): k is string => !!k);
    if (source?.refresh && kids.some((k) => !kidsOf(merge(added).set).has(k))) added = await source.refresh();
    const m = merge(added);
    ignored = m.ignored;
    addedCount = added.keys.length - m.ignored;
    for (const k of kidsOf(m.set)) knownKids.add(k);
    keys = createLocalJWKSet(m.set);
    keySet = m.set;
  } catch (e) {
    keyError = (e as Error).message;
  }
  checks.push(
    c(
      'nvidia.nras.keys',
      keySet ? 'pass' : 'fail',
      keySet
        ? `${pinnedSet.keys.length} pinned NVIDIA key(s) (JWKS of ${NRAS_PINNED_JWKS_DATE})${source ? ` + ${addedCount} added from ${source.description}` : ''}${ignored ? ` (${ignored} added key(s) ignored: kid already pinned)` : ''}; signing keys must chain to ${caPins ? `a pinned NRAS CA (${caPins.map((h) => `${h.slice(0, 12)}…`).join(', ')})` : 'nothing (requireNrasCa=false)'}`
        : `no NRAS keys: ${keyError}`,
    ),
  );
  /** The x5c verdict for the key of `token` (undefined when it has no key in the set). */
  const keyTrust = (token: string) => {
    const kid = kidOf(token);
    const jwk = keySet?.keys.find((k) => k.kid === kid) as Record<string, unknown> | undefined;
    return jwk ? checkJwkX5c(jwk, now, caPins) : undefined;
  };
  const tokOpts = { issuers, now, tolerance: opts.clockToleranceSec ?? 0, knownKids };

  // Overall token
  const overall = await verifyToken('nvidia.nras', parsed.overall, keys, keyError, tokOpts);
  checks.push(overall.signature, overall.issuer, overall.time);
  if (overall.signature.outcome === 'pass' && keySet) {
    const x = keyTrust(parsed.overall) ?? { outcome: 'fail' as const, detail: 'key not found' };
    checks.push(c('nvidia.nras.signing-cert', x.outcome, x.detail));
  } else checks.push(c('nvidia.nras.signing-cert', 'skip', 'overall token not verified'));
  const op = overall.payload as Record<string, unknown> | undefined;
  const fields: Record<string, unknown> = {};
  if (op) {
    for (const k of [
      'x-nvidia-ver',
      'x-nvidia-overall-att-result',
      'iat',
      'nbf',
      'exp',
      'iss',
      'jti',
      'eat_nonce',
    ] as const)
      if (op[k] !== undefined) fields[k] = op[k];
  }
  if (expected) {
    if (op) {
      const n = compareHexNonce(op.eat_nonce, expected);
      checks.push(c('nvidia.nras.nonce', n.ok ? 'pass' : 'fail', `overall eat_nonce ${n.detail}`));
    } else checks.push(c('nvidia.nras.nonce', 'skip', 'overall token not verified'));
  }

  // Submods ↔ device tokens
  const submodDigests = new Map<string, string>();
  if (op) {
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
  } else checks.push(c('nvidia.nras.submods', 'skip', 'overall token not verified'));

  // Policy
  const policy = opts.policy ?? defaultPolicyFor(op?.['x-nvidia-ver']);
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
  const deviceNames = Object.keys(parsed.devices).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (policy?.gpuCount !== undefined)
    checks.push(
      c(
        'nvidia.nras.gpu-count',
        deviceNames.length === policy.gpuCount ? 'pass' : 'fail',
        `${deviceNames.length} GPU token(s), policy requires ${policy.gpuCount}`,
      ),
    );

  // Device tokens
  for (const name of deviceNames) {
    const token = parsed.devices[name]!;
    const dc: Check[] = [];
    const r = await verifyToken('nvidia.nras.gpu', token, keys, keyError, tokOpts);
    dc.push(r.signature, r.issuer, r.time);
    if (r.signature.outcome === 'pass') {
      const x = keyTrust(token) ?? { outcome: 'fail' as const, detail: 'key not found' };
      dc.push(c('nvidia.nras.gpu.signing-cert', x.outcome, `${name}: ${x.detail}`));
    } else dc.push(c('nvidia.nras.gpu.signing-cert', 'skip', `${name}: token not verified`));
    const want = submodDigests.get(name);
    const got = createHash('sha256').update(token, 'ascii').digest('hex');
    if (want === undefined)
      dc.push(c('nvidia.nras.gpu.digest', 'fail', `${name}: no submod digest in a verified overall token`));
    else
      dc.push(
        c(
          'nvidia.nras.gpu.digest',
          want === got ? 'pass' : 'fail',
          want === got
            ? `${name}: SHA-256 of the token equals the overall submod digest`
            : `${name}: SHA-256 ${got} != submod digest ${want}`,
        ),
      );
    const p = r.payload as Record<string, unknown> | undefined;
    const f: Record<string, unknown> = { name };
    if (p) {
      for (const k of [
        'hwmodel',
        'ueid',
        'oemid',
        'measres',
        'secboot',
        'dbgstat',
        'x-nvidia-gpu-driver-version',
        'x-nvidia-gpu-vbios-version',
        'x-nvidia-attestation-warning',
        'x-nvidia-mismatch-measurement-records',
      ])
        if (p[k] !== undefined) f[k] = p[k];
      if (expected) {
        const n = compareHexNonce(p.eat_nonce, expected);
        dc.push(c('nvidia.nras.gpu.nonce', n.ok ? 'pass' : 'fail', `${name}: eat_nonce ${n.detail}`));
      }
      const errs = Object.entries(p).filter(
        ([k, v]) => ERROR_CLAIM.test(k) && v !== null && v !== undefined && v !== false && v !== '',
      );
      const warn = p['x-nvidia-attestation-warning'];
      if (errs.length > 0)
        dc.push(
          c(
            'nvidia.nras.gpu.errors',
            'fail',
            `${name}: ${errs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('; ')}`,
          ),
        );
      else
        dc.push(
          c(
            'nvidia.nras.gpu.errors',
            'pass',
            `${name}: no error claims${warn ? `; warning: ${String(warn)}` : ''}`,
          ),
        );
      if (policy) {
        const m = evaluateRules(p, policy['detached-claims'] ?? {});
        if (p.measres !== undefined && p.measres !== 'success' && p['x-nvidia-mismatch-measurement-records'])
          m.push(
            `mismatching measurements: ${JSON.stringify(p['x-nvidia-mismatch-measurement-records']).slice(0, 300)}`,
          );
        dc.push(
          m.length === 0
            ? c('nvidia.nras.gpu.policy', 'pass', `${name}: claims meet '${policy.name}'`)
            : c('nvidia.nras.gpu.policy', 'fail', `${name}: ${m.join('; ')}`),
        );
      } else dc.push(c('nvidia.nras.gpu.policy', 'fail', `${name}: no policy`));
    } else {
      for (const id of ['nvidia.nras.gpu.nonce', 'nvidia.nras.gpu.errors', 'nvidia.nras.gpu.policy'])
        dc.push(c(id, 'skip', `${name}: token not verified`));
    }
    parts.push(verdict('nvidia-nras-gpu', dc, { fields: f }));
  }
  return verdict('nvidia-nras', checks, { fields, parts });
}
