/**
 * The Attester turns execution claims into attestation envelopes (docs/binding.md):
 * - per-request: fresh CPU evidence whose REPORT_DATA = reportDataFor(claim);
 * - session-key: each session has an ECDSA P-384 key (JWTs, ES384) and an ECDSA P-256 claim key, both
 *   attested once per key epoch (REPORT_DATA = sessionKeyReportData({spki, claimSpki, epoch, validity, kid},
 *   nonce)); the
 *   claim key signs encodeClaim(claim) for every execution (ES256: P-256 signs ~10× faster than P-384), or
 *   with `claimSigning: 'batched'` the Merkle root of the claims finished together (claim-batcher.ts).
 * It also issues ES384 JWTs from the attested P-384 session key (engineer E's `attest_vm` tokens).
 */

import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { promisify } from 'node:util';
import { type JWK, type JWTPayload, SignJWT } from 'jose';
import {
  type AttestationEnvelope,
  type AttestationMode,
  b64,
  bytesToHex,
  CLAIM_SIGNATURE_ALG,
  type ClaimDraft,
  claimToJson,
  DEFAULT_SEAL_SUITE,
  ENVELOPE_FORMAT,
  ENVELOPE_VERSION,
  type ExecutionClaim,
  encodeClaim,
  evidenceToJson,
  generateSealKeyPair,
  gpuBindingData,
  gpuEvidenceDigest,
  reportDataFor,
  type SealKeyPair,
  type SessionKeyData,
  type SessionKeyJson,
  sessionKeyReportData,
  TLS_KEY_ORIGINS,
  type TlsKeyOrigin,
} from '../binding/index.ts';
import {
  CLAIM_SIGNING_MODES,
  ClaimBatcher,
  type ClaimBatchOptions,
  type ClaimSigningMode,
  checkClaimBatchOptions,
} from './claim-batcher.ts';
import { TeeError } from './errors.ts';
import type { CpuEvidence, TeeProvider } from './types.ts';

const signAsync = promisify(sign);

export interface AttesterOptions {
  /** Session key lifetime in ms (default 1 hour). A new key (epoch + 1) is made and attested after it. */
  sessionKeyLifetimeMs?: number;
  /** JWT issuer (default 'wasmvm-tee'). */
  issuer?: string;
  /** Clock (tests). */
  now?: () => number;
  /**
   * The server's build digest, 64 hex digits ('sha256:' prefix allowed; src/version-digest.ts): bound into
   * every session REPORT_DATA and every claim (claim.serverBuildSha256). Absent: not reported.
   */
  serverBuildSha256?: string;
  /**
   * The HPKE suite of every session's sealing key (binding SEAL_SUITES; default DEFAULT_SEAL_SUITE), or
   * false for sessions without one. The key pair is made here, with the session keys, inside the TEE.
   */
  sealSuite?: string | false;
  /**
   * The server's TLS key, bound into every session (REPORT_DATA session-key/v5; docs/sealed-execution.md,
   * "Attested TLS"): SHA-256 of its DER SubjectPublicKeyInfo and where it came from. Absent: no TLS key
   * is bound (session-key/v4).
   */
  tlsKey?: { spkiSha256: Uint8Array; origin: TlsKeyOrigin };
  /**
   * Session-key mode: 'per-claim' (default) signs encodeClaim(claim) per execution; 'batched' signs the
   * Merkle root of the claims finished together once (docs/binding.md, "Batched claim signing").
   * Per-request mode is unaffected.
   */
  claimSigning?: ClaimSigningMode;
  /** Batched signing: the window and the batch size bound (claim-batcher.ts defaults). */
  claimBatch?: ClaimBatchOptions;
}

/** What the Attester answers for a sealed request's key id (sealKeyFor). */
export type SealKeyLookup =
  | { state: 'current'; key: SealKeyPair; kid: string; notBefore: number; notAfter: number }
  | { state: 'expired'; kid: string; notAfter: number }
  | { state: 'unknown' };

export interface AttestResult {
  envelope: AttestationEnvelope;
  /** JSON.stringify(envelope): what goes into WASMVMExecutionResult.attestation. */
  json: string;
  /** The claim's REPORT_DATA (64 bytes); in session-key mode it is not in the CPU evidence. */
  reportData: Uint8Array;
  /** The completed claim (the draft plus the attestation facts). */
  claim: ExecutionClaim;
}

