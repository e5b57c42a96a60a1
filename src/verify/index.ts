/**
 * Verifiers (library; no server or provider code): SEV-SNP, TDX, NVIDIA, and whole executions.
 * Other rooms may add export lines for their own modules here.
 */

export * from './azure/index.ts';
export {
  type CachedFactKind,
  type CacheHit,
  cachedNote,
  factKey,
  VerifierCache,
  type VerifierCacheOptions,
  type VerifierCacheStats,
} from './cache.ts';
export { PolicyError, type PolicyErrorCode, VerifyError, type VerifyErrorCode } from './errors.ts';
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
  sealedSessionOf,
  sealingNonce,
  sealRequest,
  type VerifiedServer,
  type VerifyExecutionOptions,
  type VerifySealedInputOptions,
  verifyEvidence,
  verifyExecution,
  verifySealedInputKeyRequest,
  verifySealedResponse,
  verifySealingAttestation,
  verifyServerAttestation,
  verifySessionAttestation,
} from './execution/index.ts';
export {
  createOcspChecker,
  fetchedJwks,
  GPU_NONCE_DOMAIN,
  type GpuReferenceValues,
  gpuNonceFor,
  isJwks,
  type JwksSource,
  NRAS_PINNED_CA_SPKI_SHA256,
  NRAS_PINNED_JWKS,
  type NvidiaPolicy,
  normalizeReferenceValues,
  parseNrasResponse,
  parseNvidiaPolicy,
  pinnedJwks,
  rimOcspTargets,
  type VerifyGpuEvidenceOptions,
  type VerifyNrasOptions,
  verifyGpuEvidence,
  verifyGpuEvidenceList,
  verifyNrasResponse,
} from './nvidia/index.ts';
export { crossCheckNrasWithLocal } from './nvidia/nras-crosscheck.ts';
export {
  compareEvidenceToRims,
  type ParsedRim,
  parseRim,
  RimError,
  type RimErrorCode,
  type RimIndexResult,
  strictVerdict,
  type VerifyRimOptions,
  verifyRim,
} from './nvidia/rim.ts';
export {
  type AppraiseGpuOptions,
  flattenVerdict,
  rimsFromReferenceValues,
  verifyGpuEvidenceWithRims,
} from './nvidia/rim-appraise.ts';
export * from './reference/index.ts';
export * from './sev-snp/index.ts';
// Node only: the on-disk AMD KDS cache, and TDX collateral from files (directory bundles, paths, the PCS cache).
export { defaultKdsCacheDir, fileKdsCache, pruneKdsCache } from './sev-snp/kds-cache.ts';
export {
  dirTdxCollateralCache,
  fetchCollateral as fetchTdxCollateral,
  loadCollateral as loadTdxCollateral,
  pruneTdxCacheDir,
} from './tdx/collateral-fs.ts';
export {
  type FetchFn as TdxFetchFn,
  fetchPcsCollateral as fetchPcsTdxCollateral,
  mergeCollateral as mergeTdxCollateral,
  parsePckExtensions,
  parseTdxPolicy,
  parseTdxQuote,
  pemToDerList,
  type SgxReportBody,
  TDX_LIMITS,
  type TdReport,
  type TdxCollateral,
  type TdxCollateralCache,
  TdxError,
  type TdxPolicy,
  type TdxQuote,
  type VerifyTdxOptions,
  verifyTdxQuote,
} from './tdx/index.ts';
export type { Check, CheckOutcome, Verdict } from './types.ts';
export { verdict } from './types.ts';
