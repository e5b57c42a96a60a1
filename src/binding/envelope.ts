/**
 * The attestation envelope: the JSON string put in `WASMVMExecutionResult.attestation` (docs/binding.md).
 */

import { toBase64 } from '../formats/index.ts';
import type { ExecutionClaim } from './claim.ts';
import { type ClaimBatchProofJson, checkClaimBatchShape } from './claim-batch.ts';
import type { ExecutionClaimJson } from './claim-json.ts';
import { bytesToHex, hexToBytes } from './encode.ts';
import { BindingError } from './errors.ts';
import { platformBase64Decode, platformBase64Encode } from './platform/base64-node.ts';
import { type AttestationMode, type CpuEvidence, TEE_KINDS, type TeeKind } from './vocabulary.ts';

export const ENVELOPE_FORMAT = 'wasmvm-tee/attestation';
/**
 * v3: claim v3 (every result field, attestation facts, GPU digest) and session keys whose validity is
 * inside the session REPORT_DATA (SESSION_KEY_DOMAIN v3).
 */
export const ENVELOPE_VERSION = 3;
/** The only claim signature algorithm: ECDSA P-256/SHA-256, IEEE P1363 r‖s (64 bytes). */
export const CLAIM_SIGNATURE_ALG = 'ES256';

export type { AttestationMode };

/** CPU evidence in JSON (binary as standard base64). */
export interface EvidenceJson {
  kind: TeeKind;
  /** True when produced by the local simulated TEE (compared with the claim and the verified chain). */
  simulated: boolean;
  provider: string;
  /** SEV-SNP ATTESTATION_REPORT or TDX quote, base64. */
  report: string;
  certs?: { vcek?: string; vlek?: string; ask?: string; ark?: string };
  auxblob?: string;
}

/** The session key and the CPU evidence that binds it (session-key mode, GetAttestation). */
export interface SessionKeyJson {
  /** ECDSA P-384 public key. */
  jwk: { kty: 'EC'; crv: 'P-384'; x: string; y: string; kid?: string };
  /** The same key as SubjectPublicKeyInfo DER, base64 (what REPORT_DATA binds). Signs JWTs (ES384). */
  spki: string;
  /** The session's ECDSA P-256 claim-signing key, SubjectPublicKeyInfo DER, base64 (also bound by REPORT_DATA). */
  claimSpki: string;
  /** Key epoch: increases on every rotation. */
  epoch: number;
  /** Validity of the key, ISO-8601 with milliseconds, UTC ('2026-01-01T00:00:00.000Z'); bound by REPORT_DATA. */
  notBefore: string;
  notAfter: string;
  /** Nonce bound into this evidence, hex ('' = none: evidence made at key creation). */
  nonce: string;
  /** Evidence whose REPORT_DATA = sessionKeyReportData(sessionKeyData(this), nonce). */
  evidence: EvidenceJson;
  /** GetAttestation only: GPU evidence for the session. */
  gpu?: unknown[];
  /** The server's build digest (64 hex), bound by REPORT_DATA; absent when the server reports none. */
  serverBuildSha256?: string;
  /**
   * The session's HPKE (RFC 9180) sealing key, bound by REPORT_DATA (docs/sealed-execution.md): requests
   * sealed to it are opened only inside the TEE. Its key id is `jwk.kid`, its validity notBefore–notAfter.
   */
  seal?: SealKeyJson;
  /**
   * The server's TLS key (docs/sealed-execution.md, "Attested TLS"), bound by REPORT_DATA (session-key/v5):
   * a client that verified this session pins the TLS peer whose certificate's SubjectPublicKeyInfo hashes
   * to `spkiSha256`. Absent: the server serves no TLS (or binds no TLS key), REPORT_DATA is session-key/v4.
   */
  tls?: TlsKeyJson;
}

/** Where the attested TLS key came from (bound into REPORT_DATA as ASCII). */
export const TLS_KEY_ORIGINS = ['tee-generated', 'operator-supplied'] as const;
export type TlsKeyOrigin = (typeof TLS_KEY_ORIGINS)[number];

/** A session's TLS key in JSON. */
export interface TlsKeyJson {
  /** SHA-256 of the DER SubjectPublicKeyInfo of the TLS certificate's key, 64 lowercase hex. */
  spkiSha256: string;
  /**
   * 'tee-generated': made inside the TEE at server start (serve --tls-attested), never left it;
   * 'operator-supplied': loaded from --tls-cert/--tls-key, so whoever supplied the file holds it too.
   */
  origin: TlsKeyOrigin;
}

