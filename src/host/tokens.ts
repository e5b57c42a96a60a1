/**
 * Token verification for `verify_token`: real signature checks (jose `jwtVerify`) against configured
 * issuers only, with a per-issuer algorithm allow-list (never `none`, never HS*), required `exp`,
 * `exp`/`nbf` with a clock tolerance, and the issuer matched exactly.
 *
 * Issuers: our own attested session key (always), and any configured: NVIDIA NRAS, Azure Attestation,
 * Intel Trust Authority, each with a JWKS given inline, as a file (works offline) or as a URL (fetched
 * with a cache; a token whose `kid` is not in the cached set triggers one refetch, rate-limited).
 */

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import { checkMaaClaims, type MaaPolicy, parseMaaPolicy } from '../verify/index.ts';
import { HostError } from './errors.ts';

/** Asymmetric algorithms we accept at all. */
export const ASYMMETRIC_ALGS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];

export interface IssuerConfig {
  /** Label for logs: 'self', 'nvidia-nras', 'azure-attestation', 'intel-trust-authority', … */
  name: string;
  /** Exact `iss` value. */
  issuer: string;
  /** Allowed `alg` values (asymmetric only). */
  algorithms: string[];
  jwks?: JSONWebKeySet;
  jwksFile?: string;
  jwksUrl?: string;
  /** A single public key. */
  publicJwk?: JWK;
  /** Keys fetched on every verification (our own session key: current + previous epoch). */
  jwksProvider?: () => Promise<JSONWebKeySet>;
  /** Expected `aud`, when the issuer sets one. */
  audience?: string;
  /** jwksUrl: minimum time between two fetches (a kid miss refetches once per cooldown). Default 30 s. */
  jwksCooldownMs?: number;
  /** jwksUrl: cache lifetime. Default 10 min. */
  jwksCacheMaxAgeMs?: number;
  /**
   * Microsoft Azure Attestation claim policy (src/verify/azure/maa.ts MaaPolicy input without `issuers`:
   * attestationTypes, requireIsolationTee, complianceStatus, rejectDebuggable, runtime). When set, a token
   * from this issuer is valid only when its x-ms-isolation-tee / x-ms-runtime claims pass it too.
   */
  maa?: Record<string, unknown>;
}

/** Well-known issuers; override `issuer`/`jwksUrl` for your tenant, or set `jwksFile` to work offline. */
export const ISSUER_PRESETS: Record<string, Omit<IssuerConfig, 'name'>> = {
  'nvidia-nras': {
    issuer: 'https://nras.attestation.nvidia.com',
    algorithms: ['ES384'],
    jwksUrl: 'https://nras.attestation.nvidia.com/.well-known/jwks.json',
  },
  'azure-attestation': {
    // per attestation provider: https://<name>.<region>.attest.azure.net; keys at <issuer>/certs
    issuer: 'https://sharedeus.eus.attest.azure.net',
    algorithms: ['RS256'],
    jwksUrl: 'https://sharedeus.eus.attest.azure.net/certs',
  },
  'intel-trust-authority': {
    issuer: 'https://portal.trustauthority.intel.com',
    algorithms: ['PS384', 'RS256'],
    jwksUrl: 'https://portal.trustauthority.intel.com/certs',
  },
};

export class TokenConfigError extends HostError<'INVALID_ISSUER_CONFIG'> {
  constructor(message: string) {
    super('INVALID_ISSUER_CONFIG', message);
  }
}

export interface TokenVerification {
  valid: boolean;
  issuer?: string;
  issuerName?: string;
  reason?: string;
  claims?: JWTPayload;
}

type KeyGetter = Parameters<typeof jwtVerify>[1];

interface Resolved {
  cfg: IssuerConfig;
  key: () => Promise<KeyGetter>;
}

/** Expand `{ "preset": "nvidia-nras", … }` entries and check every issuer config. */
export function normalizeIssuers(
  list: readonly (IssuerConfig | (Partial<IssuerConfig> & { preset?: string }))[],
): IssuerConfig[] {
  return list.map((raw, i) => {
    const preset = (raw as { preset?: string }).preset;
    const base = preset ? ISSUER_PRESETS[preset] : undefined;
    if (preset && !base) throw new TokenConfigError(`issuers[${i}]: unknown preset '${preset}'`);
    const { preset: _p, ...rest } = raw as Partial<IssuerConfig> & { preset?: string };
    const cfg = { name: preset ?? `issuer-${i}`, ...base, ...rest } as IssuerConfig;
    if (typeof cfg.issuer !== 'string' || cfg.issuer === '')
      throw new TokenConfigError(`issuers[${i}]: issuer missing`);
    if (!Array.isArray(cfg.algorithms) || cfg.algorithms.length === 0) {
      throw new TokenConfigError(`issuers[${i}]: algorithms missing`);
    }
    for (const a of cfg.algorithms) {
      if (!ASYMMETRIC_ALGS.includes(a))
        throw new TokenConfigError(`issuers[${i}]: algorithm '${a}' refused (asymmetric only)`);
    }
    if (cfg.maa !== undefined) {
      try {
        parseMaaPolicy({ ...cfg.maa, issuers: [cfg.issuer] });
      } catch (e) {
        throw new TokenConfigError(`issuers[${i}] (${cfg.issuer}): maa: ${(e as Error).message}`);
      }
    }
    if (!cfg.jwks && !cfg.jwksFile && !cfg.jwksUrl && !cfg.publicJwk && !cfg.jwksProvider) {
      throw new TokenConfigError(`issuers[${i}] (${cfg.issuer}): give jwks, jwksFile, jwksUrl or publicJwk`);
    }
    return cfg;
  });
}

