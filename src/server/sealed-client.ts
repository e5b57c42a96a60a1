/**
 * The client half of sealed execution (docs/sealed-execution.md) on the typed client (client.ts):
 *
 *   const session = await attestForSealing(client, { policy, allowSimulated: false });  // verify first
 *   const r = await executeSealedAndVerify(client, { bytecode, fn: 'add', args: ['1', '2'] }, { session });
 *
 * attestForSealing fetches GetAttestation with a fresh nonce and verifies it (evidence chain, policy,
 * TEE kind, simulated or not); nothing is sealed unless it passes. executeSealedAndVerify seals the
 * request to the attested HPKE key with a fresh response key, opens the sealed answer, and verifies the
 * response as executeAndVerify does, plus: the claim binds this sealed request's digest (claim field 21)
 * and was issued inside the sealing key's validity, by the attested session. The protocol steps are the
 * verifier's transport-agnostic ones (src/verify/sealed-client.ts, which pages use over connect-web);
 * this file adds the typed client's inputs and results, and its ClientError.
 */

import { hexToBytes, type SessionKeyJson, type TeeKind } from '../binding/index.ts';
import {
  openSealedResponse,
  type SealedSession,
  SealingError,
  type SealingPolicy as SealingStepsPolicy,
  type SealRequestOptions,
  sealedChecks,
  sealedSessionOf,
  sealingNonce,
  sealRequest,
  type Verdict,
  type VerifyExecutionOptions,
  verifyServerAttestation,
} from '../verify/index.ts';
import {
  buildExecuteRequest,
  type ExecuteAndVerifyResult,
  type ExecuteInput,
  type VerifyOptions,
  verifyResponse,
  type WasmvmClient,
} from './client.ts';
import { ClientError } from './errors.ts';
import type { AttestedTlsPin } from './tls-pin.ts';

export { type SealedSession, sealedChecks };

/** What the attestation must satisfy before anything is sealed (and what responses are verified with). */
export interface SealingPolicy extends VerifyOptions {
  /** Require this TEE kind (absent: any). */
  teeKind?: TeeKind;
  /**
   * Attested TLS: after the attestation verified, pin the client's TLS connections to the TLS key it
   * binds (the same pin given to createWasmvmClient's `attestedTls`); refuse a session without one.
   */
  attestedTls?: AttestedTlsPin;
  /**
   * Attested TLS: accept a TLS key the operator supplied (`serve --tls-cert/--tls-key`, origin
   * 'operator-supplied'). Default false: only a key generated inside the TEE keeps the host out of the
   * connection.
   */
  allowOperatorTlsKey?: boolean;
}

/** A verified session attestation (attestServer). */
export interface AttestedServer {
  session: SessionKeyJson;
  /** The attestation's verdict (passed). */
  verdict: Verdict;
  /** The session's identity (sessionKeyReportData with no nonce), hex. */
  identity: string;
  /** Attested TLS: the pinned TLS key's SPKI SHA-256 (hex), when the policy asked for it. */
  tlsSpkiSha256?: string;
}

export interface SealedExecuteResult extends ExecuteAndVerifyResult {
  /** sealedRequestDigest of what was sent, hex (the claim's sealedRequestSha256). */
  sealedRequestSha256: string;
  /** The session the request was sealed to. */
  sealedTo: SealedSession;
  /** Bytes that crossed the host: sealed request and sealed response ciphertexts. */
  sealedBytes: { request: number; response: number };
}

function verifyOpts(p: SealingPolicy): Omit<VerifyExecutionOptions, 'claim' | 'response' | 'request'> {
  const o: Omit<VerifyExecutionOptions, 'claim' | 'response' | 'request'> = { ...(p.extra ?? {}) };
  if (p.allowSimulated) o.allowSimulated = true;
  if (p.trustSimulatedRoot !== undefined) o.trustSimulatedRoot = p.trustSimulatedRoot;
  return o;
}

/**
 * Fetch the server's attestation (GetAttestation, fresh 32-byte nonce) and verify it against the policy:
 * evidence, REPORT_DATA with our nonce, measurements/TCB, simulated or not, TEE kind. With
 * `policy.attestedTls`, then pin the TLS connection to the attested TLS key (attestTls). Throws ClientError
 * ATTESTATION_REJECTED (naming the failing checks), TLS_KEY_NOT_ATTESTED or TLS_KEY_MISMATCH.
 */
export async function attestServer(
  client: WasmvmClient,
  policy: SealingPolicy = {},
): Promise<AttestedServer> {
  return attest(client, policy, policy.attestedTls ? 'to use the connection' : 'to seal');
}

async function attest(
  client: WasmvmClient,
  policy: SealingPolicy,
  purpose: 'to seal' | 'to use the connection',
): Promise<AttestedServer> {
  if (policy.skipEvidence)
    throw new ClientError(
      'ATTESTATION_REJECTED',
      `refusing ${purpose}: sealed execution and attested TLS never skip verification`,
    );
  const nonce = sealingNonce();
  const res = await client.getAttestation({ nonce });
  const steps: SealingStepsPolicy = verifyOpts(policy);
  if (policy.teeKind !== undefined) steps.teeKind = policy.teeKind;
  const v = await asClientError(verifyServerAttestation(res.attestation, nonce, steps, purpose));
  const out: AttestedServer = { session: v.session, verdict: v.verdict, identity: v.identity };
  if (policy.attestedTls) out.tlsSpkiSha256 = pinTlsKey(v.session, policy.attestedTls, policy);
  return out;
}

