/**
 * Every REPORT_DATA and nonce derivation of wasmvm-tee, with its domain string (docs/binding.md). The
 * domain strings are ASCII and enter the hash as their bytes, with no length prefix or terminator unless
 * said; `‖` is concatenation. Each derivation keeps its output from ever equalling another's for the
 * same input.
 */
import { digest, digestHex } from '../util/digest.ts';
import type { ClaimInputSide, ExecutionClaim } from './claim.ts';
import { concat, inputSide, outputSide } from './encode.ts';
import type { SessionKeyData } from './envelope.ts';
import { BindingError } from './errors.ts';

/** Field 1 of the claim's input side: the 25 bytes "wasmvm-tee/claim/input/v3" (a string field). */
export const INPUT_DOMAIN = 'wasmvm-tee/claim/input/v3';
/** Field 1 of the claim's output side: the 26 bytes "wasmvm-tee/claim/output/v3" (a string field). */
export const OUTPUT_DOMAIN = 'wasmvm-tee/claim/output/v3';
/** gpuBindingData: the 23 bytes "wasmvm-tee/claim/gpu/v3", then the claim's input side. */
export const GPU_BINDING_DOMAIN = 'wasmvm-tee/claim/gpu/v3';
/**
 * sessionKeyReportData: the 25 bytes "wasmvm-tee/session-key/v4", then the session's facts (v4 added the
 * session's HPKE sealing key, docs/sealed-execution.md).
 */
export const SESSION_KEY_DOMAIN = 'wasmvm-tee/session-key/v4';
/**
 * sessionKeyReportData of a session that binds a TLS key: the 25 bytes "wasmvm-tee/session-key/v5", the
 * v4 facts, then the TLS key's origin and SPKI hash (docs/sealed-execution.md, "Attested TLS"). Sessions
 * without a TLS key keep v4, byte for byte.
 */
export const SESSION_KEY_TLS_DOMAIN = 'wasmvm-tee/session-key/v5';
/** gpuNonceFor: the 23 bytes "wasmvm-tee/gpu-nonce/v1", then REPORT_DATA. */
export const GPU_NONCE_DOMAIN = 'wasmvm-tee/gpu-nonce/v1';
/** guestReportData: the 31 bytes "wasmvm-tee/guest-report-data/v1", a 0x00 byte, nonce, guest data. */
export const GUEST_REPORT_DATA_TAG = 'wasmvm-tee/guest-report-data/v1';
/** guestGpuNonce: the 29 bytes "wasmvm-tee/guest-gpu-nonce/v1", a 0x00 byte, nonce, guest data. */
export const GUEST_GPU_NONCE_TAG = 'wasmvm-tee/guest-gpu-nonce/v1';

const sha256 = (b: Uint8Array) => digest('sha256', b);

/** REPORT_DATA of an execution (64 bytes) = SHA-256(input side) ‖ SHA-256(output side) (encode.ts). */
export function reportDataFor(claim: ExecutionClaim): Uint8Array {
  const a = inputSide(claim);
  const b = outputSide(claim);
  return concat([sha256(a), sha256(b)]);
}

/**
 * The 64 bytes GPU evidence is bound to (its nonce is gpuNonceFor(these)):
 * SHA-512("wasmvm-tee/claim/gpu/v3" ‖ input side). The input side carries the client's nonce, so GPU
 * evidence is fresh per request; its digest is then in the output side, so it cannot be swapped.
 */
export function gpuBindingData(claim: ClaimInputSide): Uint8Array {
  return digest('sha512', GPU_BINDING_DOMAIN, inputSide(claim));
}

/** SHA-256 of the GPU evidence list as JSON text (ECMAScript JSON.stringify of the envelope's `gpu`), hex. */
export function gpuEvidenceDigest(gpu: readonly unknown[]): string {
  return digestHex('sha256', JSON.stringify(gpu));
}

/**
 * Composite attestation: one nonce drives the CPU report and every GPU's evidence.
 *
 *   gpuNonce = SHA-256("wasmvm-tee/gpu-nonce/v1" ‖ REPORT_DATA)        (32 bytes)
 *
 * REPORT_DATA (64 bytes) is what the CPU report signs (reportDataFor(claim) in per-request mode, the
 * session-key REPORT_DATA in session-key mode; gpuBindingData(claim) for an execution's GPU evidence).
 * Every GPU gets the same nonce, as NRAS expects (one nonce per request). A verifier recomputes it from
 * the verified CPU report. Throws BindingError('INVALID_LENGTH') unless given 64 bytes.
 */
export function gpuNonceFor(reportData: Uint8Array): Uint8Array {
  if (!(reportData instanceof Uint8Array) || reportData.length !== 64)
    throw new BindingError('INVALID_LENGTH', `REPORT_DATA must be 64 bytes, got ${reportData?.length}`);
  return digest('sha256', GPU_NONCE_DOMAIN, reportData);
}

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
};
const u64 = (n: number, what: string) => {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new BindingError('INVALID_ENVELOPE', `${what}: not a u64`, what);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
  return b;
};

