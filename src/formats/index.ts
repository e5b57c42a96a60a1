/**
 * src/formats: vendor byte layouts and encodings (SEV-SNP, TDX, SPDM/NVIDIA, DER, hex/base64).
 * Pure functions: no I/O, no policy, no imports from any other room. src/tee builds evidence with
 * them, src/verify checks evidence with them; neither imports the other (docs/architecture.md).
 * Package entry "wasmvm-tee/formats" (the serializers the simulated TEEs use live here, not in verify).
 */

export * from './azure/index.ts';
export * from './bytes.ts';
export * from './der.ts';
export {
  type Base64Options,
  fromBase64,
  fromHex,
  type HexOptions,
  sha256Hex,
  toBase64,
  toBase64Url,
  toHex,
} from './encoding.ts';
export { FormatError, type FormatErrorCode } from './errors.ts';
export * from './nvidia/index.ts';
export * from './sev-snp/index.ts';
export * from './tdx/index.ts';
export * from './x509-extensions.ts';
