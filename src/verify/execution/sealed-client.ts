/**
 * The client half of sealed execution (docs/sealed-execution.md), transport-agnostic: the protocol steps
 * on messages, for Node and for browsers alike. The transport is the caller's: in a page
 * `@connectrpc/connect-web`, in Node `@connectrpc/connect-node` (src/server/sealed-client.ts wraps these
 * steps with its typed client):
 *
 *   const nonce = sealingNonce();
 *   const att = await client.getAttestation({ nonce });
 *   const session = await verifySealingAttestation(att.attestation, nonce, { trustSimulatedRoot });
 *   const sealed = await sealRequest(session, request);            // request: a WASMVMExecutionRequest
 *   const res = await client.executeSealed(sealed.message);
 *   const response = await openSealedResponse(sealed, res);        // the WASMVMExecutionResponse
 *   const verdict = await verifySealedResponse(sealed, response, { trustSimulatedRoot });
 *
 * or all of it at once: `executeSealed(client, request, policy)` with any client that has the service's
 * `getAttestation` and `executeSealed` methods (a Connect client of WASMVMTeeService on any transport).
 * Nothing is sealed unless the attestation verifies (evidence chain, policy, TEE kind, simulated or not);
 * the response verifies as an Execute response does, plus: the claim binds this sealed request's digest
 * (claim field 21) and was issued inside the sealing key's validity, by the attested session.
 */
import { clone, create, fromBinary, toJson } from '@bufbuild/protobuf';
import {
  bytesToHex,
  claimFromJson,
  type ExecutionClaim,
  encodeFramedPayload,
  fromB64,
  generateSealKeyPair,
  hpkeOpen,
  hpkeSeal,
  parseEnvelope,
  type SealKeyPair,
  type SessionKeyJson,
  sealedRequestDigest,
  sealedRequestInfo,
  sealedResponseInfo,
  type TeeKind,
  unframePayload,
} from '../../binding/index.ts';
import {
  SealedExecutionPayloadSchema,
  type SealedExecutionRequest,
  SealedExecutionRequestSchema,
  type SealedExecutionResponse,
  SealedResponsePayloadSchema,
  type WASMVMExecutionRequest,
  WASMVMExecutionRequestSchema,
  type WASMVMExecutionResponse,
  WASMVMExecutionResponseSchema,
} from '../../gen/wasmvm/v1/wasmvm_pb.ts';
import { digestHex } from '../../util/digest.ts';
import { WasmvmTeeError } from '../../util/errors.ts';
import { base64ToBytes } from '../../util/text-codec.ts';
import { type Check, type Verdict, verdict } from '../types.ts';
import type { VerifyExecutionOptions } from './common.ts';
import { verifySessionAttestation } from './session.ts';
import { verifyExecution } from './verify.ts';

/** Codes of SealingError (the same codes src/server's ClientError uses for these failures). */
export type SealingErrorCode =
  /** The attestation did not verify (or is not JSON, or verification was asked to be skipped). */
  | 'ATTESTATION_REJECTED'
  /** The server attests no sealing key. */
  | 'SEAL_UNAVAILABLE'
  /** The attested sealing key expired: fetch the attestation again. */
  | 'SEAL_KEY_EXPIRED'
  /** The sealed response names another request (its digest is not ours). */
  | 'SEALED_RESPONSE_MISMATCH'
  /** The sealed response does not open with our response key (edited in transit). */
  | 'SEALED_RESPONSE_TAMPERED'
  /** The server opened the request and answered a (sealed) request error; its code is in the message. */
  | 'SEALED_REQUEST_FAILED';

/** A sealed-execution step that refused to go on (nothing is sent after an ATTESTATION_REJECTED). */
export class SealingError extends WasmvmTeeError<SealingErrorCode> {}

/** What verification takes besides the nonce, request and response (the client sets those). */
export type SealingVerifyOptions = Omit<VerifyExecutionOptions, 'claim' | 'response' | 'request' | 'nonce'>;

