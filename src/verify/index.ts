/**
 * Verifiers (library; no server or provider code): SEV-SNP, TDX, NVIDIA, and whole executions.
 * Other rooms may add export lines for their own modules here.
 */
export {
  attestationFromResponse,
  claimInputFromRequest,
  protoJsonValue,
  type VerifyExecutionOptions,
  verifyExecution,
  verifySessionAttestation,
} from './execution.ts';
export {
  type GpuReferenceValues,
  gpuNonceFor,
  type NvidiaPolicy,
  parseNvidiaPolicy,
  type VerifyGpuEvidenceOptions,
  type VerifyNrasOptions,
  verifyGpuEvidence,
  verifyGpuEvidenceList,
  verifyNrasResponse,
} from './nvidia/index.ts';
export * from './sev-snp/index.ts';
export {
  fetchCollateral as fetchTdxCollateral,
  loadCollateral as loadTdxCollateral,
  parseTdxPolicy,
  parseTdxQuote,
  serializeTdxQuote,
  type TdxCollateral,
  TdxError,
  type TdxPolicy,
  type TdxQuote,
  type VerifyTdxOptions,
  verifyTdxQuote,
} from './tdx/index.ts';
export type { Check, CheckOutcome, Verdict } from './types.ts';
export { verdict } from './types.ts';
