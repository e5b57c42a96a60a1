/** SEV-SNP formats (pure code, no I/O): shared by the providers (src/tee) and the verifier. */

export { encodeIa5, encodeInteger, encodeTlv } from '../der.ts';
export * from './amd-cert.ts';
export * from './certtable.ts';
export * from './report.ts';
