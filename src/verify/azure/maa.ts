/**
 * Microsoft Azure Attestation (MAA) tokens, verified offline: an RS256 JWT signed by a key of the
 * attestation provider, whose JWKS (`<issuer>/certs`) carries each key as a certificate chain in `x5c`.
 * Each step is a named check: token format, algorithm, signing key (by kid; the x5c certificate chain and
 * its validity; optionally pinned certificates), signature, issuer, audience, expiry, and the
 * `x-ms-isolation-tee` / `x-ms-runtime` claims per policy. The SEV-SNP / TDX claims are exposed.
 */
import {
  compactVerify,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  importX509,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import { decodeBase64Loose, decodeOid, readTree } from '../../formats/index.ts';
import { bytesEqual } from '../../util/text-codec.ts';
import { PolicyError } from '../errors.ts';
import { certSignatureValid, jwkMatchesSpki, parseCertificateCached } from '../nvidia/certs.ts';
import type { Check, Verdict } from '../types.ts';
import { verdict } from '../types.ts';
import type { Certificate } from '../x509.ts';

export interface MaaPolicy {
  /** Accepted `iss` values (exact). Required: a token from any other attestation provider is refused. */
  issuers: string[];
  /** Required `aud`, when the relying party set one in the request. */
  audience?: string;
  /** Accepted `x-ms-isolation-tee.x-ms-attestation-type` (default: sevsnpvm, tdxvm). */
  attestationTypes: string[];
  /** Require `x-ms-isolation-tee` (a confidential VM; default true). */
  requireIsolationTee: boolean;
  /** Required `x-ms-compliance-status` (default 'azure-compliant-cvm'); null: not checked. */
  complianceStatus: string | null;
  /** Refuse debuggable guests (`x-ms-sevsnpvm-is-debuggable`, TDX debug attribute) (default true). */
  rejectDebuggable: boolean;
  /** Entries that must be present with exactly these values in the top-level `x-ms-runtime` (client payload). */
  runtime: Record<string, unknown>;
}

const POLICY_KEYS = new Set([
  'issuers',
  'audience',
  'attestationTypes',
  'requireIsolationTee',
  'complianceStatus',
  'rejectDebuggable',
  'runtime',
]);

/** Validate an MAA policy object (unknown keys are an error). */
export function parseMaaPolicy(input: unknown): MaaPolicy {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new PolicyError('INVALID_POLICY', 'maa policy: not a JSON object');
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!POLICY_KEYS.has(k)) throw new PolicyError('INVALID_POLICY', `maa policy: unknown key '${k}'`);
  const strs = (v: unknown, what: string): string[] => {
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === ''))
      throw new PolicyError('INVALID_POLICY', `maa policy: ${what} must be a non-empty array of strings`);
    return v as string[];
  };
  const out: MaaPolicy = {
    issuers: strs(o.issuers, 'issuers'),
    attestationTypes:
      o.attestationTypes === undefined ? ['sevsnpvm', 'tdxvm'] : strs(o.attestationTypes, 'attestationTypes'),
    requireIsolationTee: true,
    complianceStatus: 'azure-compliant-cvm',
    rejectDebuggable: true,
    runtime: {},
  };
  if (o.audience !== undefined) {
    if (typeof o.audience !== 'string')
      throw new PolicyError('INVALID_POLICY', 'maa policy: audience must be a string');
    out.audience = o.audience;
  }
  for (const k of ['requireIsolationTee', 'rejectDebuggable'] as const)
    if (o[k] !== undefined) {
      if (typeof o[k] !== 'boolean')
        throw new PolicyError('INVALID_POLICY', `maa policy: ${k} must be true or false`);
      out[k] = o[k] as boolean;
    }
  if (o.complianceStatus !== undefined) {
    if (o.complianceStatus !== null && typeof o.complianceStatus !== 'string')
      throw new PolicyError('INVALID_POLICY', 'maa policy: complianceStatus must be a string or null');
    out.complianceStatus = o.complianceStatus as string | null;
  }
  if (o.runtime !== undefined) {
    if (o.runtime === null || typeof o.runtime !== 'object' || Array.isArray(o.runtime))
      throw new PolicyError('INVALID_POLICY', 'maa policy: runtime must be an object');
    out.runtime = o.runtime as Record<string, unknown>;
  }
  return out;
}

export interface VerifyMaaOptions {
  /** The attestation provider's key set (its `/certs` document), pinned or supplied. */
  jwks: JSONWebKeySet;
  policy: MaaPolicy;
  /** Verification time (default: now). */
  now?: Date;
  /** Clock tolerance for exp/nbf, seconds (default 60). */
  clockToleranceSeconds?: number;
  /** When given, the key's x5c chain must contain one of these certificates (PEM or DER). */
  pinnedCerts?: ReadonlyArray<string | Uint8Array>;
}

