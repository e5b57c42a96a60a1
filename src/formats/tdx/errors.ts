/** TdxFormatError: a TDX quote or PEM chain that does not parse (codes shared with the verifier's TdxError). */
import { FormatError } from '../errors.ts';

/** The format subset of the verifier's TdxErrorCode (src/verify/tdx/errors.ts). */
export type TdxFormatErrorCode = 'TDX_QUOTE_FORMAT' | 'TDX_QUOTE_SIZE' | 'TDX_CERT_COUNT' | 'TDX_CERT';

export class TdxFormatError extends FormatError<TdxFormatErrorCode> {}
