/** AzureFormatError: Azure confidential-VM evidence (HCL report, runtime claims, TPM 2.0 structures) that does not parse. */
import { FormatError } from '../errors.ts';

export type AzureFormatErrorCode =
  | 'AZURE_HCL_TRUNCATED' // the HCL report is shorter than its header, hardware report or request data say
  | 'AZURE_HCL_SIGNATURE' // not 'HCLA'
  | 'AZURE_HCL_REPORT_TYPE' // report_type is neither SNP (2) nor TDX (4), or disagrees with the hardware report
  | 'AZURE_HCL_HASH_TYPE' // runtime-claims hash type is not SHA-256/384/512
  | 'AZURE_RUNTIME_CLAIMS' // the runtime-claims JSON does not parse, or has no usable HCLAkPub
  | 'AZURE_AK_KEY' // an attestation key that is not RSA-2048/3072 or ECC P-256
  | 'TPM_TRUNCATED' // a TPM 2.0 structure shorter than its fields say
  | 'TPM_TRAILING' // bytes after a TPM 2.0 structure that must end there
  | 'TPM_MAGIC' // TPMS_ATTEST.magic is not TPM_GENERATED_VALUE
  | 'TPM_ATTEST_TYPE' // a TPMS_ATTEST that is not a quote
  | 'TPM_ALGORITHM' // an algorithm id this code does not handle
  | 'TPM_PCR_SELECTION' // a malformed PCR selection
  | 'AZURE_EVIDENCE'; // an evidence document (ours or trustee's JSON) that does not have the expected shape

export class AzureFormatError extends FormatError<AzureFormatErrorCode> {}
