/** The trust of an NRAS signing key: its JWKS `x5c` chain, optionally anchored at a pinned NRAS CA. */
import { decodeBase64Loose, unknownCriticalExtensions } from '../../../formats/index.ts';
import { digestHex } from '../../../util/digest.ts';
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import { cnOrSubject, issuedBy, jwkMatchesSpki, opensslTime, parseCertificateCached } from '../certs.ts';

/**
 * The `x5c` certificate chain of a JWKS key: x5c[0] must hold the same public key as the JWK, each
 * certificate must be signed by the next, and x5c[0] must be valid at `now`. Without a pinned CA the
 * chain is not anchored (NVIDIA publishes no NRAS root with the service); with `pinned` one of its
 * CAs' SPKI SHA-256 must be listed.
 */
export async function checkJwkX5c(
  jwk: Record<string, unknown>,
  now: Date,
  pinned?: string[],
): Promise<{ outcome: Check['outcome']; detail: string }> {
  const x5c = jwk.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0)
    return pinned
      ? { outcome: 'fail', detail: 'key has no x5c chain but NRAS CAs are pinned' }
      : { outcome: 'skip', detail: 'key has no x5c chain' };
  let certs: Certificate[];
  try {
    certs = x5c.map((c, i) =>
      parseCertificateCached(String(c), () => decodeBase64Loose(String(c)), `x5c[${i}]`),
    );
  } catch (e) {
    return { outcome: 'fail', detail: `x5c does not parse: ${(e as Error).message}` };
  }
  const leaf = certs[0]!;
  for (const [i, c] of certs.entries()) {
    const u = unknownCriticalExtensions(c.raw);
    if (u.length > 0)
      return { outcome: 'fail', detail: `x5c[${i}] has unknown critical extension(s) ${u.join(', ')}` };
  }
  if (!jwkMatchesSpki(jwk, leaf.spki))
    return { outcome: 'fail', detail: 'x5c[0] holds a different public key than the JWK' };
  for (let i = 0; i + 1 < certs.length; i++)
    if (!(await issuedBy(certs[i]!, certs[i + 1]!)))
      return { outcome: 'fail', detail: `x5c[${i}] is not signed by x5c[${i + 1}]` };
  if (!leaf.validAt(now))
    return {
      outcome: 'fail',
      detail: `signing certificate not valid at ${now.toISOString()} (${opensslTime(leaf.notBefore)} .. ${opensslTime(leaf.notAfter)})`,
    };
  const cn = (c: Certificate) => cnOrSubject(c).slice(3);
  const hashes = certs.slice(1).map((c) => digestHex('sha256', c.spki));
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
