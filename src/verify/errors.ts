/**
 * Errors shared by the verifiers: one `PolicyError` for every verifier policy (SEV-SNP, NVIDIA), and
 * `VerifyError` for the few failures that are not a check outcome (a broken pinned root, a caller
 * handing over something that is not evidence). Vendor rooms add their own classes (TdxError,
 * NvidiaVerifyError, RimError, …), all on the one base `WasmvmTeeError`.
 */
import { WasmvmTeeError } from '../util/errors.ts';

/** Codes of a policy that does not validate: 'INVALID_POLICY' (SEV-SNP), 'NVIDIA_BAD_POLICY' (NVIDIA). */
export type PolicyErrorCode = 'INVALID_POLICY' | 'NVIDIA_BAD_POLICY';

/** A verifier policy (JSON section or object) that does not validate. */
export class PolicyError extends WasmvmTeeError<PolicyErrorCode> {}

/** Codes of VerifyError. */
export type VerifyErrorCode =
  | 'VERIFY_INTERNAL' // a pinned constant of this package is broken (never caused by evidence)
  | 'VERIFY_BAD_INPUT'; // an argument that is not what the API takes

/** A failure of the verifier itself, not a failed check of the evidence. */
export class VerifyError extends WasmvmTeeError<VerifyErrorCode> {}
