/**
 * ExecuteSealed (docs/sealed-execution.md): open an HPKE-sealed request with the session's attested
 * sealing key, check its freshness (replay window keyed by nonce per key id), run it as Execute does, and
 * seal the response (or the request's error) to the client's response key. Nothing of the request's
 * plaintext is logged, metered, traced or put into a clear error message: only the key id, the sealed
 * request digest, bucketed sizes and stable error codes are visible to the host. Plaintext buffers are
 * zeroed after use (those this module owns; see the docs for what Node keeps).
 */
import { create, fromBinary } from '@bufbuild/protobuf';
import type { HandlerContext } from '@connectrpc/connect';
import {
  bytesToHex,
  encodeFramedPayload,
  hpkeOpen,
  hpkeSeal,
  isBindingError,
  type SealKeyPair,
  sealedRequestDigest,
  sealedRequestInfo,
  sealedResponseInfo,
  sealSuiteInfo,
  unframePayload,
} from '../binding/index.ts';
import {
  SealedErrorSchema,
  type SealedExecutionPayload,
  SealedExecutionPayloadSchema,
  type SealedExecutionRequest,
  type SealedExecutionResponse,
  SealedExecutionResponseSchema,
  SealedResponsePayloadSchema,
  type WASMVMExecutionResponse,
} from '../gen/wasmvm/v1/wasmvm_pb.ts';
import type { ServiceDeps } from './context.ts';
import { type ErrorCode, isErrorCode, ServiceError } from './errors.ts';
import { executeSealedPayload } from './execute-request.ts';

/** Smallest nonce a sealed request may carry (it keys the replay window). */
export const SEALED_MIN_NONCE_BYTES = 16;

export interface ReplayWindowOptions {
  /** Accepted client clock skew/age of `sent_at_ms`, ms (default 5 minutes). */
  windowMs?: number;
  /** Nonces remembered per key id (default 100 000); beyond it the oldest go and the window shrinks. */
  maxEntries?: number;
  now?: () => number;
}

/**
 * The replay window: a nonce is accepted once per key id while its `sent_at_ms` is within ±windowMs of
 * the server clock. Nonces are remembered until their sent time leaves the window, so a replay is either
 * remembered (SEAL_REPLAY) or too old (SEAL_STALE). Bounded: when full, the oldest nonce is forgotten
 * and requests sent at or before it are refused as stale from then on.
 */
export class ReplayWindow {
  readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** key id → (nonce hex → sent at), insertion-ordered; and the per-key floor raised by evictions. */
  private readonly seen = new Map<string, { nonces: Map<string, number>; floor: number }>();

  constructor(opts: ReplayWindowOptions = {}) {
    this.windowMs = opts.windowMs ?? 300_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  /** Accept (remember) or refuse a (key id, nonce, sent-at). */
  admit(kid: string, nonce: Uint8Array, sentAtMs: number): void {
    const now = this.now();
    if (!(Math.abs(now - sentAtMs) <= this.windowMs))
      throw new ServiceError(
        'SEAL_STALE',
        `sealed request sent_at_ms is outside the replay window (±${this.windowMs} ms of the server clock): check the client clock and send a fresh request`,
      );
    let k = this.seen.get(kid);
    if (!k) {
      k = { nonces: new Map(), floor: Number.NEGATIVE_INFINITY };
      this.seen.set(kid, k);
      // Key ids rotate: keep the latest few.
      while (this.seen.size > 4) this.seen.delete(this.seen.keys().next().value!);
    }
    for (const [n, t] of k.nonces) {
      if (t + this.windowMs >= now) break;
      k.nonces.delete(n);
    }
    if (sentAtMs <= k.floor)
      throw new ServiceError(
        'SEAL_STALE',
        'sealed request is older than the replay window currently remembers: send a fresh request',
      );
    const h = Buffer.from(nonce).toString('hex');
    if (k.nonces.has(h))
      throw new ServiceError(
        'SEAL_REPLAY',
        `replayed sealed request: this nonce was already used with key id ${kid}`,
      );
    k.nonces.set(h, sentAtMs);
    while (k.nonces.size > this.maxEntries) {
      const [n, t] = k.nonces.entries().next().value!;
      k.nonces.delete(n);
      k.floor = Math.max(k.floor, t);
    }
  }
}

/** Bytecode the server holds from earlier sealed requests (inside the TEE only), by SHA-256 hex. */
export class SealedBytecodeStore {
  private readonly items = new Map<string, Uint8Array>();
  private bytes = 0;
  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}
  has(sha256: string): boolean {
    return this.items.has(sha256);
  }
  get(sha256: string): Uint8Array | undefined {
    const b = this.items.get(sha256);
    if (b) {
      this.items.delete(sha256);
      this.items.set(sha256, b);
    }
    return b;
  }
  put(sha256: string, bytecode: Uint8Array): void {
    if (this.items.has(sha256) || bytecode.length > this.maxBytes) return;
    this.items.set(sha256, bytecode.slice());
    this.bytes += bytecode.length;
    for (const [k, v] of this.items) {
      if (this.bytes <= this.maxBytes) break;
      this.items.delete(k);
      v.fill(0);
      this.bytes -= v.length;
    }
  }
}

