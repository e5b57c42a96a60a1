/** Reference values: policy files and expected launch measurements. */

export {
  bundleItem,
  COLLATERAL_BUNDLE_FORMAT,
  type CollateralBundle,
  CollateralError,
  type CollateralErrorCode,
  type CollateralItem,
  nvidiaRimIds,
  nvidiaRimIdsForEvidence,
  parseCollateralBundle,
} from './collateral.ts';
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
  loadReferenceValuesFile,
  type NvidiaReferenceValues,
  parseReferenceValues,
  REFERENCE_VALUES_FORMAT,
  REFERENCE_VALUES_KEYS,
  type ReferenceValues,
  ReferenceValuesError,
  toVerifierPolicy,
  unenforcedPins,
} from './policy-file.ts';
