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

import type { SessionKeyJson, TeeKind } from '../binding/index.ts';
import {
  openSealedResponse,
  type SealedSession,
  SealingError,
  type SealingPolicy as SealingStepsPolicy,
  type SealRequestOptions,
  sealedChecks,
  sealingNonce,
  sealRequest,
  type VerifyExecutionOptions,
  verifySealingAttestation,
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

export { type SealedSession, sealedChecks };

/** What the attestation must satisfy before anything is sealed (and what responses are verified with). */
export interface SealingPolicy extends VerifyOptions {
  /** Require this TEE kind (absent: any). */
  teeKind?: TeeKind;
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
 * Fetch the server's attestation with a fresh nonce and verify it against the policy. Throws
 * ClientError ATTESTATION_REJECTED (naming the failing checks) or SEAL_UNAVAILABLE (no sealing key).
 */
export async function attestForSealing(
  client: WasmvmClient,
  policy: SealingPolicy = {},
): Promise<SealedSession> {
  const nonce = sealingNonce();
  const res = await client.getAttestation({ nonce });
  let session: SessionKeyJson;
  try {
    session = JSON.parse(res.attestation) as SessionKeyJson;
  } catch {
    throw new ClientError('ATTESTATION_REJECTED', 'refusing to seal: the attestation is not JSON');
  }
  if (policy.skipEvidence)
    throw new ClientError(
      'ATTESTATION_REJECTED',
      'refusing to seal: sealed execution never skips verification',
    );
  const steps: SealingStepsPolicy = verifyOpts(policy);
  if (policy.teeKind !== undefined) steps.teeKind = policy.teeKind;
  return asClientError(verifySealingAttestation(session, nonce, steps));
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
