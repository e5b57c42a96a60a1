/**
 * Nonces compared as bytes: hex is case-insensitive but must have exactly the expected length. The hex
 * itself is src/formats' one implementation (fromHex/toHex); errors are FormatError.
 */
import { FormatError, fromHex, toHex } from '../../formats/index.ts';

export function toNonceBytes(n: Uint8Array | string, expectedLength?: number): Uint8Array {
  let b: Uint8Array;
  if (typeof n === 'string') {
    try {
      b = fromHex(n, 'nonce', { allowPrefix: true, nonEmpty: true });
    } catch (e) {
      throw new FormatError('INVALID_HEX', `'${n.slice(0, 80)}' is not an even-length hex string`, {
        cause: e,
      });
    }
  } else if (n instanceof Uint8Array) {
    b = n;
  } else {
    throw new FormatError('MALFORMED', 'nonce must be hex text or bytes');
  }
  if (expectedLength !== undefined && b.length !== expectedLength)
    throw new FormatError('INVALID_LENGTH', `nonce is ${b.length} bytes, expected ${expectedLength}`);
  return b;
}

/** Compare a hex claim to expected bytes; exact length, case-insensitive hex, no prefix tolerance beyond '0x'. */
export function compareHexNonce(claim: unknown, expected: Uint8Array): { ok: boolean; detail: string } {
  if (typeof claim !== 'string')
    return { ok: false, detail: `claim is ${claim === undefined ? 'missing' : typeof claim}, not hex text` };
  if (!/^[0-9a-fA-F]*$/.test(claim) || claim.length % 2 !== 0)
    return { ok: false, detail: `'${claim.slice(0, 80)}' is not even-length hex` };
  if (claim.length !== expected.length * 2)
    return { ok: false, detail: `${claim.length / 2} bytes, expected ${expected.length} bytes` };
  if (claim.toLowerCase() !== toHex(expected))
    return { ok: false, detail: `${claim.toLowerCase()} != ${toHex(expected)}` };
  return { ok: true, detail: `equals ${toHex(expected)}` };
}
