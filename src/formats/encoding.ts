/**
 * Text encodings of bytes, written once: hex and base64 (standard and URL-safe), strict by default.
 * Every decoder names what it decodes (`what`) in its error, so a caller's message says which field
 * was wrong. Errors are FormatError with code INVALID_HEX, INVALID_BASE64 or INVALID_LENGTH.
 */
import { digestHex } from '../util/digest.ts';
import {
  base64ToBytes,
  bytesToBase64,
  bytesToBase64Url,
  bytesToHex,
  hexToBytes,
} from '../util/text-codec.ts';
import { FormatError } from './errors.ts';

/** Lowercase hex of bytes. */
export function toHex(b: Uint8Array): string {
  return bytesToHex(b);
}

export interface HexOptions {
  /** Exact number of bytes required. */
  bytes?: number;
  /** Accept a leading `0x`/`0X` (default false). */
  allowPrefix?: boolean;
  /** Accept only lowercase digits (canonical form; default false: case-insensitive). */
  lowercase?: boolean;
  /** Reject the empty string (default false). */
  nonEmpty?: boolean;
}

/** Strict hex → bytes: even length, hex digits only, optionally an exact length. */
export function fromHex(text: string, what = 'hex', opts: HexOptions = {}): Uint8Array {
  if (typeof text !== 'string') throw new FormatError('INVALID_HEX', `${what}: expected hex text`);
  const s = opts.allowPrefix && /^0[xX]/.test(text) ? text.slice(2) : text;
  const re = opts.lowercase ? /^(?:[0-9a-f]{2})*$/ : /^(?:[0-9a-fA-F]{2})*$/;
  if (!re.test(s))
    throw new FormatError(
      'INVALID_HEX',
      `${what}: not ${opts.lowercase ? 'lowercase ' : ''}even-length hex ('${clip(text)}')`,
    );
  if (opts.nonEmpty && s.length === 0) throw new FormatError('INVALID_HEX', `${what}: empty`);
  const out = hexToBytes(s);
  if (opts.bytes !== undefined && out.length !== opts.bytes)
    throw new FormatError('INVALID_LENGTH', `${what}: ${out.length} bytes, expected ${opts.bytes}`);
  return out;
}

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(b: Uint8Array): string {
  return bytesToBase64(b);
}

/** URL-safe base64 without padding (RFC 4648 §5, as in JOSE). */
export function toBase64Url(b: Uint8Array): string {
  return bytesToBase64Url(b);
}

export interface Base64Options {
  /**
   * Which alphabet: 'std' (RFC 4648 §4, padding required; the default), 'url' (§5, padding optional),
   * or 'any' (either alphabet, padding optional: the proto-JSON rule for `bytes`).
   */
  alphabet?: 'std' | 'url' | 'any';
  /** Ignore CR/LF (PEM bodies, Go's StdEncoding); default false. */
  ignoreNewlines?: boolean;
  /** Exact number of bytes required. */
  bytes?: number;
}

const STD = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_NOPAD = /^[A-Za-z0-9_-]*$/;
const ANY_NOPAD = /^[A-Za-z0-9+/_-]*$/;

/**
 * Strict base64 → bytes. Unlike Node's Buffer.from(s, 'base64'), which skips anything it does not know, this
 * rejects stray characters, bad padding and non-canonical trailing bits.
 */
export function fromBase64(text: string, what = 'base64', opts: Base64Options = {}): Uint8Array {
  if (typeof text !== 'string') throw new FormatError('INVALID_BASE64', `${what}: expected base64 text`);
  const t = opts.ignoreNewlines ? text.replace(/[\r\n]/g, '') : text;
  const alphabet = opts.alphabet ?? 'std';
  let body: string;
  if (alphabet === 'std') {
    if (t.length % 4 !== 0 || !STD.test(t)) throw bad64(what, 'not valid standard base64', text);
    body = t.replace(/=+$/, '');
  } else {
    body = t.replace(/={1,2}$/, '');
    if (body.length !== t.length && t.length % 4 !== 0) throw bad64(what, 'bad padding', text);
    if (!(alphabet === 'url' ? URL_NOPAD : ANY_NOPAD).test(body))
      throw bad64(what, `not valid ${alphabet === 'url' ? 'URL-safe ' : ''}base64`, text);
    if (body.includes('-') || body.includes('_')) {
      if (/[+/]/.test(body)) throw bad64(what, 'mixes the standard and URL-safe alphabets', text);
    }
  }
  if (body.length % 4 === 1) throw bad64(what, 'impossible length', text);
  const out = base64ToBytes(body);
  // canonical: the unused low bits of the last character must be zero
  if (toBase64(out).replace(/=+$/, '') !== body.replace(/-/g, '+').replace(/_/g, '/'))
    throw bad64(what, 'non-canonical encoding', text);
  if (opts.bytes !== undefined && out.length !== opts.bytes)
    throw new FormatError('INVALID_LENGTH', `${what}: ${out.length} bytes, expected ${opts.bytes}`);
  return out;
}

/** SHA-256 of bytes as lowercase hex. */
export function sha256Hex(b: Uint8Array | string): string {
  return digestHex('sha256', b);
}

function bad64(what: string, why: string, text: string): FormatError {
  return new FormatError('INVALID_BASE64', `${what}: ${why} ('${clip(text)}')`);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
