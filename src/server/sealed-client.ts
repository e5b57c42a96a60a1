/**
 * The client half of sealed execution (docs/sealed-execution.md):
 *
 *   const session = await attestForSealing(client, { policy, allowSimulated: false });  // verify first
 *   const r = await executeSealedAndVerify(client, { bytecode, fn: 'add', args: ['1', '2'] }, { session });
 *
 * attestForSealing fetches GetAttestation with a fresh nonce and verifies it (evidence chain, policy,
 * TEE kind, simulated or not); nothing is sealed unless it passes. executeSealedAndVerify seals the
 * request to the attested HPKE key with a fresh response key, opens the sealed answer, and verifies the
 * response as executeAndVerify does, plus: the claim binds this sealed request's digest (claim field 21)
 * and was issued inside the sealing key's validity, by the attested session.
 */
import { createHash, randomBytes } from 'node:crypto';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  bytesToHex,
  type ExecutionClaim,
  framePayload,
  fromB64,
  generateSealKeyPair,
  hexToBytes,
  hpkeOpen,
  hpkeSeal,
  type SessionKeyJson,
  sealedRequestDigest,
  sealedRequestInfo,
  sealedResponseInfo,
  type TeeKind,
  unframePayload,
} from '../binding/index.ts';
import {
  SealedExecutionPayloadSchema,
  SealedExecutionRequestSchema,
  SealedResponsePayloadSchema,
} from '../gen/wasmvm/v1/wasmvm_pb.ts';
import {
  type Check,
  type Verdict,
  type VerifyExecutionOptions,
  verifySessionAttestation,
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
  /** Attested TLS: the pinned TLS key's SPKI SHA-256 (hex). */
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

function failing(v: Verdict): string {
  const out: string[] = [];
  const walk = (x: Verdict) => {
    for (const c of x.checks) if (c.outcome === 'fail') out.push(`${c.id}: ${c.detail}`);
    for (const p of x.parts ?? []) walk(p);
  };
  walk(v);
  return out.slice(0, 6).join('; ') || 'verification failed';
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
  const refusing = `refusing ${purpose}`;
  if (policy.skipEvidence)
    throw new ClientError(
      'ATTESTATION_REJECTED',
      `${refusing}: sealed execution and attested TLS never skip verification`,
    );
  const nonce = new Uint8Array(randomBytes(32));
  const res = await client.getAttestation({ nonce });
  let session: SessionKeyJson;
  try {
    session = JSON.parse(res.attestation) as SessionKeyJson;
  } catch {
    throw new ClientError('ATTESTATION_REJECTED', `${refusing}: the attestation is not JSON`);
  }
  const v = await verifySessionAttestation(session, { ...verifyOpts(policy), nonce });
  if (!v.ok)
    throw new ClientError(
      'ATTESTATION_REJECTED',
      `${refusing}: the attestation did not verify: ${failing(v)}`,
    );
  if (policy.teeKind !== undefined && session.evidence.kind !== policy.teeKind)
    throw new ClientError(
      'ATTESTATION_REJECTED',
      `${refusing}: TEE kind ${session.evidence.kind}, the policy requires ${policy.teeKind}`,
    );
  const out: AttestedServer = { session, verdict: v, identity: String(v.fields?.identity ?? '') };
  if (policy.attestedTls) out.tlsSpkiSha256 = pinTlsKey(session, policy.attestedTls, policy);
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
  const { session, verdict: v, identity, tlsSpkiSha256 } = await attest(client, policy, 'to seal');
  if (!session.seal)
    throw new ClientError('SEAL_UNAVAILABLE', 'the server attests no sealing key (serve --seal-suite none?)');
  return {
    keyId: session.jwk.kid!,
    suite: session.seal.suite,
    publicKey: fromB64(session.seal.publicKey, 'session.seal.publicKey'),
    notBefore: Date.parse(session.notBefore),
    notAfter: Date.parse(session.notAfter),
    identity,
    session,
    verdict: v,
    ...(tlsSpkiSha256 !== undefined ? { tlsSpkiSha256 } : {}),
  };
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
  const now = opts.now ?? Date.now;
  const sealedTo = opts.session ?? (await attestForSealing(client, opts));
  if (now() > sealedTo.notAfter)
    throw new ClientError(
      'SEAL_KEY_EXPIRED',
      `the attested sealing key ${sealedTo.keyId} expired at ${new Date(sealedTo.notAfter).toISOString()}: fetch the attestation again`,
    );
  const sent = { ...input, nonce: input.nonce ?? new Uint8Array(randomBytes(32)) };
  const request = buildExecuteRequest(sent);
  const byHash = opts.bytecodeByHash === true;
  const wire = byHash ? buildExecuteRequest({ ...sent, bytecode: new Uint8Array(0) }) : request;
  const responseKey = await generateSealKeyPair(sealedTo.suite);
  const payload = toBinary(
    SealedExecutionPayloadSchema,
    create(SealedExecutionPayloadSchema, {
      request: wire,
      responsePublicKey: responseKey.publicKey,
      sentAtMs: BigInt(Math.floor(now())),
      bytecodeSha256: byHash ? sha256Hex(input.bytecode) : '',
    }),
  );
  const frame = framePayload(payload);
  payload.fill(0);
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
  const digestHex = bytesToHex(digest);
  const callOpts: { timeoutMs?: number; signal?: AbortSignal } = {};
  if (input.timeoutMs !== undefined) callOpts.timeoutMs = input.timeoutMs;
  if (input.signal) callOpts.signal = input.signal;
  const res = await client.executeSealed(create(SealedExecutionRequestSchema, parts), callOpts);
  if (bytesToHex(res.requestDigest) !== digestHex || res.keyId !== sealedTo.keyId)
    throw new ClientError(
      'SEALED_RESPONSE_MISMATCH',
      `the sealed response answers another request (digest ${bytesToHex(res.requestDigest).slice(0, 16)}…, ours ${digestHex.slice(0, 16)}…)`,
    );
  let opened: Uint8Array;
  try {
    opened = await hpkeOpen(responseKey, res.enc, sealedResponseInfo(digest), res.ciphertext);
  } catch {
    throw new ClientError(
      'SEALED_RESPONSE_TAMPERED',
      'the sealed response does not open with our response key: it was edited in transit',
    );
  }
  const inner = fromBinary(SealedResponsePayloadSchema, unframePayload(opened));
  if (inner.result.case === 'error') {
    const e = inner.result.value;
    throw new ClientError('SEALED_REQUEST_FAILED', `[${e.code}] ${e.message}`);
  }
  if (inner.result.case !== 'response')
    throw new ClientError(
      'SEALED_RESPONSE_TAMPERED',
      'the sealed response holds neither a result nor an error',
    );
  const response = inner.result.value;
  const extra = (claim: ExecutionClaim | undefined): Check[] => sealedChecks(claim, digestHex, sealedTo);
  const r = await verifyResponse(request, response, sent, opts, extra);
  return {
    ...r,
    sealedRequestSha256: digestHex,
    sealedTo,
    sealedBytes: {
      request: sealed.ciphertext.length + sealed.enc.length,
      response: res.ciphertext.length + res.enc.length,
    },
  };
}

function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The checks sealed execution adds to verifyExecution's (exported for the CLI's verdict text). */
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
