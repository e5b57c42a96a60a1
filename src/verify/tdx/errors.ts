/** Errors of the TDX verifier, each with a stable code. */
import { WasmvmTeeError } from '../../util/errors.ts';

export type TdxErrorCode =
  | 'TDX_QUOTE_FORMAT'
  | 'TDX_QUOTE_SIZE'
  | 'TDX_CERT_COUNT'
  | 'TDX_COLLATERAL_SIZE'
  | 'TDX_DER'
  | 'TDX_CERT'
  | 'TDX_CRL'
  | 'TDX_COLLATERAL'
  | 'TDX_COLLATERAL_FETCH'
  | 'TDX_POLICY'
  | 'TDX_TCB';

export class TdxError extends WasmvmTeeError<TdxErrorCode> {}
