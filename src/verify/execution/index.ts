/**
 * Verification of whole executions (docs/binding.md "Verification"): verifyExecution (verify.ts) and
 * its steps: the request (request.ts), the response (response.ts), the evidence (evidence.ts), proto
 * JSON reading (proto-json.ts), and session keys on their own (session.ts).
 */
export { isBindingError, renderValue } from '../../binding/index.ts';
export type { VerifyExecutionOptions } from './common.ts';
export { verifyEvidence } from './evidence.ts';
export { protoJsonValue } from './proto-json.ts';
export { claimInputFromRequest } from './request.ts';
export { attestationFromResponse, readResponse } from './response.ts';
export { type VerifySealedInputOptions, verifySealedInputKeyRequest } from './sealed-input.ts';
export { verifySessionAttestation } from './session.ts';
export { verifyExecution } from './verify.ts';
