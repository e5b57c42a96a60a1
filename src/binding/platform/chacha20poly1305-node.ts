/**
 * Node's ChaCha20-Poly1305 (RFC 8439) for HPKE: OpenSSL through node:crypto, native, about 10× faster on
 * 1 MiB than @hpke/chacha20poly1305's JavaScript. Only an AEAD adapter: HPKE's key schedule and nonces stay
 * @hpke/core's. Where OpenSSL lacks the cipher, @hpke/chacha20poly1305 is used. The browser build replaces
 * this file with chacha20poly1305-web.ts (scripts/esbuild-platform.mjs, the package's `browser` field);
 * both export the same function. Only ../sealed.ts imports it.
 */
import { createCipheriv, createDecipheriv, getCiphers } from 'node:crypto';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { type AeadEncryptionContext, AeadId, type AeadInterface } from '@hpke/core';
import { BindingError } from '../errors.ts';

/** Views handed to this AEAD through @hpke without a copy, by their stand-in (lendCiphertext). */
const lent = new WeakMap<object, Uint8Array>();

const view = (b: ArrayBufferLike | ArrayBufferView): Uint8Array =>
  lent.get(b) ??
  (ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b));

/** A Buffer's bytes as an ArrayBuffer of their own: the Buffer's own when it spans it (large outputs are not
 * pooled), else a copy (small ones share Node's pool). */
const arrayBuffer = (out: Buffer): ArrayBuffer =>
  (out.byteOffset === 0 && out.byteLength === out.buffer.byteLength
    ? out.buffer
    : out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength)) as ArrayBuffer;

class NodeChacha20Poly1305 implements AeadInterface {
  readonly id = AeadId.Chacha20Poly1305;
  readonly keySize = 32;
  readonly nonceSize = 12;
  readonly tagSize = 16;
  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    const k = view(key).slice();
    return {
      async seal(iv, data, aad) {
        const pt = view(data);
        const c = createCipheriv('chacha20-poly1305', k, view(iv), { authTagLength: 16 });
        c.setAAD(view(aad), { plaintextLength: pt.length });
        // One copy: the ciphertext into a buffer with room for the tag (no concat, no slice).
        const out = new Uint8Array(pt.length + 16);
        const body = c.update(pt);
        out.set(body, 0);
        out.set(c.final(), body.length);
        out.set(c.getAuthTag(), pt.length);
        return out.buffer;
      },
      async open(iv, data, aad) {
        const d = view(data);
        if (d.length < 16) throw new BindingError('SEAL_OPEN_FAILED', 'ciphertext shorter than the tag');
        const c = createDecipheriv('chacha20-poly1305', k, view(iv), { authTagLength: 16 });
        c.setAAD(view(aad), { plaintextLength: d.length - 16 });
        c.setAuthTag(d.subarray(d.length - 16));
        const body = c.update(d.subarray(0, d.length - 16));
        const fin = c.final(); // empty for a stream cipher; checks the tag
        return arrayBuffer(fin.length === 0 ? body : Buffer.concat([body, fin]));
      },
    };
  }
}

const native = getCiphers().includes('chacha20-poly1305');

/**
 * A ciphertext for @hpke's open without @hpke's copy of it. @hpke (core 1.x) copies any view it is given
 * into an ArrayBuffer of its own before its AEAD sees it (`toArrayBuffer`), and passes an ArrayBuffer
 * through as it is. A received ciphertext is a view into the transport's message, so each sealed request
 * cost a copy (1 MiB for a 1 MiB module) and as much garbage. When the suite's AEAD is this one, the
 * ciphertext goes in as a stand-in: an object that passes `instanceof ArrayBuffer` and that this AEAD maps
 * back to the view; nothing else reads it. It is no real ArrayBuffer: were @hpke to read it some other way
 * (a view of it has length 0), the open would fail, not decrypt something else. `undefined` for any other
 * AEAD (the caller hands @hpke the bytes as before).
 */
export function lendCiphertext(aead: AeadInterface, ciphertext: Uint8Array): ArrayBuffer | undefined {
  if (!(aead instanceof NodeChacha20Poly1305)) return undefined;
  const standIn = Object.create(ArrayBuffer.prototype) as ArrayBuffer;
  lent.set(standIn, ciphertext);
  return standIn;
}

/** The ChaCha20-Poly1305 AEAD HPKE suites use here. */
export function platformChacha20Poly1305(): AeadInterface {
  return native ? new NodeChacha20Poly1305() : new Chacha20Poly1305();
}