/** A session's sealing key in JSON. */
export interface SealKeyJson {
  /** Suite name (sealed.ts SEAL_SUITES), e.g. 'x25519-sha256-chacha20poly1305'. */
  suite: string;
  /** The serialized HPKE public key (SerializePublicKey of RFC 9180 §4), base64. */
  publicKey: string;
}

export interface AttestationEnvelope {
  format: typeof ENVELOPE_FORMAT;
  v: typeof ENVELOPE_VERSION;
  mode: AttestationMode;
  claim: ExecutionClaimJson;
  /** Hex REPORT_DATA of the claim = SHA-256(input side) ‖ SHA-256(output side) (informational; recomputed). */
  reportData: string;
  /** per-request: the CPU evidence with REPORT_DATA = reportData. */
  evidence?: EvidenceJson;
  /** session-key: the key, its evidence, and the signature over encodeClaim(claim). */
  session?: SessionKeyJson;
  /** session-key: the algorithm of `signature`; only 'ES256'. */
  signatureAlg?: typeof CLAIM_SIGNATURE_ALG;
  /**
   * session-key: ECDSA P-256/SHA-256 signature (IEEE P1363 r‖s, 64 bytes, base64) over encodeClaim(claim)
   * by the claim key (`session.claimSpki`); with `batch`, over the batch message of the root instead.
   */
  signature?: string;
  /**
   * session-key, batched claim signing only (docs/binding.md, "Batched claim signing"): the claim's inclusion
   * proof in a batch; `signature` is then the claim key's signature over the batch message (its root), not
   * over encodeClaim(claim). Absent: per-claim signing, byte for byte as before.
   */
  batch?: ClaimBatchProofJson;
  /** GPU evidence (NVIDIA): nonce gpuNonceFor(gpuBindingData(claim)), digest claim.gpuEvidenceSha256. */
  gpu?: unknown[];
}

/** The attested facts of a session key (what its REPORT_DATA hashes, besides the nonce). */
export interface SessionKeyData {
  /** DER SubjectPublicKeyInfo of the P-384 token key. */
  spki: Uint8Array;
  /** DER SubjectPublicKeyInfo of the P-256 claim key. */
  claimSpki: Uint8Array;
  epoch: number;
  /** Validity window, ms since the Unix epoch. */
  notBefore: number;
  notAfter: number;
  /** Key id (the JWK `kid`). */
  kid: string;
  /** The server's build digest (32 bytes), when the server reports one. */
  serverBuild?: Uint8Array;
  /** The HPKE sealing key's suite name and serialized public key (both or neither). */
  sealSuite?: string;
  sealPublicKey?: Uint8Array;
  /** The TLS key bound into the session (session-key/v5), when the server binds one. */
  tls?: { origin: TlsKeyOrigin; spkiSha256: Uint8Array };
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Canonical time: ISO-8601 UTC with milliseconds, exactly as Date.prototype.toISOString writes it. */
export function parseIsoMs(s: unknown, what: string): number {
  const t = typeof s === 'string' && ISO_MS.test(s) ? Date.parse(s) : Number.NaN;
  if (!Number.isFinite(t) || new Date(t).toISOString() !== s)
    throw new BindingError('INVALID_ENVELOPE', `${what}: not an ISO-8601 UTC time with milliseconds`, what);
  return t;
}

/** The attested facts of a session, from its JSON (strict: every field named in errors). */
export function sessionKeyDataFromJson(s: SessionKeyJson): SessionKeyData {
  if (!s || typeof s !== 'object')
    throw new BindingError('INVALID_ENVELOPE', 'session: not an object', 'session');
  if (!s.jwk || typeof s.jwk !== 'object')
    throw new BindingError('INVALID_ENVELOPE', 'session.jwk: missing', 'session.jwk');
  if (typeof s.jwk.kid !== 'string' || s.jwk.kid === '')
    throw new BindingError('INVALID_ENVELOPE', 'session.jwk.kid: missing', 'session.jwk.kid');
  const d: SessionKeyData = {
    spki: fromB64(s.spki, 'session.spki'),
    claimSpki: fromB64(s.claimSpki, 'session.claimSpki'),
    epoch: s.epoch,
    notBefore: parseIsoMs(s.notBefore, 'session.notBefore'),
    notAfter: parseIsoMs(s.notAfter, 'session.notAfter'),
    kid: s.jwk.kid,
  };
  if (s.serverBuildSha256 !== undefined) {
    if (typeof s.serverBuildSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(s.serverBuildSha256))
      throw envErr('session.serverBuildSha256', 'expected 32 bytes of lowercase hex');
    d.serverBuild = hexToBytes(s.serverBuildSha256);
  }
  if (s.seal !== undefined) {
    checkSealShape(s.seal, 'session.seal');
    d.sealSuite = s.seal.suite;
    d.sealPublicKey = fromB64(s.seal.publicKey, 'session.seal.publicKey');
  }
  if (s.tls !== undefined) {
    checkTlsKeyShape(s.tls, 'session.tls');
    d.tls = { origin: s.tls.origin, spkiSha256: hexToBytes(s.tls.spkiSha256, 'session.tls.spkiSha256') };
  }
  return d;
}

/** Standard base64 with padding (formats' toBase64). */
export const b64: (b: Uint8Array) => string = toBase64;

const B64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Check strict standard base64 without decoding: padded, and canonical (the unused low bits of the last
 * character are zero, so exactly one text encodes the bytes).
 */
export function checkB64(s: unknown, what: string): string {
  // Fast path: canonical standard base64 is exactly what re-encodes to itself (the lenient decoder skips
  // or maps any other character, so it re-encodes differently; both native in Node); anything else takes
  // the checks below, which name the problem.
  if (typeof s === 'string' && platformBase64Encode(platformBase64Decode(s)) === s) return s;
  return checkB64Slow(s, what);
}

function checkB64Slow(s: unknown, what: string): string {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !B64_CHARS.test(s))
    throw new BindingError('INVALID_ENVELOPE', `${what}: not base64`, what);
  if (
    s.endsWith('==')
      ? !'AQgw'.includes(s[s.length - 3]!)
      : s.endsWith('=') && !'AEIMQUYcgkosw048'.includes(s[s.length - 2]!)
  )
    throw new BindingError('INVALID_ENVELOPE', `${what}: not canonical base64`, what);
  return s;
}

