/**
 * Browsers' ChaCha20-Poly1305 (RFC 8439) for HPKE: @hpke/chacha20poly1305 (JavaScript; WebCrypto has no
 * ChaCha20). The browser build's replacement for chacha20poly1305-node.ts, with the same export.
 */
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import type { AeadInterface } from '@hpke/core';

/** The ChaCha20-Poly1305 AEAD HPKE suites use here. */
export function platformChacha20Poly1305(): AeadInterface {
  return new Chacha20Poly1305();
}

/** Node's twin hands a ciphertext to its own AEAD without @hpke's copy; here there is none to skip. */
export function lendCiphertext(_aead: AeadInterface, _ciphertext: Uint8Array): ArrayBuffer | undefined {
  return undefined;
}
