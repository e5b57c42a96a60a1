/** Intel TDX formats: the DCAP quote (v4/v5) parse and serialize, TD attributes, PEM chains. */
export { TdxFormatError, type TdxFormatErrorCode } from './errors.ts';
export * from './quote.ts';
