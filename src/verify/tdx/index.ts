/**
 * Intel TDX: quote parse/serialize, collateral, verification, policy. Runs in Node and in browsers; the file
 * parts of the collateral (directory bundles, paths, the on-disk PCS cache) are ./collateral-fs.ts, exported
 * by the Node entry src/verify/index.ts.
 */
export {
  collateralFromJson,
  type EnclaveIdentity,
  emptyCollateral,
  type FetchCollateralOptions,
  type FetchFn,
  fetchPcsCollateral,
  INTEL_PCS_BASE,
  mergeCollateral,
  type PcsAnswers,
  type SignedJson,
  setCollateralPathLoader,
  TCB_STATUSES,
  type TcbInfo,
  type TcbStatus,
  type TdxCollateral,
  type TdxCollateralCache,
  topLevelRawValues,
} from './collateral.ts';
export { TdxError, type TdxErrorCode } from './errors.ts';
export {
  decodeTdAttributes,
  isDebugTd,
  parseSgxReportBody,
  parseTdxQuote,
  pemToDerList,
  type QuoteHeader,
  type SgxReportBody,
  signedBytes,
  TD_ATTRIBUTE_BITS,
  TDX_LIMITS,
  type TdReport,
  type TdxQuote,
} from './layout.ts';
export {
  INTEL_SGX_ROOT_CA_PEM,
  INTEL_SGX_ROOT_CA_SHA256,
  type PckExtensions,
  parseCrl,
  parsePckExtensions,
} from './pki.ts';
export { DEFAULT_ACCEPTED_TCB_STATUSES, parseTdxPolicy, type TdxPolicy } from './policy.ts';
export { converge, evaluateTdxTcb, type TcbResult } from './tcb.ts';
export { tdReportFields, type VerifyTdxOptions, verifyTdxQuote } from './verify.ts';
