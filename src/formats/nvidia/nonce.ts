/**
 * Composite attestation: one nonce drives the CPU report and every GPU's evidence.
 *
 *   gpuNonce = SHA-256("wasmvm-tee/gpu-nonce/v1" ‖ REPORT_DATA)        (32 bytes)
 *
 * REPORT_DATA (64 bytes) is what the CPU report signs (binding.reportDataFor(claim) in per-request
 * mode, the session-key REPORT_DATA in session-key mode). Every GPU gets the same nonce, as NRAS
 * expects (one nonce per request). The domain string keeps a GPU nonce from ever equalling any
 * other hash of the same REPORT_DATA. The provider (src/tee) derives it before collecting GPU
 * evidence; a verifier recomputes it from the verified CPU report.
 */
import { createHash } from 'node:crypto';
import { FormatError } from '../errors.ts';

export const GPU_NONCE_DOMAIN = 'wasmvm-tee/gpu-nonce/v1';

export function gpuNonceFor(reportData: Uint8Array): Uint8Array {
  if (!(reportData instanceof Uint8Array) || reportData.length !== 64)
    throw new FormatError('INVALID_LENGTH', `REPORT_DATA must be 64 bytes, got ${reportData?.length}`);
  return new Uint8Array(createHash('sha256').update(GPU_NONCE_DOMAIN).update(reportData).digest());
}
