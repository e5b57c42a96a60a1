/**
 * TeeError: the error of the CPU evidence providers (configfs-tsm for SEV-SNP and TDX, /dev/sev-guest,
 * the simulated TEEs), one set of stable codes. The NVIDIA provider keeps its own NvidiaError.
 */
import { WasmvmTeeError } from '../util/errors.ts';

export type TeeErrorCode =
  /** REPORT_DATA is not exactly 64 bytes. */
  | 'TEE_BAD_REPORT_DATA'
  /** The interface (configfs-tsm root, device) is missing or cannot be used. */
  | 'TEE_UNAVAILABLE'
  /** configfs-tsm serves another provider (e.g. tdx_guest where sev_guest was asked for). */
  | 'TEE_WRONG_PROVIDER'
  /** configfs-tsm: the entry's generation kept changing (another writer), retries exhausted. */
  | 'TEE_CONCURRENT_WRITER'
  /** The firmware (or the host's quote service) failed to produce evidence. */
  | 'TEE_FIRMWARE_ERROR'
  /** The evidence produced does not parse as what the provider promises (e.g. outblob not a TDX quote). */
  | 'TEE_BAD_EVIDENCE'
  /** /dev/sev-guest: an ioctl failed. */
  | 'TEE_IOCTL_FAILED'
  /** /dev/sev-guest: the optional dependency koffi is missing. */
  | 'TEE_FFI_UNAVAILABLE'
  /** An argument a simulated TEE was given has the wrong shape (e.g. a MEASUREMENT that is not 48 bytes). */
  | 'TEE_INVALID_ARGUMENT'
  /** A TPM command failed: the response code and its name are in the message. */
  | 'TEE_TPM_ERROR'
  /** A TPM response that does not parse (size, tag, structure). */
  | 'TEE_TPM_RESPONSE'
  /** Azure: the HCL report NV index (0x01400001) does not exist: not an Azure confidential VM. */
  | 'TEE_AZURE_NV_MISSING'
  /** Azure: the TPM does not have the PCR bank asked for. */
  | 'TEE_AZURE_PCR_BANK'
  /** Azure: the attestation key is not RSA-2048/3072 or ECC P-256, or is not the HCLAkPub of the report. */
  | 'TEE_AZURE_AK'
  /** Azure: the HCL report read from the vTPM does not parse or is not bound to its runtime claims. */
  | 'TEE_AZURE_HCL'
  /** An invariant of this code does not hold (a bug). */
  | 'TEE_INTERNAL';

export class TeeError extends WasmvmTeeError<TeeErrorCode> {}