/** Strict standard base64 (canonical), decoded; named in errors. */
export function fromB64(s: unknown, what: string): Uint8Array {
  // Decoded once; canonical standard base64 is exactly what re-encodes to itself.
  if (typeof s !== 'string') return checkB64Slow(s, what) as never; // throws
  const b = platformBase64Decode(s);
  if (platformBase64Encode(b) !== s) checkB64Slow(s, what); // throws: the equivalent checks, naming the problem
  return b;
}

function envErr(field: string, why: string): BindingError {
  return new BindingError('INVALID_ENVELOPE', `${field}: ${why}`, field);
}

function onlyKeys(o: object, where: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw envErr(`${where}.${k}`, 'unknown field');
}

const EVIDENCE_KEYS = ['kind', 'simulated', 'provider', 'report', 'certs', 'auxblob'] as const;
const SESSION_KEYS = [
  'jwk',
  'spki',
  'claimSpki',
  'epoch',
  'notBefore',
  'notAfter',
  'nonce',
  'evidence',
  'gpu',
  'serverBuildSha256',
  'seal',
  'tls',
] as const;
const ENVELOPE_KEYS = [
  'format',
  'v',
  'mode',
  'claim',
  'reportData',
  'evidence',
  'session',
  'signatureAlg',
  'signature',
  'batch',
  'gpu',
] as const;

export function checkEvidenceShape(e: unknown, where: string): void {
  if (!e || typeof e !== 'object' || Array.isArray(e)) throw envErr(where, 'missing or not an object');
  onlyKeys(e, where, EVIDENCE_KEYS);
  const o = e as Record<string, unknown>;
  if (typeof o.kind !== 'string' || !(TEE_KINDS as readonly string[]).includes(o.kind))
    throw envErr(`${where}.kind`, `unknown kind '${String(o.kind)}'`);
  if (typeof o.simulated !== 'boolean') throw envErr(`${where}.simulated`, 'expected true or false');
  if (typeof o.provider !== 'string') throw envErr(`${where}.provider`, 'expected a string');
  checkB64(o.report, `${where}.report`);
  if (o.certs !== undefined) {
    if (!o.certs || typeof o.certs !== 'object') throw envErr(`${where}.certs`, 'expected an object');
    onlyKeys(o.certs, `${where}.certs`, ['vcek', 'vlek', 'ask', 'ark']);
    for (const [k, v] of Object.entries(o.certs)) checkB64(v, `${where}.certs.${k}`);
  }
  if (o.auxblob !== undefined) checkB64(o.auxblob, `${where}.auxblob`);
}

