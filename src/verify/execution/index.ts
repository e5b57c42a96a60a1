/**
 * Verification of whole executions (docs/binding.md "Verification"): verifyExecution (verify.ts) and
 * its steps: the request (request.ts), the response (response.ts), the evidence (evidence.ts), proto
 * JSON reading (proto-json.ts), and session keys on their own (session.ts); the client steps of sealed
 * execution, transport-agnostic (sealed-client.ts).
 */
export { isBindingError, renderValue } from '../../binding/index.ts';
export type { VerifyExecutionOptions } from './common.ts';
export { verifyEvidence } from './evidence.ts';
export { protoJsonValue } from './proto-json.ts';
export { claimInputFromRequest } from './request.ts';
export { attestationFromResponse, readResponse } from './response.ts';
export {
  executeSealed,
  failingChecks,
  openSealedResponse,
  type SealedExecution,
  type SealedRequest,
  type SealedSession,
  type SealingClient,
  SealingError,
  type SealingErrorCode,
  type SealingPolicy,
  type SealingVerifyOptions,
  type SealRequestOptions,
  sealedChecks,
  sealedSessionOf,
  sealingNonce,
  sealRequest,
  type VerifiedServer,
  verifySealedResponse,
  verifySealingAttestation,
  verifyServerAttestation,
} from './sealed-client.ts';
export { type VerifySealedInputOptions, verifySealedInputKeyRequest } from './sealed-input.ts';
export { verifySessionAttestation } from './session.ts';
export { verifyExecution } from './verify.ts';