/**
 * Attested TLS for any call (plain Execute too): fetch and verify the attestation over `client` (made
 * with `attestedTls: pin`), then pin its TLS key. Afterwards the client sends only over connections whose
 * TLS peer holds the attested key. Throws as attestServer.
 */
export async function attestTls(
  client: WasmvmClient,
  pin: AttestedTlsPin,
  policy: Omit<SealingPolicy, 'attestedTls'> = {},
): Promise<AttestedServer> {
  return attestServer(client, { ...policy, attestedTls: pin });
}

/** Check the verified session's TLS key against the policy and pin it; returns the hash (hex). */
function pinTlsKey(session: SessionKeyJson, pin: AttestedTlsPin, policy: SealingPolicy): string {
  const t = session.tls;
  if (!t)
    throw new ClientError(
      'TLS_KEY_NOT_ATTESTED',
      'the server attests no TLS key (serve without TLS, or an older server): refusing attested TLS',
    );
  if (t.origin !== 'tee-generated' && !policy.allowOperatorTlsKey)
    throw new ClientError(
      'TLS_KEY_NOT_ATTESTED',
      `the attested TLS key is ${t.origin}, not generated inside the TEE (serve --tls-attested): whoever supplied it can read the connection`,
    );
  // verifySessionAttestation checked the shape (64 lowercase hex) and that REPORT_DATA binds it.
  pin.pin(hexToBytes(t.spkiSha256, 'session.tls.spkiSha256'));
  return t.spkiSha256;
}

/**
 * Fetch the server's attestation with a fresh nonce and verify it against the policy (attestServer).
 * Throws ClientError ATTESTATION_REJECTED (naming the failing checks) or SEAL_UNAVAILABLE (no sealing key),
 * and, with `policy.attestedTls`, TLS_KEY_NOT_ATTESTED / TLS_KEY_MISMATCH.
 */
export async function attestForSealing(
  client: WasmvmClient,
  policy: SealingPolicy = {},
): Promise<SealedSession> {
  const server = await attest(client, policy, 'to seal');
  const sealed = await asClientError(Promise.resolve().then(() => sealedSessionOf(server)));
  return server.tlsSpkiSha256 !== undefined ? { ...sealed, tlsSpkiSha256: server.tlsSpkiSha256 } : sealed;
}

export interface SealedExecuteOptions extends SealingPolicy {
  /** A session verified earlier (attestForSealing); default: fetch and verify one now. */
  session?: SealedSession;
  /** Send only the bytecode's hash: the server uses the bytecode it holds from an earlier sealed request. */
  bytecodeByHash?: boolean;
  /** Clock (tests). */
  now?: () => number;
}

/**
 * Seal, send, open, verify. Throws ClientError SEAL_KEY_EXPIRED (refetch the attestation),
 * SEALED_RESPONSE_MISMATCH (the answer is for another request), SEALED_RESPONSE_TAMPERED (it does not
 * open), SEALED_REQUEST_FAILED (the server's sealed request error: `code` in the message); server
 * refusals (SEAL_REPLAY, SEAL_KEY_EXPIRED, SEAL_OPEN_FAILED, ...) come back as ConnectErrors with the
 * `wasmvm-error-code`.
 */
export async function executeSealedAndVerify(
  client: WasmvmClient,
  input: ExecuteInput,
  opts: SealedExecuteOptions = {},
): Promise<SealedExecuteResult> {
  const sealedTo = opts.session ?? (await attestForSealing(client, opts));
  const sealOpts: SealRequestOptions = { bytecodeByHash: opts.bytecodeByHash === true };
  if (opts.now) sealOpts.now = opts.now;
  const sent = { ...input, nonce: input.nonce ?? sealingNonce() };
  const request = buildExecuteRequest(sent);
  const sealed = await asClientError(sealRequest(sealedTo, request, sealOpts));
  const callOpts: { timeoutMs?: number; signal?: AbortSignal } = {};
  if (input.timeoutMs !== undefined) callOpts.timeoutMs = input.timeoutMs;
  if (input.signal) callOpts.signal = input.signal;
  const res = await client.executeSealed(sealed.message, callOpts);
  const response = await asClientError(openSealedResponse(sealed, res));
  const r = await verifyResponse(request, response, sent, opts, (claim) =>
    sealedChecks(claim, sealed.digestHex, sealedTo),
  );
  return {
    ...r,
    sealedRequestSha256: sealed.digestHex,
    sealedTo,
    sealedBytes: {
      request: sealed.message.ciphertext.length + sealed.message.enc.length,
      response: res.ciphertext.length + res.enc.length,
    },
  };
}

/** The verifier's SealingError as the typed client's ClientError (same code and message). */
async function asClientError<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof SealingError) throw new ClientError(e.code, e.message, { cause: e });
    throw e;
  }
}
