/**
 * Signature verification for code that runs in Node and in browsers: ECDSA (P-256, P-384, P-521), RSA-PSS
 * and RSASSA-PKCS1-v1_5 over SHA-2, with the public key as DER SubjectPublicKeyInfo or as a JWK. Always
 * asynchronous (WebCrypto is). Node verifies with OpenSSL through node:crypto (`platform/signature-node.ts`,
 * the hot path of every report and quote signature: no WebCrypto promise hop); the browser build swaps in
 * `platform/signature-web.ts`, which uses `crypto.subtle`. Imported keys are cached by the caller-visible
 * key bytes, bounded.
 *
 * A malformed key, an unsupported curve or a signature of the wrong size verifies as `false`, never throws:
 * callers turn `false` into their own failed check.
 */
import { platformVerify } from './platform/signature-node.ts';

export type HashName = 'SHA-256' | 'SHA-384' | 'SHA-512';
export type NamedCurve = 'P-256' | 'P-384' | 'P-521';

export type SignatureScheme =
  /** `encoding`: 'p1363' (r‖s, fixed size: what WebCrypto and the vendor layouts use) or 'der' (X.509, JWS-less). */
  | { name: 'ECDSA'; namedCurve: NamedCurve; hash: HashName; encoding?: 'p1363' | 'der' }
  | { name: 'RSA-PSS'; hash: HashName; saltLength: number }
  | { name: 'RSASSA-PKCS1-v1_5'; hash: HashName };

/** The public members of an EC or RSA JWK (RFC 7517/7518). */
export interface PublicJwk {
  kty: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  [member: string]: unknown;
}

/** A public key: DER SubjectPublicKeyInfo, or a JWK (EC or RSA public members). */
export type PublicKeyInput = { spki: Uint8Array } | { jwk: PublicJwk };

/** Whether `signature` over `data` verifies with `key` under `scheme`. Never throws for bad input. */
export async function verifySignature(
  scheme: SignatureScheme,
  key: PublicKeyInput,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    return await platformVerify(scheme, key, data, signature);
  } catch {
    return false;
  }
}

/** Coordinate size in bytes of a curve. */
export const CURVE_BYTES: Readonly<Record<NamedCurve, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

/**
 * An ASN.1 DER ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }) as r‖s of `size` bytes each, or
 * undefined when it is not exactly that (wrong tags, trailing bytes, non-minimal lengths, values too big).
 */
export function ecdsaDerToP1363(der: Uint8Array, size: number): Uint8Array | undefined {
  let p = 0;
  const len = (): number | undefined => {
    const b = der[p++];
    if (b === undefined) return undefined;
    if (b < 0x80) return b;
    if (b === 0x81) {
      const v = der[p++];
      return v !== undefined && v >= 0x80 ? v : undefined;
    }
    return undefined; // an ECDSA signature of P-521 at most is < 256 bytes
  };
  if (der[p++] !== 0x30) return undefined;
  const seqLen = len();
  if (seqLen === undefined || p + seqLen !== der.length) return undefined;
  const out = new Uint8Array(2 * size);
  for (let i = 0; i < 2; i++) {
    if (der[p++] !== 0x02) return undefined;
    const n = len();
    if (n === undefined || n === 0 || p + n > der.length) return undefined;
    let v = der.subarray(p, p + n);
    p += n;
    if (v[0]! & 0x80) return undefined; // negative
    if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) return undefined; // non-minimal
    while (v.length > 0 && v[0] === 0) v = v.subarray(1);
    if (v.length > size) return undefined;
    out.set(v, (i + 1) * size - v.length);
  }
  return p === der.length ? out : undefined;
}
