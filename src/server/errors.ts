/**
 * Every error the service returns: a gRPC code plus a stable detail code (docs/server.md, "Errors").
 *
 * The detail code travels three ways, so every client can read it:
 * - a `wasm.ErrorDetail { code, request_id }` message in the error details (grpc-status-details-bin,
 *   Connect JSON "details");
 * - the `wasmvm-error-code` response trailer (gRPC) / header (Connect unary, gRPC-Web);
 * - the message, prefixed with `[CODE]`.
 */

import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import type { BindingErrorCode } from '../binding/index.ts';
import { ErrorDetailSchema } from '../gen/wasmvm/v1/wasmvm_pb.ts';
import { isWasmvmTeeError, WasmvmTeeError } from '../util/errors.ts';

/** Stable error codes and the gRPC code each maps to. */
export const ERROR_CODES = {
  // request shape (server)
  MISSING_EXECUTION: Code.InvalidArgument,
  MISSING_FUNCTION: Code.InvalidArgument,
  INVALID_BASE64: Code.InvalidArgument,
  MISSING_BYTECODE: Code.InvalidArgument,
  BYTECODE_CONFLICT: Code.InvalidArgument,
  INPUTS_CONFLICT: Code.InvalidArgument,
  INVALID_VALUE: Code.InvalidArgument,
  INVALID_GAS_LIMIT: Code.InvalidArgument,
  INVALID_NONCE: Code.InvalidArgument,
  INVALID_MODE: Code.InvalidArgument,
  UNSUPPORTED_ATTESTATION: Code.FailedPrecondition,
  // engine (EngineError codes, passed through)
  INVALID_BYTECODE: Code.InvalidArgument,
  UNSUPPORTED_FEATURE: Code.InvalidArgument,
  FUNCTION_NOT_FOUND: Code.NotFound,
  NOT_A_FUNCTION: Code.InvalidArgument,
  INVALID_ARGUMENT: Code.InvalidArgument,
  ARITY_MISMATCH: Code.InvalidArgument,
  UNKNOWN_IMPORT: Code.InvalidArgument,
  BYTECODE_TOO_LARGE: Code.ResourceExhausted,
  MEMORY_LIMIT: Code.ResourceExhausted,
  TABLE_LIMIT: Code.ResourceExhausted,
  LIMIT_EXCEEDED: Code.ResourceExhausted,
  ENGINE_UNAVAILABLE: Code.Unavailable,
  ENGINE_CRASHED: Code.Unavailable,
  // static module limits (docs/engine.md)
  TOO_MANY_TABLES: Code.ResourceExhausted,
  TABLE_ELEMENTS_LIMIT: Code.ResourceExhausted,
  TOO_MANY_MEMORIES: Code.ResourceExhausted,
  TOO_MANY_GLOBALS: Code.ResourceExhausted,
  DATA_SEGMENT_LIMIT: Code.ResourceExhausted,
  ELEMENT_SEGMENT_LIMIT: Code.ResourceExhausted,
  TOO_MANY_FUNCTIONS: Code.ResourceExhausted,
  FUNCTION_BODY_TOO_LARGE: Code.ResourceExhausted,
  TOO_MANY_LOCALS: Code.ResourceExhausted,
  BR_TABLE_LIMIT: Code.ResourceExhausted,
  NESTING_LIMIT: Code.ResourceExhausted,
  COMPILE_COST_LIMIT: Code.ResourceExhausted,
  // server limits and lifecycle
  TOO_BUSY: Code.ResourceExhausted,
  CLIENT_QUOTA: Code.ResourceExhausted,
  BODY_QUOTA: Code.ResourceExhausted,
  BODY_TIMEOUT: Code.DeadlineExceeded,
  MESSAGE_TOO_LARGE: Code.ResourceExhausted,
  DEADLINE_EXCEEDED: Code.DeadlineExceeded,
  CANCELLED: Code.Canceled,
  SHUTTING_DOWN: Code.Unavailable,
  // attestation
  ATTESTATION_FAILED: Code.Internal,
  GPU_UNAVAILABLE: Code.FailedPrecondition,
  // sealed execution (docs/sealed-execution.md)
  SEAL_UNKNOWN_KEY: Code.FailedPrecondition,
  SEAL_KEY_EXPIRED: Code.FailedPrecondition,
  SEAL_UNKNOWN_SUITE: Code.InvalidArgument,
  SEAL_INVALID_KEY: Code.InvalidArgument,
  SEAL_OPEN_FAILED: Code.InvalidArgument,
  SEAL_INVALID_FRAME: Code.InvalidArgument,
  SEAL_INVALID_PAYLOAD: Code.InvalidArgument,
  SEAL_REPLAY: Code.AlreadyExists,
  SEAL_STALE: Code.FailedPrecondition,
  SEAL_UNAVAILABLE: Code.FailedPrecondition,
  BYTECODE_NOT_CACHED: Code.FailedPrecondition,
  // anything else
  INTERNAL: Code.Internal,
} as const satisfies Record<string, Code>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Codes of other rooms' errors that are not service codes, and the service code answered for each:
 * binding's (a claim or envelope the attester could not build or read) are ATTESTATION_FAILED; an HPKE
 * primitive the Node twin lacks is INTERNAL (a bug, never the client's input).
 */
const ANSWERED_AS = {
  INVALID_CLAIM: 'ATTESTATION_FAILED',
  INVALID_HEX: 'ATTESTATION_FAILED',
  INVALID_ENVELOPE: 'ATTESTATION_FAILED',
  UNSUPPORTED_CLAIM_VERSION: 'ATTESTATION_FAILED',
  UNSUPPORTED_ENVELOPE_VERSION: 'ATTESTATION_FAILED',
  INVALID_REQUEST: 'ATTESTATION_FAILED',
  INVALID_RESPONSE: 'ATTESTATION_FAILED',
  VALUE_MISMATCH: 'ATTESTATION_FAILED',
  INVALID_LENGTH: 'ATTESTATION_FAILED',
  SEAL_UNSUPPORTED_PRIMITIVE: 'INTERNAL',
} as const satisfies Record<Exclude<BindingErrorCode, ErrorCode>, ErrorCode>;

/** Retry hint (ms) of codes whose error carries none: a crashed or unavailable engine is restarted. */
const DEFAULT_RETRY_MS: Partial<Record<ErrorCode, number>> = { ENGINE_CRASHED: 100, ENGINE_UNAVAILABLE: 100 };

export const ERROR_CODE_HEADER = 'wasmvm-error-code';
export const REQUEST_ID_HEADER = 'wasmvm-request-id';
/** Retry hint of RESOURCE_EXHAUSTED / UNAVAILABLE answers: milliseconds to wait before retrying. */
export const RETRY_AFTER_HEADER = 'wasmvm-retry-after-ms';

export class ServiceError extends WasmvmTeeError<ErrorCode> {
  /** Retry hint (sent as the wasmvm-retry-after-ms header/trailer). */
  readonly retryAfterMs: number | undefined;
  constructor(code: ErrorCode, message: string, retryAfterMs?: number) {
    super(code, message);
    this.retryAfterMs = retryAfterMs;
  }
}

/** A server set up with impossible limits (never sent to a client: the server does not start). */
export class ServerConfigError extends WasmvmTeeError<'INVALID_CONFIG'> {}

/** Stable codes of the typed client's own errors (the server's come back as ConnectErrors). */
export type ClientErrorCode =
  | 'UNKNOWN_PROTOCOL'
  /** Execute failed after every allowed attempt; `cause` holds the last ConnectError. */
  | 'EXECUTE_FAILED'
  /** Sealed execution (sealed-client.ts): the attestation did not verify, so nothing was sealed. */
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
  | 'SEALED_REQUEST_FAILED'
  /**
   * Attested TLS (tls-pin.ts): the server's TLS key is not (yet) attested — no verified session binds one,
   * or it is not TEE-generated where the policy requires that; nothing but GetAttestation was sent.
   */
  | 'TLS_KEY_NOT_ATTESTED'
  /** Attested TLS: the TLS peer's key is not the attested one (a proxy or another server); connection refused. */
  | 'TLS_KEY_MISMATCH';

/** An error of the typed client itself (client.ts), before anything is sent. */
export class ClientError extends WasmvmTeeError<ClientErrorCode> {}

export function isErrorCode(c: unknown): c is ErrorCode {
  return typeof c === 'string' && Object.hasOwn(ERROR_CODES, c);
}

/** Build the ConnectError for a stable code. */
export function connectError(code: ErrorCode, message: string, requestId = ''): ConnectError {
  const err = new ConnectError(`[${code}] ${message}`, ERROR_CODES[code], undefined, [
    { desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { code, requestId }) },
  ]);
  err.metadata.set(ERROR_CODE_HEADER, code);
  if (requestId) err.metadata.set(REQUEST_ID_HEADER, requestId);
  return err;
}

