/** SnpFormatError: SEV-SNP bytes (report, certificate table, AMD certificate) that do not parse. */
import { FormatError } from '../errors.ts';

export type SnpFormatErrorCode =
  | 'SNP_REPORT_TYPE'
  | 'SNP_REPORT_SIZE'
  | 'SNP_REPORT_VERSION'
  | 'SNP_FIELD_SIZE'
  | 'SNP_SIGNATURE_SIZE'
  | 'SNP_GUID'
  | 'SNP_CERT_TABLE'
  | 'SNP_CERT_TABLE_SIZE'
  | 'SNP_CERT_TABLE_ENTRIES'
  | 'SNP_CERT_TABLE_DUPLICATE'
  | 'SNP_CERT_TABLE_OVERLAP'
  | 'SNP_CERT_PARSE'
  | 'SNP_CERT_EXTENSION';

export class SnpFormatError extends FormatError<SnpFormatErrorCode> {}
