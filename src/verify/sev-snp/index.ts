/**
 * AMD SEV-SNP: formats, pinned roots, KDS, policy and the report verifier; runs in Node and in browsers.
 * The on-disk KDS cache (Node only) is ./kds-cache.ts, exported by the Node entry src/verify/index.ts.
 */
export { clearChainCache, pinnedChains } from './chain.ts';
export * from './format.ts';
export {
  checkCrl,
  type FetchLike,
  fetchVcek,
  KDS_BASE,
  type KdsCache,
  KdsError,
  type KdsOptions,
  kdsBodyExpiry,
  kdsCrlUrl,
  kdsGet,
  kdsVcekUrl,
} from './kds.ts';
export { checkSnpPolicy, PolicyError, parseSnpPolicy, type SnpPolicy } from './policy.ts';
export { PINNED_AMD_ROOTS, type PinnedProductRoots } from './roots.ts';
export { clearVekCache, type SnpCerts, type VerifySnpOptions, verifySnpReport } from './verify.ts';