/** Shape-check a session's sealing key (`session.seal`). */
export function checkSealShape(o: unknown, where: string): void {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw envErr(where, 'expected an object');
  onlyKeys(o, where, ['suite', 'publicKey']);
  const r = o as Record<string, unknown>;
  if (typeof r.suite !== 'string' || !/^[a-z0-9-]{1,64}$/.test(r.suite))
    throw envErr(`${where}.suite`, 'expected a suite name');
  if (checkB64(r.publicKey, `${where}.publicKey`).length === 0) throw envErr(`${where}.publicKey`, 'empty');
}

/** Shape-check a session's TLS key (`session.tls`). */
export function checkTlsKeyShape(o: unknown, where: string): void {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw envErr(where, 'expected an object');
  onlyKeys(o, where, ['spkiSha256', 'origin']);
  const r = o as Record<string, unknown>;
  if (typeof r.spkiSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.spkiSha256))
    throw envErr(`${where}.spkiSha256`, 'expected 32 bytes of lowercase hex');
  if (typeof r.origin !== 'string' || !(TLS_KEY_ORIGINS as readonly string[]).includes(r.origin))
    throw envErr(`${where}.origin`, `expected ${TLS_KEY_ORIGINS.join(' or ')}`);
}

/** Shape-check a session (GetAttestation answer or an envelope's `session`). */
export function checkSessionShape(s: unknown, where = 'session'): void {
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw envErr(where, 'missing or not an object');
  onlyKeys(s, where, SESSION_KEYS);
  const o = s as Record<string, unknown>;
  const jwk = o.jwk as Record<string, unknown> | undefined;
  if (!jwk || typeof jwk !== 'object') throw envErr(`${where}.jwk`, 'missing');
  onlyKeys(jwk, `${where}.jwk`, ['kty', 'crv', 'x', 'y', 'kid']);
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-384') throw envErr(`${where}.jwk`, 'expected an EC P-384 key');
  for (const k of ['x', 'y', 'kid'])
    if (typeof jwk[k] !== 'string') throw envErr(`${where}.jwk.${k}`, 'expected a string');
  checkB64(o.spki, `${where}.spki`);
  checkB64(o.claimSpki, `${where}.claimSpki`);
  if (!Number.isSafeInteger(o.epoch) || (o.epoch as number) < 0)
    throw envErr(`${where}.epoch`, 'expected a non-negative integer');
  parseIsoMs(o.notBefore, `${where}.notBefore`);
  parseIsoMs(o.notAfter, `${where}.notAfter`);
  if (typeof o.nonce !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(o.nonce))
    throw envErr(`${where}.nonce`, 'expected lowercase hex');
  checkEvidenceShape(o.evidence, `${where}.evidence`);
  if (o.gpu !== undefined && !Array.isArray(o.gpu)) throw envErr(`${where}.gpu`, 'expected a list');
  if (
    o.serverBuildSha256 !== undefined &&
    (typeof o.serverBuildSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.serverBuildSha256))
  )
    throw envErr(`${where}.serverBuildSha256`, 'expected 32 bytes of lowercase hex');
  if (o.seal !== undefined) checkSealShape(o.seal, `${where}.seal`);
  if (o.tls !== undefined) checkTlsKeyShape(o.tls, `${where}.tls`);
}

/**
 * Parse and shape-check an envelope (string or object): unknown, missing or malformed fields are a
 * BindingError('INVALID_ENVELOPE') naming the field; another version is 'UNSUPPORTED_ENVELOPE_VERSION'.
 */