export interface AttestExecutionOptions {
  /**
   * Collect GPU evidence for these 64 bytes (gpuBindingData(claim): its nonce is gpuNonceFor(them)).
   * The evidence's digest goes into the claim (claim.gpuEvidenceSha256).
   */
  gpu?: (bindingData: Uint8Array) => Promise<unknown[]>;
  /** Sealed execution: the sealed request's digest (claim field 21, 64 hex). */
  sealedRequestSha256?: string;
  /**
   * Sealed execution, session-key mode: sign with the session of this key id — the one whose sealing key
   * opened the request — when it is the current or the just-retired session (a request opened just before
   * a rotation). issuedAt is clamped into that session's window as always. Otherwise: the current one.
   */
  sessionKeyId?: string;
}

interface SessionKey {
  epoch: number;
  /** P-384: JWTs (ES384). */
  privateKey: KeyObject;
  spki: Uint8Array;
  /** P-256: execution claims (ES256). */
  claimKey: KeyObject;
  claimSpki: Uint8Array;
  jwk: SessionKeyJson['jwk'];
  notBefore: number;
  notAfter: number;
  /** Evidence made at key creation (nonce ''). */
  session: SessionKeyJson;
  /** sessionKeyReportData(data, nonce ''): the session's identity in claims, hex. */
  identity: string;
  data: SessionKeyData;
  /** The session's HPKE sealing key pair (private part never leaves this process). */
  seal?: SealKeyPair;
  /** Batched claim signing: this key's batcher (made on first use). */
  batcher?: ClaimBatcher;
}

export class Attester {
  readonly provider: TeeProvider;
  readonly issuer: string;
  private readonly lifetimeMs: number;
  private readonly now: () => number;
  private current?: Promise<SessionKey>;
  private previous?: SessionKey;
  private epoch = 0;
  private readonly sealSuite: string | undefined;
  private readonly tlsKey: { spkiSha256: Uint8Array; origin: TlsKeyOrigin } | undefined;
  /** Key ids of retired sessions and when they expired (bounded: the latest 256). */
  private readonly retired = new Map<string, number>();
  /** The server build digest (lowercase hex) or undefined. */
  readonly serverBuildSha256?: string;
  /** How session-key claims are signed. */
  readonly claimSigning: ClaimSigningMode;
  private readonly claimBatch: Required<ClaimBatchOptions>;