/** What the attestation must satisfy before anything is sealed (and what responses are verified with). */
export interface SealingPolicy extends SealingVerifyOptions {
  /** Require this TEE kind (absent: any). */
  teeKind?: TeeKind;
}

/** A verified session's sealing key. */
export interface SealedSession {
  keyId: string;
  suite: string;
  publicKey: Uint8Array;
  /** Validity of the key, ms since the Unix epoch (attested). */
  notBefore: number;
  notAfter: number;
  /** The session's identity (sessionKeyReportData with no nonce), hex: claims of this session carry it. */
  identity: string;
  session: SessionKeyJson;
  /** The attestation's verdict (passed). */
  verdict: Verdict;
  /** Attested TLS: the pinned TLS key's SPKI SHA-256 (hex), when the client pinned one. */
  tlsSpkiSha256?: string;
}

/** 32 fresh random bytes (crypto.getRandomValues): the nonce of a GetAttestation or of a request. */
export function sealingNonce(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}

/** The failing checks of a verdict, for a message (the first six). */
export function failingChecks(v: Verdict): string {
  const out: string[] = [];
  const walk = (x: Verdict) => {
    for (const c of x.checks) if (c.outcome === 'fail') out.push(`${c.id}: ${c.detail}`);
    for (const p of x.parts ?? []) walk(p);
  };
  walk(v);
  return out.slice(0, 6).join('; ') || 'verification failed';
}

/** A verified server attestation (any purpose: sealing, attested TLS). */
export interface VerifiedServer {
  session: SessionKeyJson;
  /** The attestation's verdict (passed). */
  verdict: Verdict;
  /** The session's identity (sessionKeyReportData with no nonce), hex. */
  identity: string;
}

/**
 * Verify a GetAttestation answer (`attestation`: its JSON text, or the parsed object) made for `nonce`
 * against the policy: evidence, REPORT_DATA with our nonce, measurements/TCB, simulated or not, TEE kind.
 * `purpose` words the refusal ("refusing to seal: ..."). Throws SealingError ATTESTATION_REJECTED.
 */
export async function verifyServerAttestation(
  attestation: string | SessionKeyJson,
  nonce: Uint8Array,
  policy: SealingPolicy = {},
  purpose = 'to seal',
): Promise<VerifiedServer> {
  const refusing = `refusing ${purpose}`;
  let session: SessionKeyJson;
  try {
    session = (typeof attestation === 'string' ? JSON.parse(attestation) : attestation) as SessionKeyJson;
  } catch {
    throw new SealingError('ATTESTATION_REJECTED', `${refusing}: the attestation is not JSON`);
  }
  const { teeKind, ...opts } = policy;
  const v = await verifySessionAttestation(session, { ...opts, nonce });
  if (!v.ok)
    throw new SealingError(
      'ATTESTATION_REJECTED',
      `${refusing}: the attestation did not verify: ${failingChecks(v)}`,
    );
  if (teeKind !== undefined && session.evidence.kind !== teeKind)
    throw new SealingError(
      'ATTESTATION_REJECTED',
      `${refusing}: TEE kind ${session.evidence.kind}, the policy requires ${teeKind}`,
    );
  return { session, verdict: v, identity: String(v.fields?.identity ?? '') };
}

/** The attested sealing key of a verified server attestation; SEAL_UNAVAILABLE when it has none. */
export function sealedSessionOf(server: VerifiedServer): SealedSession {
  const { session, verdict, identity } = server;
  if (!session.seal)
    throw new SealingError(
      'SEAL_UNAVAILABLE',
      'the server attests no sealing key (serve --seal-suite none?)',
    );
  return {
    keyId: session.jwk.kid!,
    suite: session.seal.suite,
    publicKey: fromB64(session.seal.publicKey, 'session.seal.publicKey'),
    notBefore: Date.parse(session.notBefore),
    notAfter: Date.parse(session.notAfter),
    identity,
    session,
    verdict,
  };
}

