/**
 * The attestation envelope: the JSON string put in `WASMVMExecutionResult.attestation` (docs/binding.md).
 */
import { createHash } from 'node:crypto';
import { BindingError, bytesToHex, concat, type ExecutionClaim, type ExecutionClaimJson } from './claim.ts';

export const ENVELOPE_FORMAT = 'wasmvm-tee/attestation';
/** v2: session-key claims are signed by a dedicated P-256 claim key (ES256, `signatureAlg`). */
export const ENVELOPE_VERSION = 2;
/** v2 binds both session public keys (the P-384 token key and the P-256 claim key). */
export const SESSION_KEY_DOMAIN = 'wasmvm-tee/session-key/v2';
/** The only claim signature algorithm of envelope v2: ECDSA P-256/SHA-256, IEEE P1363 r‖s (64 bytes). */
export const CLAIM_SIGNATURE_ALG = 'ES256';

export type AttestationMode = 'per-request' | 'session-key';

/** CPU evidence in JSON (binary as standard base64). */
export interface EvidenceJson {
  kind: 'sev-snp' | 'tdx';
  /** True when produced by the local simulated TEE (informational: the verifier decides by the key chain). */
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
  /** Validity of the key, ISO-8601. */
  notBefore: string;
  notAfter: string;
  /** Nonce bound into this evidence, hex ('' = none: evidence made at key creation). */
  nonce: string;
  /** Evidence whose REPORT_DATA = sessionKeyReportData(spki, claimSpki, epoch, nonce). */
  evidence: EvidenceJson;
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
  /** session-key: the algorithm of `signature`; v2 knows only 'ES256'. */
  signatureAlg?: typeof CLAIM_SIGNATURE_ALG;
  /**
   * session-key: ECDSA P-256/SHA-256 signature (IEEE P1363 r‖s, 64 bytes, base64) over encodeClaim(claim)
   * by the claim key (`session.claimSpki`).
   */
  signature?: string;
  /** GPU evidence (NVIDIA), opaque to this module: verified by src/verify/nvidia. */
  gpu?: unknown[];
}

/**
 * REPORT_DATA for a session (both of its public keys):
 *   SHA-512( "wasmvm-tee/session-key/v2" ‖ u32be len(spki) ‖ spki ‖ u32be len(claimSpki) ‖ claimSpki
 *            ‖ u64be epoch ‖ u32be len(nonce) ‖ nonce )
 */
export function sessionKeyReportData(
  spki: Uint8Array,
  claimSpki: Uint8Array,
  epoch: number,
  nonce: Uint8Array = new Uint8Array(0),
): Uint8Array {
  if (!Number.isSafeInteger(epoch) || epoch < 0)
    throw new BindingError('INVALID_ENVELOPE', 'epoch: not a u64');
  if (!(claimSpki instanceof Uint8Array) || claimSpki.length === 0)
    throw new BindingError('INVALID_ENVELOPE', 'claimSpki: missing');
  const l1 = new Uint8Array(4);
  new DataView(l1.buffer).setUint32(0, spki.length, false);
  const lc = new Uint8Array(4);
  new DataView(lc.buffer).setUint32(0, claimSpki.length, false);
  const e = new Uint8Array(8);
  new DataView(e.buffer).setBigUint64(0, BigInt(epoch), false);
  const l2 = new Uint8Array(4);
  new DataView(l2.buffer).setUint32(0, nonce.length, false);
  const data = concat([new TextEncoder().encode(SESSION_KEY_DOMAIN), l1, spki, lc, claimSpki, e, l2, nonce]);
  return new Uint8Array(createHash('sha512').update(data).digest());
}

export function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

export function fromB64(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s))
    throw new BindingError('INVALID_ENVELOPE', `${what}: not base64`);
  return Uint8Array.from(Buffer.from(s, 'base64'));
}

/** Parse and shape-check an envelope (string or object). Throws BindingError('INVALID_ENVELOPE'). */
export function parseEnvelope(input: string | unknown): AttestationEnvelope {
  let o: unknown = input;
  if (typeof input === 'string') {
    try {
      o = JSON.parse(input);
    } catch (e) {
      throw new BindingError('INVALID_ENVELOPE', `attestation is not JSON: ${(e as Error).message}`);
    }
  }
  const env = o as AttestationEnvelope;
  if (!env || typeof env !== 'object')
    throw new BindingError('INVALID_ENVELOPE', 'attestation: not an object');
  if (env.format !== ENVELOPE_FORMAT)
    throw new BindingError('INVALID_ENVELOPE', `unknown format '${String(env.format)}'`);
  if (env.v !== ENVELOPE_VERSION)
    throw new BindingError(
      'INVALID_ENVELOPE',
      `unsupported envelope version ${String(env.v)} (this verifier reads v${ENVELOPE_VERSION})`,
    );
  if (env.mode !== 'per-request' && env.mode !== 'session-key')
    throw new BindingError('INVALID_ENVELOPE', `unknown mode '${String(env.mode)}'`);
  if (!env.claim || typeof env.claim !== 'object')
    throw new BindingError('INVALID_ENVELOPE', 'claim missing');
  if (env.mode === 'per-request' && !env.evidence)
    throw new BindingError('INVALID_ENVELOPE', 'per-request: evidence missing');
  if (env.mode === 'session-key' && (!env.session || !env.signature))
    throw new BindingError('INVALID_ENVELOPE', 'session-key: session or signature missing');
  if (env.mode === 'session-key' && env.signatureAlg !== CLAIM_SIGNATURE_ALG)
    throw new BindingError(
      'INVALID_ENVELOPE',
      `session-key: unsupported signatureAlg '${String(env.signatureAlg)}' (expected '${CLAIM_SIGNATURE_ALG}')`,
    );
  if (env.mode === 'session-key' && typeof env.session?.claimSpki !== 'string')
    throw new BindingError('INVALID_ENVELOPE', 'session-key: session.claimSpki missing');
  return env;
}

/**
 * Evidence → JSON. The raw certificate table (auxblob) is included only when no certificate could be split
 * out of it (`certs` empty), unless `includeAuxblob` — it would otherwise double the envelope's size.
 */
export function evidenceToJson(
  e: {
    kind: 'sev-snp' | 'tdx';
    simulated: boolean;
    provider: string;
    report: Uint8Array;
    certs?: { vcek?: Uint8Array; vlek?: Uint8Array; ask?: Uint8Array; ark?: Uint8Array };
    auxblob?: Uint8Array;
  },
  opts: { includeAuxblob?: boolean } = {},
): EvidenceJson {
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

export function evidenceFromJson(j: EvidenceJson): {
  kind: 'sev-snp' | 'tdx';
  simulated: boolean;
  provider: string;
  report: Uint8Array;
  certs?: { vcek?: Uint8Array; vlek?: Uint8Array; ask?: Uint8Array; ark?: Uint8Array };
  auxblob?: Uint8Array;
} {
  if (!j || typeof j !== 'object') throw new BindingError('INVALID_ENVELOPE', 'evidence: not an object');
  if (j.kind !== 'sev-snp' && j.kind !== 'tdx')
    throw new BindingError('INVALID_ENVELOPE', `evidence.kind '${String(j.kind)}'`);
  const out: ReturnType<typeof evidenceFromJson> = {
    kind: j.kind,
    simulated: j.simulated === true,
    provider: String(j.provider ?? ''),
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
