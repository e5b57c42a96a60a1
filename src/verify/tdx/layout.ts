/**
 * The TDX quote layout for the verifier: the parsers of src/formats (formats/tdx/quote.ts) with their
 * TdxFormatError turned into the verifier's TdxError (same code, same message), so callers of
 * `wasmvm-tee/verify` keep one error class. The serializers are in `wasmvm-tee/formats` only.
 */
import * as formats from '../../formats/index.ts';
import { TdxError } from './errors.ts';

export {
  decodeTdAttributes,
  isDebugTd,
  type QeReportCertificationData,
  type QuoteHeader,
  type SgxReportBody,
  signedBytes,
  TD_ATTRIBUTE_BITS,
  TDX_LIMITS,
  type TdReport,
  type TdxQuote,
  tdAttributesValue,
} from '../../formats/index.ts';

function asTdxError<A extends unknown[], R>(f: (...a: A) => R): (...a: A) => R {
  return (...a) => {
    try {
      return f(...a);
    } catch (e) {
      if (e instanceof formats.TdxFormatError) throw new TdxError(e.code, e.message);
      throw e;
    }
  };
}

/** Parse a TDX quote (v4 or v5). Throws TdxError('TDX_QUOTE_FORMAT' | 'TDX_QUOTE_SIZE'). */
export const parseTdxQuote: (input: Uint8Array) => formats.TdxQuote = asTdxError(formats.parseTdxQuote);
/** Parse a 384-byte SGX report body (the QE report). Throws TdxError('TDX_QUOTE_FORMAT'). */
export const parseSgxReportBody: (b: Uint8Array) => formats.SgxReportBody = asTdxError(
  formats.parseSgxReportBody,
);
/** Split a PEM bundle into DER certificates. Throws TdxError('TDX_CERT_COUNT' | 'TDX_CERT'). */
export const pemToDerList: (pem: string | Uint8Array, maxCerts?: number) => Uint8Array[] = asTdxError(
  formats.pemToDerList,
);