/**
 * REPORT_DATA for a session:
 *   SHA-512( "wasmvm-tee/session-key/v4" ‖ u32be len(spki) ‖ spki ‖ u32be len(claimSpki) ‖ claimSpki
 *            ‖ u64be epoch ‖ u64be notBefore ‖ u64be notAfter (ms since the Unix epoch)
 *            ‖ u32be len(kid) ‖ kid (UTF-8) ‖ u32be len(nonce) ‖ nonce
 *            ‖ u32be len(sealSuite) ‖ sealSuite (ASCII) ‖ u32be len(sealPublicKey) ‖ sealPublicKey
 *            [‖ server build digest (32 bytes), only when the server reports one] )
 * The HPKE sealing key (suite name and serialized public key, docs/sealed-execution.md) is always hashed:
 * a session without one hashes two zero lengths. Everything before the build digest is length-prefixed,
 * so the trailing 32 bytes are unambiguous. With an empty nonce it is also the session's identity
 * (claim.session).
 *
 * A session that binds a TLS key (`k.tls`, attested TLS) hashes the v5 domain instead and, between the
 * sealing key and the build digest,
 *            ‖ u32be len(tlsOrigin) ‖ tlsOrigin (ASCII) ‖ u32be 32 ‖ SHA-256(TLS key's DER SPKI)
 * The two domains keep a v5 input from ever equalling a v4 one; v4 sessions are unchanged.
 */
export function sessionKeyReportData(k: SessionKeyData, nonce: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!(k.claimSpki instanceof Uint8Array) || k.claimSpki.length === 0)
    throw new BindingError('INVALID_ENVELOPE', 'session.claimSpki: missing', 'session.claimSpki');
  if (!(k.notBefore <= k.notAfter))
    throw new BindingError('INVALID_ENVELOPE', 'session.notAfter: before notBefore', 'session.notAfter');
  if (k.serverBuild !== undefined && k.serverBuild.length !== 32)
    throw new BindingError(
      'INVALID_ENVELOPE',
      'session.serverBuildSha256: expected 32 bytes',
      'session.serverBuildSha256',
    );
  if ((k.sealSuite === undefined) !== (k.sealPublicKey === undefined))
    throw new BindingError(
      'INVALID_ENVELOPE',
      'session.seal: suite and public key go together',
      'session.seal',
    );
  if (k.tls !== undefined && k.tls.spkiSha256.length !== 32)
    throw new BindingError('INVALID_ENVELOPE', 'session.tls.spkiSha256: expected 32 bytes', 'session.tls');
  const kid = new TextEncoder().encode(k.kid);
  const tlsOrigin = k.tls === undefined ? undefined : new TextEncoder().encode(k.tls.origin);
  const sealSuite = new TextEncoder().encode(k.sealSuite ?? '');
  const sealPublicKey = k.sealPublicKey ?? new Uint8Array(0);
  const data = concat([
    new TextEncoder().encode(k.tls === undefined ? SESSION_KEY_DOMAIN : SESSION_KEY_TLS_DOMAIN),
    u32(k.spki.length),
    k.spki,
    u32(k.claimSpki.length),
    k.claimSpki,
    u64(k.epoch, 'session.epoch'),
    u64(k.notBefore, 'session.notBefore'),
    u64(k.notAfter, 'session.notAfter'),
    u32(kid.length),
    kid,
    u32(nonce.length),
    nonce,
    u32(sealSuite.length),
    sealSuite,
    u32(sealPublicKey.length),
    sealPublicKey,
    ...(k.tls === undefined || tlsOrigin === undefined
      ? []
      : [u32(tlsOrigin.length), tlsOrigin, u32(32), k.tls.spkiSha256]),
    ...(k.serverBuild === undefined ? [] : [k.serverBuild]),
  ]);
  return digest('sha512', data);
}

/**
 * REPORT_DATA of a guest's own attestation (host module wasmtime_attestation, attest_vm):
 *   SHA-512("wasmvm-tee/guest-report-data/v1" ‖ 0x00 ‖ nonce (32 bytes) ‖ data)      (64 bytes)
 *
 * `nonce` is a fresh random host nonce (never constant); `data` is the guest's bytes (empty for
 * attest_vm/attest_gpu). Guest data is ALWAYS hashed with a domain tag, even when it is exactly
 * 64 bytes: a guest must never be able to choose raw REPORT_DATA, or it could obtain evidence that
 * looks like the service's own execution binding (reportDataFor(claim)).
 */
export function guestReportData(nonce: Uint8Array, data: Uint8Array): Uint8Array {
  return digest('sha512', GUEST_REPORT_DATA_TAG, Uint8Array.of(0), nonce, data);
}

/**
 * GPU nonce of a guest's own GPU attestation (attest_gpu):
 *   SHA-256("wasmvm-tee/guest-gpu-nonce/v1" ‖ 0x00 ‖ nonce (32 bytes) ‖ data)       (32 bytes)
 */
export function guestGpuNonce(nonce: Uint8Array, data: Uint8Array): Uint8Array {
  return digest('sha256', GUEST_GPU_NONCE_TAG, Uint8Array.of(0), nonce, data);
}
