/**
 * A session's two public keys as the checks need them, in Node and in browsers: whether `session.jwk`
 * (P-384, ES384 tokens) is the key `session.spki` carries, whether `session.claimSpki` is an ECDSA P-256
 * key, and the ES256 claim signature. Key reading is node:crypto's in Node and WebCrypto's in browsers
 * (platform/session-keys-node.ts, swapped at build time); the signature is util/signature's (OpenSSL in
 * Node, WebCrypto in browsers).
 */
import { verifySignature } from '../../util/signature.ts';
import { bytesEqual } from '../../util/text-codec.ts';
import { platformIsP256Spki, platformJwkToSpki } from './platform/session-keys-node.ts';

/** Whether the public JWK is the key of this DER SubjectPublicKeyInfo; throws for a malformed JWK. */
export async function jwkMatchesSpki(jwk: unknown, spki: Uint8Array): Promise<boolean> {
  return bytesEqual(await platformJwkToSpki(jwk), spki);
}

/** Whether the DER SubjectPublicKeyInfo is an ECDSA P-256 key; throws when it is not a key at all. */
export function isP256Spki(spki: Uint8Array): Promise<boolean> {
  return platformIsP256Spki(spki);
}

const ES256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256', encoding: 'p1363' } as const;

/** Whether `sig` (r‖s, 64 bytes) is an ES256 signature of `data` by the P-256 key `spki`. */
export function verifyEs256(spki: Uint8Array, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  return verifySignature(ES256, { spki }, data, sig);
}