/** Map any thrown value to (stable code, ConnectError). Messages of unknown errors are not leaked. */
export function toConnectError(e: unknown, requestId = ''): { code: string; error: ConnectError } {
  if (e instanceof ConnectError) {
    const existing = e.metadata.get(ERROR_CODE_HEADER);
    if (isErrorCode(existing)) return { code: existing, error: e };
    // Raised by the RPC layer (deadline, cancel, message size) or by health/reflection: keep the gRPC
    // code, add the detail code where one is documented.
    const mapped: ErrorCode | undefined =
      e.code === Code.DeadlineExceeded
        ? 'DEADLINE_EXCEEDED'
        : e.code === Code.Canceled
          ? 'CANCELLED'
          : e.code === Code.ResourceExhausted && /readMaxBytes|message size/i.test(e.rawMessage)
            ? 'MESSAGE_TOO_LARGE'
            : undefined;
    if (mapped) return { code: mapped, error: connectError(mapped, e.rawMessage, requestId) };
    return { code: codeName(e.code), error: e };
  }
  // By code only: a service code (its own or passed through from the engine), or another room's code
  // the service answers with one of its own (ANSWERED_AS).
  const coded = e as { code?: unknown; retryAfterMs?: unknown };
  if (e instanceof Error && isErrorCode(coded.code)) {
    const error = connectError(coded.code, e.message, requestId);
    const retry = typeof coded.retryAfterMs === 'number' ? coded.retryAfterMs : DEFAULT_RETRY_MS[coded.code];
    if (retry !== undefined) error.metadata.set(RETRY_AFTER_HEADER, String(retry));
    return { code: coded.code, error };
  }
  if (isWasmvmTeeError(e) && Object.hasOwn(ANSWERED_AS, e.code)) {
    const code = ANSWERED_AS[e.code as keyof typeof ANSWERED_AS];
    return { code, error: connectError(code, e.message, requestId) };
  }
  return { code: 'INTERNAL', error: connectError('INTERNAL', 'internal error (see server log)', requestId) };
}

/** The gRPC code name, as logged and used as a metrics label ("OK", "INVALID_ARGUMENT", ...). */
export function codeName(code: Code | undefined): string {
  if (code === undefined) return 'OK';
  return (Code[code] ?? 'UNKNOWN').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}