/**
 * Verify a GetAttestation answer made for `nonce` against the policy (verifyServerAttestation) and return
 * the attested sealing key. Throws SealingError ATTESTATION_REJECTED (naming the failing checks) or
 * SEAL_UNAVAILABLE (no sealing key).
 */
export async function verifySealingAttestation(
  attestation: string | SessionKeyJson,
  nonce: Uint8Array,
  policy: SealingPolicy = {},
): Promise<SealedSession> {
  return sealedSessionOf(await verifyServerAttestation(attestation, nonce, policy));
}

/** A sealed request ready to send, and what opening and verifying its answer need. */
export interface SealedRequest {
  /** The message to send (ExecuteSealed). */
  message: SealedExecutionRequest;
  /** The request as sealed (with its bytecode even when sent by hash): what the response is checked against. */
  request: WASMVMExecutionRequest;
  /** The session it is sealed to. */
  sealedTo: SealedSession;
  /** sealedRequestDigest of the message (the claim's sealedRequestSha256) and its hex. */
  digest: Uint8Array;
  digestHex: string;
  /** The fresh key the response is sealed to. */
  responseKey: SealKeyPair;
}

export interface SealRequestOptions {
  /** Send only the bytecode's hash: the server uses the bytecode it holds from an earlier sealed request. */
  bytecodeByHash?: boolean;
  /** Clock, ms since the Unix epoch (tests). */
  now?: () => number;
}

/** The request's bytecode bytes (base64 text or raw). */
function bytecodeOf(r: WASMVMExecutionRequest): Uint8Array {
  const e = r.execution;
  if (!e) return new Uint8Array(0);
  return e.bytecodeRaw.length > 0 ? e.bytecodeRaw : base64ToBytes(e.bytecode.replace(/[\r\n]/g, ''));
}

/**
 * Seal a request (its `execution.nonce` set: the server's replay window keys on it) to the attested key,
 * with a fresh response key. Throws SealingError SEAL_KEY_EXPIRED when the key's validity has passed.
 * The plaintext frame is zeroed once sealed.
 */
export async function sealRequest(
  sealedTo: SealedSession,
  request: WASMVMExecutionRequest,
  opts: SealRequestOptions = {},
): Promise<SealedRequest> {
  const now = opts.now ?? Date.now;
  if (now() > sealedTo.notAfter)
    throw new SealingError(
      'SEAL_KEY_EXPIRED',
      `the attested sealing key ${sealedTo.keyId} expired at ${new Date(sealedTo.notAfter).toISOString()}: fetch the attestation again`,
    );
  const byHash = opts.bytecodeByHash === true;
  let wire = request;
  if (byHash && request.execution) {
    wire = clone(WASMVMExecutionRequestSchema, request);
    wire.execution!.bytecode = '';
    wire.execution!.bytecodeRaw = new Uint8Array(0);
  }
  const responseKey = await generateSealKeyPair(sealedTo.suite);
  // The frame straight from the message: the bytecode is copied once, into the frame (framed-encode.ts).
  const frame = encodeFramedPayload(
    SealedExecutionPayloadSchema,
    create(SealedExecutionPayloadSchema, {
      request: wire,
      responsePublicKey: responseKey.publicKey,
      sentAtMs: BigInt(Math.floor(now())),
      bytecodeSha256: byHash ? digestHex('sha256', bytecodeOf(request)) : '',
    }),
  );
  let sealed: { enc: Uint8Array; ciphertext: Uint8Array };
  try {
    sealed = await hpkeSeal(
      sealedTo.suite,
      sealedTo.publicKey,
      sealedRequestInfo(sealedTo.suite, sealedTo.keyId),
      frame,
    );
  } finally {
    frame.fill(0);
  }
  const parts = { keyId: sealedTo.keyId, suite: sealedTo.suite, ...sealed };
  const digest = sealedRequestDigest(parts);
  return {
    message: create(SealedExecutionRequestSchema, parts),
    request,
    sealedTo,
    digest,
    digestHex: bytesToHex(digest),
    responseKey,
  };
}

