/**
 * checkB64 / fromB64 (src/binding/envelope.ts): the fast path (decode, re-encode, compare) accepts exactly
 * the strings the explicit checks accept — padded, standard alphabet, canonical trailing bits — and every
 * rejection keeps its message.
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkB64, fromB64 } from '../../src/binding/index.ts';

/** The rule, written out (the checks before the fast path). */
function rule(s: string): string {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return 'x: not base64';
  if (
    s.endsWith('==')
      ? !'AQgw'.includes(s[s.length - 3]!)
      : s.endsWith('=') && !'AEIMQUYcgkosw048'.includes(s[s.length - 2]!)
  )
    return 'x: not canonical base64';
  return 'ok';
}
const outcome = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as Error).message;
  }
};
const CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n'.split('');

describe('strict base64 (checkB64, fromB64)', () => {
  it('accepts and rejects exactly as the rule; decodes what it accepts', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 13 }),
          fc.uint8Array().map((u) => Buffer.from(u).toString('base64')),
          // non-canonical trailing bits / stray characters in otherwise valid text
          fc.tuple(fc.uint8Array({ minLength: 1 }), fc.constantFrom(...CHARS), fc.nat()).map(([u, c, i]) => {
            const s = Buffer.from(u).toString('base64');
            const k = i % s.length;
            return s.slice(0, k) + c + s.slice(k + 1);
          }),
        ),
        (s) => {
          const want = rule(s);
          assert.equal(
            outcome(() => checkB64(s, 'x')),
            want,
            JSON.stringify(s),
          );
          assert.equal(
            outcome(() => fromB64(s, 'x')),
            want,
            JSON.stringify(s),
          );
          if (want === 'ok') assert.deepEqual(Buffer.from(fromB64(s, 'x')), Buffer.from(s, 'base64'));
        },
      ),
      { numRuns: 20000 },
    );
  });

  it('non-strings are named', () => {
    for (const v of [undefined, 1, null, {}, ['AA==']]) {
      assert.throws(() => checkB64(v, 'x'), /x: not base64/);
      assert.throws(() => fromB64(v, 'x'), /x: not base64/);
    }
  });
});
