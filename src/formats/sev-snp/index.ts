/** AMD SEV-SNP formats: the attestation report, the extended-report certificate table, AMD certificate extensions. */
export * from './amd-cert.ts';
export * from './certtable.ts';
export { SnpFormatError, type SnpFormatErrorCode } from './errors.ts';
export * from './report.ts';
