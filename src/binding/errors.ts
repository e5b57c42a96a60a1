/**
 * BindingError: the error of the binding room (claims, envelopes, derivations) and of the verifier's
 * reading of requests and responses against them. `field` names the offending field when there is one.
 */
import { WasmvmTeeError } from '../util/errors.ts';

/** Stable codes of BindingError. */
export type BindingErrorCode =
  /** A claim field is missing, unknown or malformed (also: a value out of range while encoding). */
  | 'INVALID_CLAIM'
  /** A hex string is not even-length hex. */
  | 'INVALID_HEX'
  /** An envelope or session field is missing, unknown or malformed. */
  | 'INVALID_ENVELOPE'
  | 'UNSUPPORTED_CLAIM_VERSION'
  | 'UNSUPPORTED_ENVELOPE_VERSION'
  /** A saved request (verifier input) is malformed. */
  | 'INVALID_REQUEST'
  /** A saved response (verifier input) is malformed. */
  | 'INVALID_RESPONSE'
  /** Two representations of one value in a saved response disagree. */
  | 'VALUE_MISMATCH'
  /** A nonce given to the verifier is not hex. */
  | 'INVALID_NONCE'
  /** A derivation got input of the wrong size (e.g. REPORT_DATA not 64 bytes). */
  | 'INVALID_LENGTH'
  /** A gas limit outside 1..2^63-1. */
  | 'INVALID_GAS_LIMIT'
  /** Reading an Execute request (request.ts): the service's stable request codes. */
  | 'MISSING_EXECUTION'
  | 'MISSING_FUNCTION'
  | 'MISSING_BYTECODE'
  | 'BYTECODE_CONFLICT'
  | 'BYTECODE_TOO_LARGE'
  | 'INPUTS_CONFLICT'
  | 'INVALID_BASE64'
  | 'INVALID_VALUE'
  | 'INVALID_MODE'
  | 'INVALID_ARGUMENT'
  | 'UNSUPPORTED_ATTESTATION'
  /** Sealed execution (sealed.ts): an unknown suite name, a malformed public key. */
  | 'SEAL_UNKNOWN_SUITE'
  | 'SEAL_INVALID_KEY'
  /** An HPKE ciphertext did not open (edited, another key, another request). */
  | 'SEAL_OPEN_FAILED'
  /** An opened plaintext is not a well-formed frame (sealed.ts framePayload). */
  | 'SEAL_INVALID_FRAME'
  /** @hpke asked the Node primitives (platform/hpke-primitives-node.ts) for something they do not provide. */
  | 'SEAL_UNSUPPORTED_PRIMITIVE';

export class BindingError extends WasmvmTeeError<BindingErrorCode> {
  /** The field the error is about (e.g. 'claim.outputs[1].bits'), when there is one. */
  readonly field?: string;
  constructor(code: BindingErrorCode, message: string, field?: string) {
    super(code, message);
    if (field !== undefined) this.field = field;
  }
}

/** True for a BindingError (also one made by another copy of the module), by code. */
export function isBindingError(e: unknown): e is BindingError {
  return e instanceof BindingError;
}
