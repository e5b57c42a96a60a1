/**
 * Browsers' reading of a session's public keys (WebCrypto). The browser build's replacement for
 * session-keys-node.ts, with the same exports: import validates the key (an EC point must be on its
 * curve), export gives the DER SubjectPublicKeyInfo OpenSSL gives (uncompressed EC point).
 */
import { readNode, TAG } from '../../../formats/index.ts';
import { VerifyError } from '../../errors.ts';

type Subtle = typeof crypto.subtle;
type WebKey = Awaited<ReturnType<Subtle['importKey']>>;
type ImportParams = Parameters<Subtle['importKey']>[2];

const subtle = (): Subtle => {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new VerifyError('VERIFY_BAD_INPUT', 'WebCrypto (crypto.subtle) is not available here');
  return s;
};

/** DER SubjectPublicKeyInfo of a public JWK; throws when it is not a valid public key. */
export async function platformJwkToSpki(jwk: unknown): Promise<Uint8Array> {
  const j = (typeof jwk === 'object' && jwk !== null ? jwk : {}) as Record<string, unknown>;
  // Only the public members: `alg`, `use`, `key_ops` and `kid` do not change the key, and WebCrypto would
  // refuse some combinations of them with the usage asked for here.
  let pub: Record<string, string>;
  let alg: ImportParams;
  if (j.kty === 'EC') {
    pub = { kty: 'EC', crv: j.crv as string, x: j.x as string, y: j.y as string };
    alg = { name: 'ECDSA', namedCurve: j.crv as string };
  } else if (j.kty === 'RSA') {
    pub = { kty: 'RSA', n: j.n as string, e: j.e as string };
    alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  } else if (j.kty === 'OKP' && j.crv === 'Ed25519') {
    pub = { kty: 'OKP', crv: 'Ed25519', x: j.x as string };
    alg = { name: 'Ed25519' };
  } else {
    throw new VerifyError('VERIFY_BAD_INPUT', `unsupported JWK key type '${String(j.kty)}'`);
  }
  const importJwk = subtle().importKey as (
    f: 'jwk',
    d: unknown,
    a: ImportParams,
    e: boolean,
    u: readonly 'verify'[],
  ) => Promise<WebKey>;
  let key: WebKey;
  try {
    key = await importJwk.call(subtle(), 'jwk', pub, alg, true, ['verify']);
  } catch (e) {
    throw new VerifyError('VERIFY_BAD_INPUT', `not a valid public JWK: ${(e as Error).message}`);
  }
  return new Uint8Array(await subtle().exportKey('spki', key));
}

/**
 * Whether a DER SubjectPublicKeyInfo is an ECDSA P-256 key; throws when it is not a SubjectPublicKeyInfo
 * at all.
 */
export async function platformIsP256Spki(spki: Uint8Array): Promise<boolean> {
  try {
    await subtle().importKey(
      'spki',
      spki as Uint8Array<ArrayBuffer>,
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['verify'],
    );
    return true;
  } catch {
    // Another kind of key (false), or no key at all (throw, as OpenSSL's import does).
  }
  if (!isSpkiShape(spki)) throw new VerifyError('VERIFY_BAD_INPUT', 'not a DER SubjectPublicKeyInfo');
  return false;
}

/** SEQUENCE { SEQUENCE (algorithm) , BIT STRING (key) } filling the bytes exactly. */
function isSpkiShape(spki: Uint8Array): boolean {
  try {
    const outer = readNode(spki);
    if (outer.tag !== TAG.SEQUENCE || outer.end !== spki.length) return false;
    const alg = readNode(spki, outer.contentStart, outer.end);
    const bits = readNode(spki, alg.end, outer.end);
    return alg.tag === TAG.SEQUENCE && bits.tag === TAG.BIT_STRING && bits.end === outer.end;
  } catch {
    return false;
  }
}
