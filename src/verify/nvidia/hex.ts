/** Nonces compared as bytes: hex is case-insensitive but must have exactly the expected length. */

export function toNonceBytes(n: Uint8Array | string, expectedLength?: number): Uint8Array {
  let b: Uint8Array;
  if (typeof n === 'string') {
    const s = n.startsWith('0x') || n.startsWith('0X') ? n.slice(2) : n;
    if (s.length === 0 || s.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(s))
      throw new Error(`'${n.slice(0, 80)}' is not an even-length hex string`);
    b = new Uint8Array(Buffer.from(s, 'hex'));
  } else if (n instanceof Uint8Array) {
    b = n;
  } else {
    throw new Error('nonce must be hex text or bytes');
  }
  if (expectedLength !== undefined && b.length !== expectedLength)
    throw new Error(`nonce is ${b.length} bytes, expected ${expectedLength}`);
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
  const got = Buffer.from(claim, 'hex');
  if (!got.equals(Buffer.from(expected)))
    return { ok: false, detail: `${claim.toLowerCase()} != ${Buffer.from(expected).toString('hex')}` };
  return { ok: true, detail: `equals ${Buffer.from(expected).toString('hex')}` };
}