  constructor(provider: TeeProvider, opts: AttesterOptions = {}) {
    this.provider = provider;
    if (opts.serverBuildSha256 !== undefined) {
      const h = opts.serverBuildSha256.replace(/^sha256:/, '').toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(h))
        throw new TeeError('TEE_INVALID_ARGUMENT', 'serverBuildSha256 must be 64 hex digits');
      this.serverBuildSha256 = h;
    }
    this.issuer = opts.issuer ?? 'wasmvm-tee';
    this.claimSigning = opts.claimSigning ?? 'per-claim';
    if (!(CLAIM_SIGNING_MODES as readonly string[]).includes(this.claimSigning))
      throw new TeeError('TEE_INVALID_ARGUMENT', `claimSigning: ${CLAIM_SIGNING_MODES.join(' or ')}`);
    this.claimBatch = checkClaimBatchOptions(opts.claimBatch ?? {});
    this.lifetimeMs = opts.sessionKeyLifetimeMs ?? 3600_000;
    if (!(this.lifetimeMs > 0))
      throw new TeeError('TEE_INVALID_ARGUMENT', 'sessionKeyLifetimeMs must be > 0');
    this.now = opts.now ?? Date.now;
    this.sealSuite = opts.sealSuite === false ? undefined : (opts.sealSuite ?? DEFAULT_SEAL_SUITE);
    if (opts.tlsKey !== undefined) {
      const { spkiSha256, origin } = opts.tlsKey;
      if (!(spkiSha256 instanceof Uint8Array) || spkiSha256.length !== 32)
        throw new TeeError('TEE_INVALID_ARGUMENT', 'tlsKey.spkiSha256 must be 32 bytes');
      if (!(TLS_KEY_ORIGINS as readonly string[]).includes(origin))
        throw new TeeError('TEE_INVALID_ARGUMENT', `tlsKey.origin: ${TLS_KEY_ORIGINS.join(' or ')}`);
      this.tlsKey = { spkiSha256: new Uint8Array(spkiSha256), origin };
    }
  }

  /**
   * The sealing key of key id `kid`: the current session's (rotating it first when it expired), or
   * 'expired' for a retired session's key id (the client must fetch the attestation again), or 'unknown'.
   */
  async sealKeyFor(kid: string): Promise<SealKeyLookup> {
    const cur = await this.sessionKey();
    if (cur.jwk.kid === kid && cur.seal && this.now() <= cur.notAfter)
      return { state: 'current', key: cur.seal, kid, notBefore: cur.notBefore, notAfter: cur.notAfter };
    if (cur.jwk.kid === kid) return { state: 'expired', kid, notAfter: cur.notAfter };
    const old = this.retired.get(kid);
    if (old !== undefined) return { state: 'expired', kid, notAfter: old };
    return { state: 'unknown' };
  }

  /**
   * Attest one execution: complete the claim draft with the attestation facts (mode, TEE kind, simulated,
   * session identity, GPU evidence digest, issuedAt), then bind it (evidence or session signature).
   */
  async attestExecution(
    draft: ClaimDraft | ExecutionClaim,
    mode: AttestationMode = 'per-request',
    opts: AttestExecutionOptions = {},
  ): Promise<AttestResult> {
    if (mode !== 'per-request' && mode !== 'session-key')
      throw new TeeError('TEE_INVALID_ARGUMENT', `unknown attestation mode '${String(mode)}'`);
    const key = mode === 'session-key' ? await this.sessionKeyFor(opts.sessionKeyId) : undefined;
    const claim: ExecutionClaim = {
      ...draft,
      attestationMode: mode,
      teeKind: this.provider.kind,
      simulated: this.provider.simulated,
      // Inside the key's window (the clock may tick past notAfter between the key lookup and here).
      issuedAt: BigInt(
        key
          ? Math.min(Math.max(Math.floor(this.now()), key.notBefore), key.notAfter)
          : Math.floor(this.now()),
      ),
    };
    delete claim.session;
    delete claim.gpuEvidenceSha256;
    delete claim.serverBuildSha256;
    delete claim.sealedRequestSha256;
    if (key) claim.session = key.identity;
    if (this.serverBuildSha256 !== undefined) claim.serverBuildSha256 = this.serverBuildSha256;
    if (opts.sealedRequestSha256 !== undefined) claim.sealedRequestSha256 = opts.sealedRequestSha256;
    let gpu: unknown[] | undefined;
    if (opts.gpu) {
      gpu = await opts.gpu(gpuBindingData(claim));
      if (gpu.length > 0) claim.gpuEvidenceSha256 = gpuEvidenceDigest(gpu);
      else gpu = undefined;
    }
    const reportData = reportDataFor(claim);
    const base = {
      format: ENVELOPE_FORMAT,
      v: ENVELOPE_VERSION,
      mode,
      claim: claimToJson(claim),
      reportData: bytesToHex(reportData),
    } as const;
    let envelope: AttestationEnvelope;
    if (!key) {
      const ev = await this.provider.getEvidence(reportData);
      envelope = { ...base, evidence: evidenceToJson(ev) };
    } else {
      // The callback form of crypto.sign runs on libuv's thread pool, so concurrent executions sign in
      // parallel instead of queueing ~1 ms of ECDSA each on the event loop.
      if (this.claimSigning === 'batched') {
        key.batcher ??= new ClaimBatcher(key.claimKey, this.claimBatch);
        const { signature, batch } = await key.batcher.sign(encodeClaim(claim));
        envelope = {
          ...base,
          session: key.session,
          signatureAlg: CLAIM_SIGNATURE_ALG,
          signature: b64(signature),
          batch,
        };
      } else {
        const sig = await signAsync('sha256', encodeClaim(claim), {
          key: key.claimKey,
          dsaEncoding: 'ieee-p1363',
        });
        envelope = {
          ...base,
          session: key.session,
          signatureAlg: CLAIM_SIGNATURE_ALG,
          signature: b64(new Uint8Array(sig)),
        };
      }
    }
    if (gpu) envelope.gpu = gpu;
    // `json` is serialized on first read (the server serializes the envelope itself, after adding GPU
    // evidence): ~8 KB of JSON per execution saved where nobody reads it.
    let json: string | undefined;
    return {
      envelope,
      reportData,
      claim,
      get json() {
        json ??= JSON.stringify(envelope);
        return json;
      },
    };
  }

  /**
   * Fresh evidence for a client nonce (the GetAttestation RPC): REPORT_DATA =
   * sessionKeyReportData(session data, nonce): it binds the current session keys, their validity and the nonce.
   */
  async sessionEvidence(
    nonce: Uint8Array,
  ): Promise<{ session: SessionKeyJson; reportData: Uint8Array; evidence: CpuEvidence }> {
    if (!(nonce instanceof Uint8Array) || nonce.length === 0 || nonce.length > 1024)
      throw new TeeError('TEE_INVALID_ARGUMENT', 'nonce must be 1 to 1024 bytes');
    const key = await this.sessionKey();
    const reportData = sessionKeyReportData(key.data, nonce);
    const evidence = await this.provider.getEvidence(reportData);
    const session: SessionKeyJson = {
      ...key.session,
      nonce: bytesToHex(nonce),
      evidence: evidenceToJson(evidence),
    };
    return { session, reportData, evidence };
  }

  /** The current session key (public part, its attestation), rotating it when expired. */
  async currentSession(): Promise<SessionKeyJson> {
    return (await this.sessionKey()).session;
  }

  /** Sign a JWT (ES384) with the current session key; `iss`, `iat` and `exp` (default 5 min) are set. */
  async signJwt(claims: JWTPayload, opts: { expiresInSeconds?: number } = {}): Promise<string> {
    const key = await this.sessionKey();
    const now = Math.floor(this.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES384', typ: 'JWT', kid: key.jwk.kid! })
      .setIssuer(this.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + (opts.expiresInSeconds ?? 300))
      .sign(key.privateKey);
  }

  /** Public keys able to verify tokens (current and the previous epoch, until it expires), JWKS form. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const cur = await this.sessionKey();
    const keys: JWK[] = [{ ...cur.jwk, alg: 'ES384', use: 'sig' }];
    if (this.previous && this.previous.notAfter + 600_000 > this.now())
      keys.push({ ...this.previous.jwk, alg: 'ES384', use: 'sig' });
    return { keys };
  }

  /** The session of key id `kid` if it is the previous one (rotated meanwhile), else the current one. */
  private async sessionKeyFor(kid: string | undefined): Promise<SessionKey> {
    const cur = await this.sessionKey();
    if (kid !== undefined && cur.jwk.kid !== kid && this.previous?.jwk.kid === kid) return this.previous;
    return cur;
  }

  private sessionKey(): Promise<SessionKey> {
    const cur = this.current;
    if (cur) {
      return cur.then((k) => {
        if (this.now() < k.notAfter) return k;
        if (this.current === cur) {
          this.previous = k;
          this.retire(k);
          const next = this.newKey();
          this.current = next;
          // A failed rotation must not poison later calls.
          next.catch(() => {
            if (this.current === next) this.current = undefined;
          });
        }
        return this.current!;
      });
    }
    const p = this.newKey();
    this.current = p;
    p.catch(() => {
      if (this.current === p) this.current = undefined;
    });
    return p;
  }

  private retire(k: SessionKey): void {
    if (k.jwk.kid === undefined) return;
    this.retired.set(k.jwk.kid, k.notAfter);
    while (this.retired.size > 256) this.retired.delete(this.retired.keys().next().value!);
  }

  private async newKey(): Promise<SessionKey> {
    const epoch = ++this.epoch;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const j = publicKey.export({ format: 'jwk' });
    const kid = createHash('sha256').update(spki).digest('base64url').slice(0, 22);
    const jwk = { kty: 'EC' as const, crv: 'P-384' as const, x: j.x!, y: j.y!, kid };
    const claimPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const claimSpki = new Uint8Array(claimPair.publicKey.export({ format: 'der', type: 'spki' }));
    const notBefore = Math.floor(this.now());
    const notAfter = notBefore + Math.ceil(this.lifetimeMs);
    const data: SessionKeyData = { spki, claimSpki, epoch, notBefore, notAfter, kid };
    if (this.serverBuildSha256 !== undefined)
      data.serverBuild = new Uint8Array(Buffer.from(this.serverBuildSha256, 'hex'));
    const seal = this.sealSuite === undefined ? undefined : await generateSealKeyPair(this.sealSuite);
    if (seal) {
      data.sealSuite = seal.suite;
      data.sealPublicKey = seal.publicKey;
    }
    if (this.tlsKey) data.tls = this.tlsKey;
    const identity = sessionKeyReportData(data);
    const evidence = await this.provider.getEvidence(identity);
    const session: SessionKeyJson = {
      jwk,
      spki: b64(spki),
      claimSpki: b64(claimSpki),
      epoch,
      notBefore: new Date(notBefore).toISOString(),
      notAfter: new Date(notAfter).toISOString(),
      nonce: '',
      evidence: evidenceToJson(evidence),
    };
    if (this.serverBuildSha256 !== undefined) session.serverBuildSha256 = this.serverBuildSha256;
    if (seal) session.seal = { suite: seal.suite, publicKey: b64(seal.publicKey) };
    if (this.tlsKey)
      session.tls = { spkiSha256: bytesToHex(this.tlsKey.spkiSha256), origin: this.tlsKey.origin };
    return {
      ...(seal ? { seal } : {}),
      epoch,
      privateKey: createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })),
      spki,
      claimKey: createPrivateKey(claimPair.privateKey.export({ format: 'pem', type: 'pkcs8' })),
      claimSpki,
      jwk,
      notBefore,
      notAfter,
      session,
      identity: bytesToHex(identity),
      data,
    };
  }
}
