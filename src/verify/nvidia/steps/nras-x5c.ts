/** The trust of an NRAS signing key: its JWKS `x5c` chain, optionally anchored at a pinned NRAS CA. */
import { exportSPKI, importJWK, importX509, type JWK } from 'jose';
import { decodeBase64Loose, unknownCriticalExtensions } from '../../../formats/index.ts';
import { digestHex } from '../../../util/digest.ts';
import { bytesEqual } from '../../../util/text-codec.ts';
import type { Check } from '../../types.ts';
import { Certificate } from '../../x509.ts';
import { cnOrSubject, issuedBy, opensslTime } from '../certs.ts';

/** The JOSE algorithm a key is imported for (only the key's type and curve matter for the comparison). */
function algFor(jwk: Record<string, unknown>): string {
  if (typeof jwk.alg === 'string') return jwk.alg;
  if (jwk.kty === 'EC') return { 'P-256': 'ES256', 'P-521': 'ES512' }[String(jwk.crv)] ?? 'ES384';
  return 'RS256';
}

/** DER SubjectPublicKeyInfo as WebCrypto exports it (canonical), from a JOSE key. */
async function spkiOf(key: Awaited<ReturnType<typeof importJWK>>): Promise<Uint8Array | undefined> {
  if (key instanceof Uint8Array) return undefined; // a symmetric ('oct') key: no public key at all
  const pem = await exportSPKI(key);
  return decodeBase64Loose(pem.replace(/-----[A-Z ]+-----/g, ''));
}

/** Whether the JWK and the certificate hold the same public key (compared as re-exported SPKI). */
async function sameKey(jwk: Record<string, unknown>, cert: Certificate): Promise<boolean> {
  const alg = algFor(jwk);
  const fromJwk = await spkiOf(await importJWK(jwk as JWK, alg, { extractable: true }));
  if (!fromJwk) return false;
  let fromCert: Uint8Array | undefined;
  try {
    fromCert = await spkiOf(await importX509(cert.toPem(), alg, { extractable: true }));
  } catch {
    return false; // another key type or curve than the JWK's
  }
  return fromCert !== undefined && bytesEqual(fromJwk, fromCert);
}

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
    certs = x5c.map((c, i) => Certificate.parse(decodeBase64Loose(String(c)), `x5c[${i}]`));
  } catch (e) {
    return { outcome: 'fail', detail: `x5c does not parse: ${(e as Error).message}` };
  }
  const leaf = certs[0]!;
  for (const [i, c] of certs.entries()) {
    const u = unknownCriticalExtensions(c.raw);
    if (u.length > 0)
      return { outcome: 'fail', detail: `x5c[${i}] has unknown critical extension(s) ${u.join(', ')}` };
  }
  let same: boolean;
  try {
    same = await sameKey(jwk, leaf);
  } catch (e) {
    return { outcome: 'fail', detail: `the JWK does not import: ${(e as Error).message}` };
  }
  if (!same) return { outcome: 'fail', detail: 'x5c[0] holds a different public key than the JWK' };
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
