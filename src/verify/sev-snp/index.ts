/** AMD SEV-SNP: formats, pinned roots, KDS, policy and the report verifier. */
export { clearChainCache, pinnedChains } from './chain.ts';
export * from './format.ts';
export {
  checkCrl,
  defaultKdsCacheDir,
  type FetchLike,
  fetchVcek,
  KDS_BASE,
  KdsError,
  type KdsOptions,
  kdsBodyExpiry,
  kdsCrlUrl,
  kdsGet,
  kdsVcekUrl,
  pruneKdsCache,
} from './kds.ts';
export { checkSnpPolicy, PolicyError, parseSnpPolicy, type SnpPolicy } from './policy.ts';
export { PINNED_AMD_ROOTS, type PinnedProductRoots } from './roots.ts';
export { clearVekCache, type SnpCerts, type VerifySnpOptions, verifySnpReport } from './verify.ts';