/**
 * Open the ExecuteSealed answer to `sealed`: the Execute response inside. Throws SealingError
 * SEALED_RESPONSE_MISMATCH (it answers another request), SEALED_RESPONSE_TAMPERED (it does not open, or
 * holds nothing) or SEALED_REQUEST_FAILED (the server's sealed request error: `[code] message`).
 */
export async function openSealedResponse(
  sealed: SealedRequest,
  res: SealedExecutionResponse,
): Promise<WASMVMExecutionResponse> {
  if (bytesToHex(res.requestDigest) !== sealed.digestHex || res.keyId !== sealed.sealedTo.keyId)
    throw new SealingError(
      'SEALED_RESPONSE_MISMATCH',
      `the sealed response answers another request (digest ${bytesToHex(res.requestDigest).slice(0, 16)}…, ours ${sealed.digestHex.slice(0, 16)}…)`,
    );
  let opened: Uint8Array;
  try {
    opened = await hpkeOpen(sealed.responseKey, res.enc, sealedResponseInfo(sealed.digest), res.ciphertext);
  } catch {
    throw new SealingError(
      'SEALED_RESPONSE_TAMPERED',
      'the sealed response does not open with our response key: it was edited in transit',
    );
  }
  const inner = fromBinary(SealedResponsePayloadSchema, unframePayload(opened));
  if (inner.result.case === 'error') {
    const e = inner.result.value;
    throw new SealingError('SEALED_REQUEST_FAILED', `[${e.code}] ${e.message}`);
  }
  if (inner.result.case !== 'response')
    throw new SealingError(
      'SEALED_RESPONSE_TAMPERED',
      'the sealed response holds neither a result nor an error',
    );
  return inner.result.value;
}

/** The checks sealed execution adds to verifyExecution's. */
export function sealedChecks(
  claim: ExecutionClaim | undefined,
  digestHex: string,
  s: Pick<SealedSession, 'notBefore' | 'notAfter' | 'identity' | 'keyId'>,
): Check[] {
  if (!claim) return [{ id: 'sealed.request', outcome: 'fail', detail: 'no claim in the sealed response' }];
  const checks: Check[] = [];
  const bound = claim.sealedRequestSha256 === digestHex;
  checks.push({
    id: 'sealed.request',
    outcome: bound ? 'pass' : 'fail',
    detail: bound
      ? 'claim.sealedRequestSha256 = the digest of the sealed request we sent'
      : `claim.sealedRequestSha256 ${claim.sealedRequestSha256 ?? '(none)'} ≠ our sealed request ${digestHex}: a result for another request`,
  });
  const t = Number(claim.issuedAt);
  const inside = s.notBefore <= t && t <= s.notAfter;
  checks.push({
    id: 'sealed.key-validity',
    outcome: inside ? 'pass' : 'fail',
    detail: inside
      ? `issued ${new Date(t).toISOString()}, inside sealing key ${s.keyId}'s validity`
      : `issued ${new Date(t).toISOString()}, outside sealing key ${s.keyId}'s validity ${new Date(s.notBefore).toISOString()} – ${new Date(s.notAfter).toISOString()}: sealed under an expired key`,
  });
  if (claim.session !== undefined) {
    const same = claim.session === s.identity;
    checks.push({
      id: 'sealed.session',
      outcome: same ? 'pass' : 'fail',
      detail: same
        ? 'the claim is signed by the attested session whose key opened the request'
        : 'the claim is signed by another session than the one the request was sealed to',
    });
  }
  return checks;
}