const pass = (id: string, detail: string): Check => ({ id, outcome: 'pass', detail });
const fail = (id: string, detail: string): Check => ({ id, outcome: 'fail', detail });
const skip = (id: string, detail: string): Check => ({ id, outcome: 'skip', detail });

/** Verify an MAA JWT. Never throws for a bad token: every problem is a failed check. */
export async function verifyMaaToken(token: string, opts: VerifyMaaOptions): Promise<Verdict> {
  const checks: Check[] = [];
  const fields: Record<string, unknown> = {};
  const done = () => verdict('azure-maa', checks, { fields });
  const now = opts.now ?? new Date();
  const tol = opts.clockToleranceSeconds ?? 60;
  // 1. Format.
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: JWTPayload;
  if (typeof token !== 'string' || token.length > 256 * 1024) {
    checks.push(fail('maa.token.format', 'MAA_TOKEN_FORMAT: not a token of at most 256 KiB'));
    return done();
  }
  try {
    header = decodeProtectedHeader(token.trim());
    payload = decodeJwt(token.trim());
    checks.push(
      pass('maa.token.format', `JWT, kid ${String(header.kid)}, jku ${String(header.jku ?? '(none)')}`),
    );
  } catch (e) {
    checks.push(fail('maa.token.format', `MAA_TOKEN_FORMAT: ${(e as Error).message}`));
    return done();
  }
  token = token.trim();
  Object.assign(fields, exposeClaims(payload));
  // 2. Algorithm: MAA signs RS256.
  if (header.alg !== 'RS256') {
    checks.push(fail('maa.token.alg', `MAA_TOKEN_ALG: alg ${String(header.alg)} (MAA tokens are RS256)`));
    return done();
  }
  checks.push(pass('maa.token.alg', 'RS256'));
  // 3. The signing key: by kid from the key set, its certificate chain.
  const key = await signingKey(header.kid, opts, now, checks);
  // 4. Signature.
  if (key) {
    try {
      await compactVerify(token, key, { algorithms: ['RS256'] });
      checks.push(pass('maa.token.signature', `RS256 signature verifies with key ${String(header.kid)}`));
    } catch (e) {
      checks.push(fail('maa.token.signature', `MAA_TOKEN_SIGNATURE: ${(e as Error).message}`));
    }
  } else checks.push(fail('maa.token.signature', 'no signing key: the signature cannot be checked'));
  // 5. Issuer, audience, time.
  const p = opts.policy;
  checks.push(
    typeof payload.iss === 'string' && p.issuers.includes(payload.iss)
      ? pass('maa.token.issuer', `iss ${payload.iss}`)
      : fail(
          'maa.token.issuer',
          `MAA_TOKEN_ISSUER: iss ${String(payload.iss)} is not one of ${p.issuers.join(', ')}`,
        ),
  );
  if (p.audience !== undefined) {
    const aud = payload.aud;
    const ok = aud === p.audience || (Array.isArray(aud) && aud.includes(p.audience));
    checks.push(
      ok
        ? pass('maa.token.audience', `aud ${p.audience}`)
        : fail('maa.token.audience', `MAA_TOKEN_AUDIENCE: aud ${JSON.stringify(aud)} ≠ ${p.audience}`),
    );
  } else checks.push(skip('maa.token.audience', 'no audience required by the policy'));
  const t = Math.floor(now.getTime() / 1000);
  if (typeof payload.exp !== 'number') checks.push(fail('maa.token.expiry', 'MAA_TOKEN_EXPIRY: no exp'));
  else if (t - tol >= payload.exp)
    checks.push(
      fail(
        'maa.token.expiry',
        `MAA_TOKEN_EXPIRY: expired at ${new Date(payload.exp * 1000).toISOString()} (now ${now.toISOString()})`,
      ),
    );
  else if (typeof payload.nbf === 'number' && t + tol < payload.nbf)
    checks.push(
      fail(
        'maa.token.expiry',
        `MAA_TOKEN_EXPIRY: not valid before ${new Date(payload.nbf * 1000).toISOString()}`,
      ),
    );
  else checks.push(pass('maa.token.expiry', `valid until ${new Date(payload.exp * 1000).toISOString()}`));
  // 6. Claims.
  checks.push(...checkMaaClaims(payload, p));
  return done();
}

/**
 * The claim checks alone (x-ms-isolation-tee, x-ms-runtime), for a token whose signature, issuer and
 * expiry were checked elsewhere (the guest API's verify_token).
 */
export function checkMaaClaims(payload: JWTPayload, policy: MaaPolicy): Check[] {
  const checks: Check[] = [];
  checkIsolationTee(payload, policy, checks);
  checkRuntime(payload, policy, checks);
  return checks;
}

