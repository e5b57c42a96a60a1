/**
 * Browser signature checks (WebCrypto `crypto.subtle`). Replaces signature-node.ts in the browser bundle;
 * both export the same function. Only ../signature.ts imports it (through that substitution).
 */
import { CURVE_BYTES, ecdsaDerToP1363, type PublicKeyInput, type SignatureScheme } from '../signature.ts';

type Subtle = typeof crypto.subtle;
type WebKey = Awaited<ReturnType<Subtle['importKey']>>;
type ImportParams = Parameters<Subtle['importKey']>[2];

const keys = new Map<string, Promise<WebKey>>();
const MAX_KEYS = 256;

function importParams(scheme: SignatureScheme): ImportParams {
  return scheme.name === 'ECDSA'
    ? { name: 'ECDSA', namedCurve: scheme.namedCurve }
    : { name: scheme.name, hash: scheme.hash };
}

function keyOf(scheme: SignatureScheme, k: PublicKeyInput): Promise<WebKey> {
  const params = importParams(scheme);
  if ('jwk' in k) {
    const importJwk = crypto.subtle.importKey as (
      f: 'jwk',
      d: unknown,
      a: ImportParams,
      e: boolean,
      u: readonly 'verify'[],
    ) => Promise<WebKey>;
    return importJwk.call(crypto.subtle, 'jwk', k.jwk, params, false, ['verify']);
  }
  let id = `${scheme.name}/${scheme.name === 'ECDSA' ? scheme.namedCurve : scheme.hash}/`;
  for (const b of k.spki) id += String.fromCharCode(b);
  let key = keys.get(id);
  if (!key) {
    key = crypto.subtle.importKey('spki', k.spki as Uint8Array<ArrayBuffer>, params, false, ['verify']);
    key.catch(() => keys.delete(id));
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
  const key = await keyOf(scheme, k);
  let s = sig;
  if (scheme.name === 'ECDSA' && scheme.encoding === 'der') {
    const p = ecdsaDerToP1363(sig, CURVE_BYTES[scheme.namedCurve]);
    if (!p) return false;
    s = p;
  }
  const algo =
    scheme.name === 'ECDSA'
      ? { name: 'ECDSA', hash: scheme.hash }
      : scheme.name === 'RSA-PSS'
        ? { name: 'RSA-PSS', saltLength: scheme.saltLength }
        : { name: 'RSASSA-PKCS1-v1_5' };
  return crypto.subtle.verify(algo, key, s as Uint8Array<ArrayBuffer>, data as Uint8Array<ArrayBuffer>);
}
