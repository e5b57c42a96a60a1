/**
 * REPORT_DATA of a guest-requested VM attestation, and the nonce of a guest-requested GPU attestation.
 *
 *   REPORT_DATA (64 bytes) = SHA-512( "wasmvm-tee/guest-report-data/v1" ‖ 0x00 ‖ nonce (32 bytes) ‖ data )
 *   GPU nonce   (32 bytes) = SHA-256( "wasmvm-tee/guest-gpu-nonce/v1"   ‖ 0x00 ‖ nonce (32 bytes) ‖ data )
 *
 * `nonce` is a fresh random host nonce (never constant); `data` is the guest's bytes (empty for
 * attest_vm/attest_gpu). Guest data is ALWAYS hashed with a domain tag, even when it is exactly
 * 64 bytes: a guest must never be able to choose raw REPORT_DATA, or it could obtain evidence that
 * looks like the service's own execution binding (binding's reportDataFor(claim)).
 */
import { createHash } from 'node:crypto';

export const GUEST_REPORT_DATA_TAG = 'wasmvm-tee/guest-report-data/v1';
export const GUEST_GPU_NONCE_TAG = 'wasmvm-tee/guest-gpu-nonce/v1';

export function guestReportData(nonce: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash('sha512')
      .update(GUEST_REPORT_DATA_TAG)
      .update(Uint8Array.of(0))
      .update(nonce)
      .update(data)
      .digest(),
  );
}

export function guestGpuNonce(nonce: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash('sha256')
      .update(GUEST_GPU_NONCE_TAG)
      .update(Uint8Array.of(0))
      .update(nonce)
      .update(data)
      .digest(),
  );
}
