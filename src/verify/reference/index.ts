/**
 * Reference values: policy files, collateral bundles and expected launch measurements. This index is Node's
 * (file loading, the collateral cache, firmware measurement); the browser entry imports collateral.ts,
 * collateral-vendors.ts and policy-file.ts directly.
 */

export {
  bundleItem,
  COLLATERAL_BUNDLE_FORMAT,
  COLLATERAL_KINDS,
  type CollateralBundle,
  CollateralError,
  type CollateralErrorCode,
  type CollateralItem,
  type CollateralKind,
  findItem,
  itemBytes,
  nvidiaRimIds,
  nvidiaRimIdsForEvidence,
  parseCollateralBundle,
} from './collateral.ts';
export {
  CollateralCache,
  defaultCollateralCacheDir,
  type FetchItemsOptions,
  type FetchItemsResult,
  fetchNrasJwksItem,
  fetchNvidiaOcspItems,
  fetchNvidiaOcspItemsForEvidence,
  fetchNvidiaOcspItemsForRim,
  fetchSnpItems,
  fetchTdxItems,
  makeItem,
  type OcspFetchOptions,
  type OcspFetchResult,
} from './collateral-fetch.ts';
export {
  checkOcspItem,
  describeOcspTarget,
  OCSP_CLOCK_SKEW_MS,
  ocspFromBundle,
  ocspItemId,
  ocspItemValidity,
  rimOcspFromBundle,
} from './collateral-ocsp.ts';
export {
  checkNrasJwks,
  collateralCheck,
  evidenceInJson,
  itemValidity,
  type SnpFromBundle,
  snpCollateralFromBundle,
  snpCrlId,
  snpVcekIds,
  TD_QE_ID,
  tdxCollateralFromBundle,
  tdxQuotePckInfo,
  validItem,
  withCollateralChecks,
} from './collateral-vendors.ts';
export {
  cpuSig,
  LaunchDigest,
  MeasureError,
  measureSnp,
  measureTdx,
  parseOvmf,
  parseTdvf,
  type SnpMeasureOptions,
  type SnpVmm,
  sevHashesTable,
  type TdxPageOrder,
  VCPU_TYPES,
} from './measure.ts';
export {
  type AzurePcrPolicy,
  isReferenceValuesFile,
  type NvidiaReferenceValues,
  parseReferenceValues,
  REFERENCE_VALUES_FORMAT,
  REFERENCE_VALUES_KEYS,
  type ReferenceValues,
  ReferenceValuesError,
  toVerifierPolicy,
  unenforcedPins,
} from './policy-file.ts';
export { loadReferenceValuesFile } from './policy-file-load.ts';