/**
 * Verify the opened response against the sealed request: the envelope read (a failure is a failed
 * `binding.envelope` check), the sealed checks, then verifyExecution of the whole response with the
 * request and its nonce — the verdict `executeSealedAndVerify` of src/server gives (kind
 * 'execution-response'). `claim`: the response's claim, when it could be read.
 */
export async function verifySealedResponse(
  sealed: SealedRequest,
  response: WASMVMExecutionResponse,
  opts: SealingVerifyOptions = {},
): Promise<{ verdict: Verdict; claim?: ExecutionClaim }> {
  const checks: Check[] = [];
  let claim: ExecutionClaim | undefined;
  const r = response.result;
  if (!r) checks.push({ id: 'response.result', outcome: 'fail', detail: 'response has no result' });
  else
    try {
      claim = claimFromJson(parseEnvelope(r.attestation).claim);
    } catch (e) {
      checks.push({ id: 'binding.envelope', outcome: 'fail', detail: (e as Error).message });
    }
  checks.push(...sealedChecks(claim, sealed.digestHex, sealed.sealedTo));
  const part = await verifyExecution(undefined, {
    ...opts,
    request: toJson(WASMVMExecutionRequestSchema, sealed.request),
    response: toJson(WASMVMExecutionResponseSchema, response),
    nonce: sealed.request.execution?.nonce ?? new Uint8Array(0),
  });
  const v = verdict('execution-response', checks, { parts: [part] });
  return claim ? { verdict: v, claim } : { verdict: v };
}

/** The two service methods sealed execution calls (a Connect client of WASMVMTeeService has them). */
export interface SealingClient {
  getAttestation(req: { nonce: Uint8Array }): Promise<{ attestation: string }>;
  executeSealed(req: SealedExecutionRequest): Promise<SealedExecutionResponse>;
}

export interface SealedExecution {
  /** The opened Execute response. */
  response: WASMVMExecutionResponse;
  verdict: Verdict;
  /** True only when the verdict passed. */
  verified: boolean;
  claim?: ExecutionClaim;
  /** sealedRequestDigest of what was sent, hex (the claim's sealedRequestSha256). */
  sealedRequestSha256: string;
  sealedTo: SealedSession;
  /** Bytes that crossed the host: sealed request and sealed response ciphertexts. */
  sealedBytes: { request: number; response: number };
}

/**
 * Attest (unless `session` is given), seal, send, open and verify, over any client. The request's
 * `execution.nonce` must be set (fresh per request: sealingNonce()).
 */
export async function executeSealed(
  client: SealingClient,
  request: WASMVMExecutionRequest,
  opts: SealingPolicy & SealRequestOptions & { session?: SealedSession } = {},
): Promise<SealedExecution> {
  const { session, bytecodeByHash, now, ...policy } = opts;
  let sealedTo = session;
  if (!sealedTo) {
    const nonce = sealingNonce();
    const att = await client.getAttestation({ nonce });
    sealedTo = await verifySealingAttestation(att.attestation, nonce, policy);
  }
  const sealOpts: SealRequestOptions = {};
  if (bytecodeByHash !== undefined) sealOpts.bytecodeByHash = bytecodeByHash;
  if (now !== undefined) sealOpts.now = now;
  const sealed = await sealRequest(sealedTo, request, sealOpts);
  const res = await client.executeSealed(sealed.message);
  const response = await openSealedResponse(sealed, res);
  const { teeKind: _teeKind, ...verifyOpts } = policy;
  const { verdict: v, claim } = await verifySealedResponse(sealed, response, verifyOpts);
  const out: SealedExecution = {
    response,
    verdict: v,
    verified: v.ok,
    sealedRequestSha256: sealed.digestHex,
    sealedTo,
    sealedBytes: {
      request: sealed.message.ciphertext.length + sealed.message.enc.length,
      response: res.ciphertext.length + res.enc.length,
    },
  };
  if (claim) out.claim = claim;
  return out;
}
