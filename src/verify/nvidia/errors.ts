/** Errors of the NVIDIA verifiers (local SPDM evidence, NRAS tokens, JWKS, OCSP), each with a stable code. */
import { WasmvmTeeError } from '../../util/errors.ts';

export type NvidiaVerifyErrorCode =
  | 'NVIDIA_NRAS_MALFORMED' // the NRAS answer is not a detached EAT
  | 'NVIDIA_JWKS_UNAVAILABLE' // no usable JWKS (bad pinned set, fetch failed)
  | 'NVIDIA_EVIDENCE_SIZE' // a GPU evidence field is over its size limit
  | 'NVIDIA_CHAIN_COUNT' // too many certificates in the GPU chain
  | 'NVIDIA_BAD_EVIDENCE' // a GPU evidence field is not what it should be (not base64, no certificate)
  | 'NVIDIA_OCSP_MALFORMED' // an OCSP response field does not parse
  | 'NVIDIA_TOKEN_ALG'; // the attested signer produced a token with another algorithm

/** Base of the NVIDIA verifiers' errors. */
export class NvidiaVerifyError<
  C extends NvidiaVerifyErrorCode = NvidiaVerifyErrorCode,
> extends WasmvmTeeError<C> {}

/** The NRAS answer is not a detached EAT (code NVIDIA_NRAS_MALFORMED). */
export class NrasFormatError extends NvidiaVerifyError<'NVIDIA_NRAS_MALFORMED'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NVIDIA_NRAS_MALFORMED', message, options);
  }
}

/** No usable JWKS (code NVIDIA_JWKS_UNAVAILABLE). */
export class JwksError extends NvidiaVerifyError<'NVIDIA_JWKS_UNAVAILABLE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NVIDIA_JWKS_UNAVAILABLE', message, options);
  }
}
