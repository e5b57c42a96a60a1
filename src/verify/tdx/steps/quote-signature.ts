/** Step 2: the quote signature over header ‖ TD report with the attestation key ('tdx.quote.signature'). */
import type { Check } from '../../types.ts';
import type { TdxQuote } from '../layout.ts';
import { p256Key, verifyP256Raw } from '../pki.ts';

/** Returns whether the attestation key is a valid P-256 point (the QE binding needs it). */
export function checkQuoteSignature(q: TdxQuote, checks: Check[]): { attKeyOk: boolean } {
  try {
    const key = p256Key(q.attestationKey);
    const ok = verifyP256Raw(q.signedRegion, q.signature, key);
    checks.push({
      id: 'tdx.quote.signature',
      outcome: ok ? 'pass' : 'fail',
      detail: ok
        ? `ECDSA P-256 signature over header+TD report (${q.signedRegion.length} bytes) verifies with the attestation key`
        : 'the quote signature does not verify with the attestation key in the quote',
    });
    return { attKeyOk: true };
  } catch (e) {
    checks.push({
      id: 'tdx.quote.signature',
      outcome: 'fail',
      detail: `attestation key is not a valid P-256 point: ${(e as Error).message}`,
    });
    return { attKeyOk: false };
  }
}
