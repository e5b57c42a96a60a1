/**
 * Node's signature checks (OpenSSL through node:crypto, synchronous inside the promise). The browser build
 * replaces this file with signature-web.ts; both export the same function. Only ../signature.ts imports it.
 */
import { createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';
import type { PublicKeyInput, SignatureScheme } from '../signature.ts';

const HASH = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' } as const;
const keys = new Map<string, KeyObject>();
const MAX_KEYS = 256;

function keyOf(k: PublicKeyInput): KeyObject {
  if ('jwk' in k) return createPublicKey({ key: k.jwk as JsonWebKey, format: 'jwk' });
  const id = Buffer.from(k.spki.buffer, k.spki.byteOffset, k.spki.byteLength).toString('latin1');
  let key = keys.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(k.spki), format: 'der', type: 'spki' });
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(id, key);
  }
  return key;
}

export async function platformVerify(
  scheme: SignatureScheme,
  k: PublicKeyInput,
  data: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  const key = keyOf(k);
  const hash = HASH[scheme.hash];
  switch (scheme.name) {
    case 'ECDSA': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const want = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' }[scheme.namedCurve];
      if (key.asymmetricKeyType !== 'ec' || curve !== want) return false;
      return verify(hash, data, { key, dsaEncoding: scheme.encoding === 'der' ? 'der' : 'ieee-p1363' }, sig);
    }
    case 'RSA-PSS':
      if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') return false;
      return verify(
        hash,
        data,
        { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: scheme.saltLength },
        sig,
      );
    case 'RSASSA-PKCS1-v1_5':
      if (key.asymmetricKeyType !== 'rsa') return false;
      return verify(hash, data, { key, padding: 1 /* RSA_PKCS1_PADDING */ }, sig);
  }
}
