/**
 * The verifier as browsers load it (the entry of the browser bundle, `wasmvm-tee/verify/browser`): every
 * check that needs no file system, on WebCrypto and Uint8Array. Node-only parts stay out of this graph:
 * file caches (KDS, PCS, collateral), collateral fetching into a directory, reading policy and firmware
 * files, and NVIDIA RIMs (their XML signature library runs on node:crypto). test/verify/browser-portable.test.ts
 * bundles this file for the browser and fails on any node:* import or Buffer use in what it pulls in.
 */

export * as binding from '../binding/index.ts';
export { parseAzurePolicy, verifyAzureEvidence, verifyMaaToken } from './azure/index.ts';
export { VerifierCache } from './cache.ts';
export { PolicyError, VerifyError } from './errors.ts';
export {
  attestationFromResponse,
  claimInputFromRequest,
  executeSealed,
  failingChecks,
  openSealedResponse,
  protoJsonValue,
  readResponse,
  renderValue,
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
  sealingNonce,
  sealRequest,
  type VerifyExecutionOptions,
  verifyEvidence,
  verifyExecution,
  verifySealedResponse,
  verifySealingAttestation,
  verifySessionAttestation,
} from './execution/index.ts';
export {
  GPU_NONCE_DOMAIN,
  gpuNonceFor,
  NRAS_PINNED_JWKS,
  parseNrasResponse,
  parseNvidiaPolicy,
  pinnedJwks,
  verifyGpuEvidence,
  verifyGpuEvidenceList,
  verifyNrasResponse,
} from './nvidia/index.ts';
export { crossCheckNrasWithLocal } from './nvidia/nras-crosscheck.ts';
export { parseCollateralBundle } from './reference/collateral.ts';
export { ocspFromBundle } from './reference/collateral-ocsp.ts';
export { snpCollateralFromBundle, tdxCollateralFromBundle } from './reference/collateral-vendors.ts';
export { isReferenceValuesFile, parseReferenceValues, toVerifierPolicy } from './reference/policy-file.ts';
export { parseReport as parseSnpReport, parseSnpPolicy, verifySnpReport } from './sev-snp/index.ts';
export { parseTdxPolicy, parseTdxQuote, verifyTdxQuote } from './tdx/index.ts';
export type { Check, CheckOutcome, Verdict } from './types.ts';