function certDer(c: string | Uint8Array): Uint8Array {
  if (typeof c !== 'string') return c;
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(c);
  return decodeBase64Loose(m ? m[1]! : c);
}

/** node:crypto's name for the type of a SubjectPublicKeyInfo's key ('rsa', 'ec', …), from its algorithm OID. */
const KEY_TYPES: Record<string, string> = {
  '1.2.840.113549.1.1.1': 'rsa',
  '1.2.840.113549.1.1.10': 'rsa-pss',
  '1.2.840.10045.2.1': 'ec',
  '1.2.840.10040.4.1': 'dsa',
  '1.2.840.10046.2.1': 'dh',
  '1.3.101.110': 'x25519',
  '1.3.101.111': 'x448',
  '1.3.101.112': 'ed25519',
  '1.3.101.113': 'ed448',
};

/** The type of a SubjectPublicKeyInfo's key, as node:crypto names it. */
function keyType(spki: Uint8Array): string {
  const oid = readTree(spki).children?.[0]?.children?.[0];
  return oid?.tag === 0x06 ? (KEY_TYPES[decodeOid(oid.value)] ?? 'unknown') : 'unknown';
}

type VerifyKey = Awaited<ReturnType<typeof importX509>>;

/** The imported key of a signing certificate (certificates are cached, so a key set's keys are imported once). */
const leafKeys = new WeakMap<Certificate, Promise<VerifyKey>>();

async function signingKey(
  kid: string | undefined,
  opts: VerifyMaaOptions,
  now: Date,
  checks: Check[],
): Promise<VerifyKey | undefined> {
  const keys = Array.isArray(opts.jwks?.keys) ? opts.jwks.keys : [];
  const jwk = keys.find((k) => k.kid === kid);
  if (!jwk) {
    checks.push(
      fail('maa.key', `MAA_KEY_UNKNOWN: kid ${String(kid)} is not in the key set (${keys.length} keys)`),
    );
    return undefined;
  }
  try {
    if (Array.isArray(jwk.x5c) && jwk.x5c.length > 0) {
      const chain = jwk.x5c.map((c, i) => parseCertificateCached(c, () => decodeBase64Loose(c), `x5c[${i}]`));
      const leaf = chain[0]!;
      const problems: string[] = [];
      for (const [i, c] of chain.entries()) {
        if (!c.validAt(now))
          problems.push(`certificate ${i} (${c.subject}) not valid at ${now.toISOString()}`);
        const issuer = chain[i + 1] ?? (c.issuer === c.subject ? c : undefined);
        if (issuer && !(await certSignatureValid(c, issuer)))
          problems.push(`certificate ${i} is not signed by certificate ${i + 1}`);
      }
      if (jwk.n !== undefined && !jwkMatchesSpki({ kty: 'RSA', n: jwk.n, e: jwk.e ?? '' }, leaf.spki))
        problems.push('the JWK n/e differ from the x5c certificate key');
      const type = keyType(leaf.spki);
      if (type !== 'rsa') problems.push(`the key is ${type}, not RSA`);
      if (problems.length > 0) {
        checks.push(fail('maa.key', `MAA_KEY_CERT: ${problems.join('; ')}`));
        return undefined;
      }
      checks.push(pass('maa.key', `kid ${kid}: x5c ${chain.map((c) => c.subject).join(' → ')}`));
      if (opts.pinnedCerts && opts.pinnedCerts.length > 0) {
        const pins = opts.pinnedCerts.map(certDer);
        const hit = chain.some((c) => pins.some((p) => bytesEqual(p, c.raw)));
        checks.push(
          hit
            ? pass('maa.key.pinned', 'the x5c chain contains a pinned certificate')
            : fail('maa.key.pinned', 'MAA_KEY_PIN: no certificate of the x5c chain is pinned'),
        );
        if (!hit) return undefined;
      }
      let k = leafKeys.get(leaf);
      if (!k) {
        k = importX509(leaf.toPem(), 'RS256');
        leafKeys.set(leaf, k);
      }
      return await k;
    }
    if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e) {
      checks.push(fail('maa.key', `MAA_KEY_CERT: kid ${kid}: neither x5c nor an RSA n/e`));
      return undefined;
    }
    if (opts.pinnedCerts && opts.pinnedCerts.length > 0) {
      checks.push(
        fail('maa.key.pinned', 'MAA_KEY_PIN: the key has no x5c chain to match the pinned certificates'),
      );
      return undefined;
    }
    checks.push(pass('maa.key', `kid ${kid}: RSA key from the supplied key set (no x5c)`));
    return (await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256')) as VerifyKey;
  } catch (e) {
    checks.push(fail('maa.key', `MAA_KEY_CERT: kid ${kid}: ${(e as Error).message}`));
    return undefined;
  }
}

