/** NvmlFormatError: NVML confidential-computing buffers that do not fit their nvml.h layout. */
import { FormatError } from '../errors.ts';

/** The format subset of the provider's NvidiaErrorCode (src/tee/nvidia/types.ts). */
export type NvmlFormatErrorCode = 'NVIDIA_BAD_NONCE' | 'NVIDIA_BAD_EVIDENCE';

/** Message `CODE: detail`, as the provider's NvidiaError writes it. */
export class NvmlFormatError extends FormatError<NvmlFormatErrorCode> {
  /** The message without the `CODE: ` prefix (what the provider's NvidiaError is built from). */
  readonly detail: string;
  constructor(code: NvmlFormatErrorCode, message: string) {
    super(code, `${code}: ${message}`);
    this.detail = message;
  }
}