export class TokenVerifier {
  private readonly issuers = new Map<string, Resolved>();

  constructor(
    issuers: readonly IssuerConfig[],
    private readonly options: { clockToleranceSeconds?: number; now?: () => number } = {},
  ) {
    for (const cfg of normalizeIssuers(issuers)) this.issuers.set(cfg.issuer, { cfg, key: this.keyFor(cfg) });
  }

  /** Add (or replace) an issuer, e.g. our own session key once the attester exists. */
  addIssuer(cfg: IssuerConfig): void {
    const [c] = normalizeIssuers([cfg]);
    this.issuers.set(c!.issuer, { cfg: c!, key: this.keyFor(c!) });
  }

  get issuerNames(): string[] {
    return [...this.issuers.values()].map((r) => `${r.cfg.name} (${r.cfg.issuer})`);
  }

  private keyFor(cfg: IssuerConfig): () => Promise<KeyGetter> {
    let cached: Promise<KeyGetter> | undefined;
    const provider = cfg.jwksProvider;
    if (provider) return async () => createLocalJWKSet(await provider()) as KeyGetter;
    return () => {
      if (cached) return cached;
      if (cfg.publicJwk) {
        const alg = cfg.publicJwk.alg ?? cfg.algorithms[0]!;
        cached = importJWK(cfg.publicJwk, alg) as Promise<KeyGetter>;
      } else if (cfg.jwks) cached = Promise.resolve(createLocalJWKSet(withX5cKeys(cfg.jwks)) as KeyGetter);
      else if (cfg.jwksFile) {
        const file = cfg.jwksFile;
        cached = Promise.resolve().then(() => {
          const jwks = JSON.parse(readFileSync(file, 'utf8')) as JSONWebKeySet;
          if (!jwks || !Array.isArray(jwks.keys))
            throw new TokenConfigError(`${file}: not a JWKS ({"keys": [...]})`);
          return createLocalJWKSet(withX5cKeys(jwks)) as KeyGetter;
        });
        // a broken file must not stay cached forever
        cached.catch(() => {
          cached = undefined;
        });
      } else {
        cached = Promise.resolve(
          createRemoteJWKSet(new URL(cfg.jwksUrl!), {
            cacheMaxAge: cfg.jwksCacheMaxAgeMs ?? 10 * 60_000,
            cooldownDuration: cfg.jwksCooldownMs ?? 30_000,
            timeoutDuration: 5_000,
          }) as KeyGetter,
        );
      }
      return cached;
    };
  }

  async verify(token: string): Promise<TokenVerification> {
    let alg: string | undefined;
    let iss: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      alg = header.alg;
      iss = decodeJwt(token).iss;
    } catch (e) {
      return { valid: false, reason: `malformed token: ${(e as Error).message}` };
    }
    if (!alg || alg === 'none' || !ASYMMETRIC_ALGS.includes(alg)) {
      return { valid: false, reason: `algorithm '${alg ?? '(missing)'}' refused` };
    }
    if (!iss) return { valid: false, reason: 'token has no iss' };
    const r = this.issuers.get(iss);
    if (!r) return { valid: false, issuer: iss, reason: `issuer '${iss}' is not configured` };
    if (!r.cfg.algorithms.includes(alg)) {
      return {
        valid: false,
        issuer: iss,
        issuerName: r.cfg.name,
        reason: `algorithm ${alg} not allowed for ${r.cfg.name}`,
      };
    }
    try {
      const key = await r.key();
      const now = this.options.now?.();
      const { payload } = await jwtVerify(token, key, {
        issuer: r.cfg.issuer,
        algorithms: r.cfg.algorithms,
        clockTolerance: this.options.clockToleranceSeconds ?? 60,
        requiredClaims: ['exp'],
        ...(r.cfg.audience ? { audience: r.cfg.audience } : {}),
        ...(now !== undefined ? { currentDate: new Date(now) } : {}),
      });
      if (r.cfg.maa !== undefined) {
        const policy: MaaPolicy = parseMaaPolicy({ ...r.cfg.maa, issuers: [r.cfg.issuer] });
        const bad = checkMaaClaims(payload, policy).filter((c) => c.outcome === 'fail');
        if (bad.length > 0)
          return {
            valid: false,
            issuer: iss,
            issuerName: r.cfg.name,
            reason: bad.map((c) => `${c.id}: ${c.detail}`).join('; '),
          };
      }
      return { valid: true, issuer: iss, issuerName: r.cfg.name, claims: payload };
    } catch (e) {
      const code = (e as { code?: string }).code;
      return {
        valid: false,
        issuer: iss,
        issuerName: r.cfg.name,
        reason: `${code ?? 'ERROR'}: ${(e as Error).message}`,
      };
    }
  }
}

/**
 * Keys published only as a certificate chain (`x5c`, no `n`/`e`: Microsoft Azure Attestation's `/certs`)
 * get their public key from the leaf certificate, so jose can use them.
 */
export function withX5cKeys(set: JSONWebKeySet): JSONWebKeySet {
  return {
    keys: set.keys.map((k) => {
      if (k.n !== undefined || k.x !== undefined || !Array.isArray(k.x5c) || k.x5c.length === 0) return k;
      try {
        const pub = new X509Certificate(Buffer.from(k.x5c[0]!, 'base64')).publicKey.export({ format: 'jwk' });
        return { ...k, ...pub, kty: pub.kty ?? k.kty } as JWK;
      } catch {
        return k; // jose rejects it as it is
      }
    }),
  };
}