export interface SealedServiceState {
  replay: ReplayWindow;
  bytecode: SealedBytecodeStore;
}

/** Codes answered in clear (as a gRPC error) even after the request opened: capacity and lifecycle. */
const CLEAR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'TOO_BUSY',
  'CLIENT_QUOTA',
  'SHUTTING_DOWN',
  'DEADLINE_EXCEEDED',
  'CANCELLED',
  'ENGINE_UNAVAILABLE',
  'ENGINE_CRASHED',
]);

function refuse(deps: ServiceDeps, code: ErrorCode, message: string): never {
  deps.metrics.sealed.inc({ outcome: code });
  throw new ServiceError(code, message);
}

/** Open, check, run, seal. */
export async function executeSealed(
  req: SealedExecutionRequest,
  ctx: HandlerContext,
  deps: ServiceDeps,
  state: SealedServiceState,
): Promise<SealedExecutionResponse> {
  const attester = deps.backend.attester;
  if (deps.isDraining()) refuse(deps, 'SHUTTING_DOWN', 'server is shutting down');
  if (!attester.sealKeyFor) refuse(deps, 'SEAL_UNAVAILABLE', 'this server has no sealing key');
  const lookup = await attester.sealKeyFor(req.keyId);
  if (lookup.state === 'unknown')
    refuse(
      deps,
      'SEAL_UNKNOWN_KEY',
      `key id '${req.keyId.slice(0, 64)}' is not one of this server's sealing keys: fetch the attestation (GetAttestation), verify it, and seal to its key`,
    );
  if (lookup.state === 'expired')
    refuse(
      deps,
      'SEAL_KEY_EXPIRED',
      `sealing key ${lookup.kid} expired at ${new Date(lookup.notAfter).toISOString()}: fetch the attestation again (GetAttestation) and seal to the new key`,
    );
  const key = lookup.key;
  if (req.suite !== key.suite)
    refuse(
      deps,
      'SEAL_UNKNOWN_SUITE',
      `sealed with suite '${req.suite.slice(0, 64)}', the key's suite is '${key.suite}'`,
    );
  if (req.enc.length !== sealSuiteInfo(key.suite).encBytes)
    refuse(deps, 'SEAL_OPEN_FAILED', 'the encapsulated key has the wrong length for the suite');
  const digest = sealedRequestDigest({
    keyId: req.keyId,
    suite: req.suite,
    enc: req.enc,
    ciphertext: req.ciphertext,
  });
  let frame: Uint8Array;
  try {
    frame = await hpkeOpen(key, req.enc, sealedRequestInfo(key.suite, req.keyId), req.ciphertext);
  } catch {
    refuse(
      deps,
      'SEAL_OPEN_FAILED',
      `the sealed request does not open with sealing key ${req.keyId}: the ciphertext was edited or sealed to another key`,
    );
  }
  try {
    let payload: SealedExecutionPayload;
    try {
      payload = fromBinary(SealedExecutionPayloadSchema, unframePayload(frame));
    } catch {
      refuse(deps, 'SEAL_INVALID_PAYLOAD', 'the opened request is not a well-formed SealedExecutionPayload');
    }
    if (payload.responsePublicKey.length !== sealSuiteInfo(key.suite).publicKeyBytes)
      refuse(deps, 'SEAL_INVALID_PAYLOAD', `response_public_key is not a ${key.suite} public key`);
    const nonce = payload.request?.execution?.nonce ?? new Uint8Array(0);
    if (nonce.length < SEALED_MIN_NONCE_BYTES || nonce.length > deps.config.maxNonceBytes)
      refuse(
        deps,
        'SEAL_INVALID_PAYLOAD',
        `a sealed request needs a nonce of ${SEALED_MIN_NONCE_BYTES}..${deps.config.maxNonceBytes} bytes`,
      );
    try {
      state.replay.admit(req.keyId, nonce, Number(payload.sentAtMs));
    } catch (e) {
      deps.metrics.sealed.inc({ outcome: (e as ServiceError).code });
      throw e;
    }
    const answer = await runSealed(payload, digest, req.keyId, ctx, deps, state);
    return await sealAnswer(key, payload.responsePublicKey, digest, req.keyId, answer, deps);
  } finally {
    frame.fill(0);
  }
}

