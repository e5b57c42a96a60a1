/**
 * The claim encoder's string fields are the text's UTF-8 bytes exactly as Node's Buffer writes them
 * (lone surrogates as U+FFFD, astral characters as 4 bytes), length-prefixed, also when a string makes
 * the encoder's buffer grow (the published vectors are claim.test.ts's).
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { claimFromJson, inputSide } from '../../src/binding/index.ts';
import { BINDING_VECTORS } from './vectors.ts';

const base = claimFromJson(BINDING_VECTORS[0]!.claim);

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

test('string fields: type 0x02, u32be length, the UTF-8 bytes Buffer writes', () => {
  const empty = inputSide({ ...base, fn: '' });
  for (const fn of ['f', 'añ€', '😀x', '\ud800', 'a\udc00b', '\udbff\udfff', 'é'.repeat(3000)]) {
    const utf8 = Buffer.from(fn, 'utf8');
    const side = inputSide({ ...base, fn });
    assert.equal(side.length - empty.length, utf8.length, JSON.stringify(fn.slice(0, 8)));
    const field = Buffer.concat([Uint8Array.of(0x02), Buffer.alloc(4), utf8]);
    field.writeUInt32BE(utf8.length, 1);
    assert.notEqual(indexOf(side, field), -1, JSON.stringify(fn.slice(0, 8)));
  }
});
