/**
 * The base64 twins (Buffer in Node, util/text-codec in browsers) agree where callers trust them: bytes
 * encode to the same text, and a text that re-encodes to itself under one re-encodes to itself under the
 * other, to the same bytes (envelope.ts's canonical-base64 fast path).
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as node from '../../../src/binding/platform/base64-node.ts';
import * as web from '../../../src/binding/platform/base64-web.ts';

test('encode: the same text', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      assert.equal(web.platformBase64Encode(b), node.platformBase64Encode(b));
    }),
    { numRuns: 2000 },
  );
});

test('decode: canonical for one twin exactly when canonical for the other, to the same bytes', () => {
  const text = fc.oneof(
    fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('base64')),
    fc.string({ maxLength: 12, unit: fc.constantFrom(...'AQgw+/=-_ \n\rÁ!aZ09'.split('')) }),
    fc.string({ maxLength: 10, unit: 'binary' }),
  );
  fc.assert(
    fc.property(text, (s) => {
      const n = node.platformBase64Decode(s);
      const w = web.platformBase64Decode(s);
      const nOk = node.platformBase64Encode(n) === s;
      assert.equal(web.platformBase64Encode(w) === s, nOk, JSON.stringify(s));
      if (nOk) assert.deepEqual(new Uint8Array(w), new Uint8Array(n));
    }),
    { numRuns: 20000 },
  );
});
