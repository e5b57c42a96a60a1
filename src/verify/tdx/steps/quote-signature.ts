/** Step 2: the quote signature over header ‖ TD report with the attestation key ('tdx.quote.signature'). */
import { cachedNote, factKey, type VerifierCache } from '../../cache.ts';
import type { Check } from '../../types.ts';
import type { TdxQuote } from '../layout.ts';
import { p256Key, verifyP256Raw } from '../pki.ts';

/**
 * Returns whether the attestation key is a valid P-256 point (the QE binding needs it). With a cache, a
 * signature that verified before (same bytes, same attestation key) is not verified again: the check
 * says so and `cached` gets its id.
 */
export async function checkQuoteSignature(
  q: TdxQuote,
  checks: Check[],
  cache?: VerifierCache,
  cached?: string[],
): Promise<{ attKeyOk: boolean }> {
  const fact = cache
    ? factKey('tdx-quote-signature', q.attestationKey, q.signedRegion, q.signature)
    : undefined;
  const hit = fact ? cache!.get<true>(fact) : undefined;
  if (hit) {
    checks.push({
      id: 'tdx.quote.signature',
      outcome: 'pass',
      detail: `ECDSA P-256 signature over header+TD report (${q.signedRegion.length} bytes) verifies with the attestation key${cachedNote(hit.at)}`,
    });
    cached?.push('tdx.quote.signature');
    return { attKeyOk: true };
  }
  try {
    const key = p256Key(q.attestationKey);
    const ok = await verifyP256Raw(q.signedRegion, q.signature, key);
    if (ok && fact) cache!.set(fact, true);
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
