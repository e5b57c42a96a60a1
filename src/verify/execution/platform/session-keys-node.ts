/**
 * Node's reading of a session's public keys (OpenSSL through node:crypto's KeyObject). The browser build
 * replaces this file with session-keys-web.ts (scripts/esbuild-platform.mjs, the package's `browser`
 * field); both export the same functions. Only ../session-keys.ts imports it.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';

/** DER SubjectPublicKeyInfo of a public JWK; throws when it is not a valid public key. */
export async function platformJwkToSpki(jwk: unknown): Promise<Uint8Array> {
  const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.buffer, der.byteOffset, der.byteLength);
}

/**
 * Whether a DER SubjectPublicKeyInfo is an ECDSA P-256 key; throws when it is not a valid public key
 * at all.
 */
export async function platformIsP256Spki(spki: Uint8Array): Promise<boolean> {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}