type Answer = { response: WASMVMExecutionResponse } | { error: { code: string; message: string } };

async function runSealed(
  payload: SealedExecutionPayload,
  digest: Uint8Array,
  keyId: string,
  ctx: HandlerContext,
  deps: ServiceDeps,
  state: SealedServiceState,
): Promise<Answer> {
  const req = payload.request!;
  const exec = req.execution;
  try {
    let fromStore = false;
    if (exec && exec.bytecodeRaw.length === 0 && exec.bytecode === '' && payload.bytecodeSha256 !== '') {
      const held = state.bytecode.get(payload.bytecodeSha256.toLowerCase());
      if (!held)
        return {
          error: {
            code: 'BYTECODE_NOT_CACHED',
            message: `the server holds no sealed bytecode with SHA-256 ${payload.bytecodeSha256}: send the bytecode`,
          },
        };
      exec.bytecodeRaw = held;
      fromStore = true;
    }
    const response = await executeSealedPayload(req, ctx, deps, bytesToHex(digest), keyId);
    if (!fromStore && exec) {
      // Held in the bytecode's raw form (a copy; the opened frame is zeroed after the call).
      // The engine hashed it already (the claim's bytecodeSha256): no second pass over the bytes.
      const sha = response.result?.bytecodeSha256 ?? '';
      if (/^[0-9a-f]{64}$/.test(sha) && !state.bytecode.has(sha)) {
        const raw = exec.bytecodeRaw.length > 0 ? exec.bytecodeRaw : Buffer.from(exec.bytecode, 'base64');
        if (raw.length > 0) state.bytecode.put(sha, raw);
      }
    }
    return { response };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CLEAR_CODES.has(code)) {
      // Capacity and lifecycle errors stay retryable gRPC errors, with a message that quotes nothing.
      deps.metrics.sealed.inc({ outcome: code });
      throw new ServiceError(code as ErrorCode, `sealed execution not run: ${code}`);
    }
    if ((e instanceof Error && isErrorCode(code)) || isBindingError(e))
      return { error: { code: String(code), message: (e as Error).message } };
    return { error: { code: 'INTERNAL', message: 'internal error' } };
  }
}

async function sealAnswer(
  key: SealKeyPair,
  responsePublicKey: Uint8Array,
  digest: Uint8Array,
  keyId: string,
  answer: Answer,
  deps: ServiceDeps,
): Promise<SealedExecutionResponse> {
  const inner = create(SealedResponsePayloadSchema, {
    result:
      'response' in answer
        ? { case: 'response', value: answer.response }
        : { case: 'error', value: create(SealedErrorSchema, answer.error) },
  });
  const frame = encodeFramedPayload(SealedResponsePayloadSchema, inner);
  let sealed: { enc: Uint8Array; ciphertext: Uint8Array };
  try {
    sealed = await hpkeSeal(key.suite, responsePublicKey, sealedResponseInfo(digest), frame);
  } catch {
    refuse(deps, 'SEAL_INVALID_PAYLOAD', `response_public_key is not a ${key.suite} public key`);
  } finally {
    frame.fill(0);
  }
  deps.metrics.sealed.inc({ outcome: 'sealed' });
  return create(SealedExecutionResponseSchema, {
    keyId,
    requestDigest: digest,
    enc: sealed.enc,
    ciphertext: sealed.ciphertext,
    errorCode: 'error' in answer ? answer.error.code : '',
  });
}