function checkIsolationTee(payload: JWTPayload, p: MaaPolicy, checks: Check[]): void {
  const tee = payload['x-ms-isolation-tee'] as Record<string, unknown> | undefined;
  if (!tee || typeof tee !== 'object') {
    checks.push(
      (p.requireIsolationTee ? fail : skip)(
        'maa.claims.isolation-tee',
        `${p.requireIsolationTee ? 'MAA_CLAIMS_TEE: ' : ''}no x-ms-isolation-tee claim (x-ms-attestation-type ${String(payload['x-ms-attestation-type'])}): not a confidential-VM token`,
      ),
    );
    return;
  }
  const problems: string[] = [];
  const type = tee['x-ms-attestation-type'];
  if (typeof type !== 'string' || !p.attestationTypes.includes(type))
    problems.push(`x-ms-attestation-type ${String(type)} is not one of ${p.attestationTypes.join(', ')}`);
  if (p.complianceStatus !== null && tee['x-ms-compliance-status'] !== p.complianceStatus)
    problems.push(`x-ms-compliance-status ${String(tee['x-ms-compliance-status'])} ≠ ${p.complianceStatus}`);
  if (p.rejectDebuggable) {
    // SEV-SNP: x-ms-sevsnpvm-is-debuggable; TDX: tdx_td_attributes_debug. Must say false.
    const dbg = type === 'tdxvm' ? tee.tdx_td_attributes_debug : tee['x-ms-sevsnpvm-is-debuggable'];
    if (dbg !== false) problems.push(`the guest is debuggable or the token does not say (${String(dbg)})`);
  }
  checks.push(
    problems.length === 0
      ? pass('maa.claims.isolation-tee', `${String(type)}, ${String(tee['x-ms-compliance-status'])}`)
      : fail('maa.claims.isolation-tee', `MAA_CLAIMS_TEE: ${problems.join('; ')}`),
  );
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as never)[k], (b as never)[k]));
}

function checkRuntime(payload: JWTPayload, p: MaaPolicy, checks: Check[]): void {
  const want = Object.entries(p.runtime);
  if (want.length === 0) {
    checks.push(skip('maa.claims.runtime', 'no x-ms-runtime entries required by the policy'));
    return;
  }
  const rt = payload['x-ms-runtime'];
  if (!rt || typeof rt !== 'object') {
    checks.push(fail('maa.claims.runtime', 'MAA_CLAIMS_RUNTIME: the token has no x-ms-runtime claim'));
    return;
  }
  const bad = want
    .filter(([k, v]) => !deepEqual((rt as Record<string, unknown>)[k], v))
    .map(([k]) => `x-ms-runtime.${k} differs`);
  checks.push(
    bad.length === 0
      ? pass('maa.claims.runtime', `x-ms-runtime ${want.map(([k]) => k).join(', ')} as required`)
      : fail('maa.claims.runtime', `MAA_CLAIMS_RUNTIME: ${bad.join('; ')}`),
  );
}

/** The claims a relying party reads: issuer, times, TEE type, SNP / TDX fields, runtime claims. */
function exposeClaims(p: JWTPayload): Record<string, unknown> {
  const tee = (p['x-ms-isolation-tee'] ?? {}) as Record<string, unknown>;
  const pick = (o: Record<string, unknown>, prefix: string) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => k.startsWith(prefix)));
  const out: Record<string, unknown> = {
    issuer: p.iss,
    issuedAt: typeof p.iat === 'number' ? new Date(p.iat * 1000).toISOString() : undefined,
    expires: typeof p.exp === 'number' ? new Date(p.exp * 1000).toISOString() : undefined,
    attestationType: p['x-ms-attestation-type'],
    isolationType: tee['x-ms-attestation-type'],
    complianceStatus: tee['x-ms-compliance-status'],
  };
  const snp = { ...pick(p as Record<string, unknown>, 'x-ms-sevsnpvm-'), ...pick(tee, 'x-ms-sevsnpvm-') };
  const tdx = {
    ...pick(p as Record<string, unknown>, 'x-ms-tdx-'),
    ...pick(tee, 'x-ms-tdx-'),
    ...pick(p as Record<string, unknown>, 'tdx_'),
    ...pick(tee, 'tdx_'),
  };
  if (Object.keys(snp).length > 0) out.snp = snp;
  if (Object.keys(tdx).length > 0) out.tdx = tdx;
  if (tee['x-ms-runtime'] !== undefined) out.isolationRuntime = tee['x-ms-runtime'];
  if (p['x-ms-runtime'] !== undefined) out.runtime = p['x-ms-runtime'];
  return out;
}