export function parseEnvelope(input: string | unknown): AttestationEnvelope {
  let o: unknown = input;
  if (typeof input === 'string') {
    try {
      o = JSON.parse(input);
    } catch (e) {
      throw new BindingError(
        'INVALID_ENVELOPE',
        `attestation is not JSON: ${(e as Error).message}`,
        'attestation',
      );
    }
  }
  const env = o as AttestationEnvelope;
  if (!env || typeof env !== 'object' || Array.isArray(env)) throw envErr('attestation', 'not an object');
  if (env.format !== ENVELOPE_FORMAT)
    throw envErr('attestation.format', `unknown format '${String(env.format)}'`);
  if (env.v !== ENVELOPE_VERSION)
    throw new BindingError(
      'UNSUPPORTED_ENVELOPE_VERSION',
      `attestation.v: unsupported envelope version ${String(env.v)} (this verifier reads v${ENVELOPE_VERSION})`,
      'attestation.v',
    );
  onlyKeys(env, 'attestation', ENVELOPE_KEYS);
  if (env.mode !== 'per-request' && env.mode !== 'session-key')
    throw envErr('attestation.mode', `unknown mode '${String(env.mode)}'`);
  if (!env.claim || typeof env.claim !== 'object') throw envErr('attestation.claim', 'missing');
  if (typeof env.reportData !== 'string' || !/^[0-9a-f]{128}$/.test(env.reportData))
    throw envErr('attestation.reportData', 'expected 64 bytes of lowercase hex');
  if (env.gpu !== undefined && !Array.isArray(env.gpu)) throw envErr('attestation.gpu', 'expected a list');
  if (env.mode === 'per-request') {
    checkEvidenceShape(env.evidence, 'attestation.evidence');
    for (const k of ['session', 'signature', 'signatureAlg', 'batch'] as const)
      if (env[k] !== undefined) throw envErr(`attestation.${k}`, 'not allowed in per-request mode');
  } else {
    if (env.evidence !== undefined) throw envErr('attestation.evidence', 'not allowed in session-key mode');
    if (env.signatureAlg !== CLAIM_SIGNATURE_ALG)
      throw envErr(
        'attestation.signatureAlg',
        `session-key: unsupported signatureAlg '${String(env.signatureAlg)}' (expected '${CLAIM_SIGNATURE_ALG}')`,
      );
    if (env.session === undefined) throw envErr('attestation.session', 'session-key: session missing');
    if (env.signature === undefined) throw envErr('attestation.signature', 'session-key: signature missing');
    if ((env.session as { claimSpki?: unknown }).claimSpki === undefined)
      throw envErr('attestation.session.claimSpki', 'session-key: session.claimSpki missing');
    checkSessionShape(env.session, 'attestation.session');
    checkB64(env.signature, 'attestation.signature');
    if (env.batch !== undefined) checkClaimBatchShape(env.batch, 'attestation.batch');
  }
  return env;
}

/**
 * Evidence → JSON. The raw certificate table (auxblob) is included only when no certificate could be split
 * out of it (`certs` empty), unless `includeAuxblob` — it would otherwise double the envelope's size.
 */
export function evidenceToJson(e: CpuEvidence, opts: { includeAuxblob?: boolean } = {}): EvidenceJson {
  const j: EvidenceJson = {
    kind: e.kind,
    simulated: e.simulated,
    provider: e.provider,
    report: b64(e.report),
  };
  if (e.certs) {
    const c: NonNullable<EvidenceJson['certs']> = {};
    for (const k of ['vcek', 'vlek', 'ask', 'ark'] as const) {
      const v = e.certs[k];
      if (v) c[k] = b64(v);
    }
    j.certs = c;
  }
  if (e.auxblob && (opts.includeAuxblob || !j.certs || Object.keys(j.certs).length === 0))
    j.auxblob = b64(e.auxblob);
  return j;
}

export function evidenceFromJson(j: EvidenceJson): CpuEvidence {
  if (!j || typeof j !== 'object') throw new BindingError('INVALID_ENVELOPE', 'evidence: not an object');
  if (typeof j.kind !== 'string' || !(TEE_KINDS as readonly string[]).includes(j.kind))
    throw new BindingError('INVALID_ENVELOPE', `evidence.kind '${String(j.kind)}'`);
  const out: CpuEvidence = {
    kind: j.kind,
    simulated: j.simulated === true,
    provider: typeof j.provider === 'string' ? j.provider : '',
    report: fromB64(j.report, 'evidence.report'),
  };
  if (j.certs) {
    const c: NonNullable<typeof out.certs> = {};
    for (const k of ['vcek', 'vlek', 'ask', 'ark'] as const) {
      if (j.certs[k] !== undefined) c[k] = fromB64(j.certs[k], `evidence.certs.${k}`);
    }
    out.certs = c;
  }
  if (j.auxblob !== undefined) out.auxblob = fromB64(j.auxblob, 'evidence.auxblob');
  return out;
}

export type { ExecutionClaim };
export { bytesToHex };
