/** The trust of an NRAS signing key: its JWKS `x5c` chain, optionally anchored at a pinned NRAS CA. */
import { createHash, createPublicKey, type JsonWebKey, type KeyObject, X509Certificate } from 'node:crypto';
import { unknownCriticalExtensions } from '../../../formats/index.ts';
import type { Check } from '../../types.ts';

/**
 * The `x5c` certificate chain of a JWKS key: x5c[0] must hold the same public key as the JWK, each
 * certificate must be signed by the next, and x5c[0] must be valid at `now`. Without a pinned CA the
 * chain is not anchored (NVIDIA publishes no NRAS root with the service); with `pinned` one of its
 * CAs' SPKI SHA-256 must be listed.
 */
export function checkJwkX5c(
  jwk: Record<string, unknown>,
  now: Date,
  pinned?: string[],
): { outcome: Check['outcome']; detail: string } {
  const x5c = jwk.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0)
    return pinned
      ? { outcome: 'fail', detail: 'key has no x5c chain but NRAS CAs are pinned' }
      : { outcome: 'skip', detail: 'key has no x5c chain' };
  let certs: X509Certificate[];
  try {
    certs = x5c.map((c) => new X509Certificate(Buffer.from(String(c), 'base64')));
  } catch (e) {
    return { outcome: 'fail', detail: `x5c does not parse: ${(e as Error).message}` };
  }
  const leaf = certs[0]!;
  for (const [i, c] of certs.entries()) {
    const u = unknownCriticalExtensions(new Uint8Array(c.raw));
    if (u.length > 0)
      return { outcome: 'fail', detail: `x5c[${i}] has unknown critical extension(s) ${u.join(', ')}` };
  }
  const jwkKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(leaf.publicKey).equals(spki(jwkKey)))
    return { outcome: 'fail', detail: 'x5c[0] holds a different public key than the JWK' };
  for (let i = 0; i + 1 < certs.length; i++)
    if (!certs[i]!.checkIssued(certs[i + 1]!) || !certs[i]!.verify(certs[i + 1]!.publicKey))
      return { outcome: 'fail', detail: `x5c[${i}] is not signed by x5c[${i + 1}]` };
  if (now < new Date(leaf.validFrom) || now > new Date(leaf.validTo))
    return {
      outcome: 'fail',
      detail: `signing certificate not valid at ${now.toISOString()} (${leaf.validFrom} .. ${leaf.validTo})`,
    };
  const cn = (c: X509Certificate) =>
    (c.subject.split('\n').find((l) => l.startsWith('CN=')) ?? c.subject).slice(3);
  const hashes = certs.slice(1).map((c) => createHash('sha256').update(spki(c.publicKey)).digest('hex'));
  if (pinned) {
    const want = pinned.map((h) => h.toLowerCase());
    const hit = hashes.findIndex((h) => want.includes(h));
    if (hit < 0) return { outcome: 'fail', detail: `no pinned NRAS CA in x5c (${hashes.join(', ')})` };
    return { outcome: 'pass', detail: `'${cn(leaf)}' chains to the pinned '${cn(certs[hit + 1]!)}'` };
  }
  return {
    outcome: 'pass',
    detail: `'${cn(leaf)}' valid now, signed by '${certs[1] ? cn(certs[1]) : '-'}' (chain not anchored: no NRAS CA pinned)`,
  };
}
