import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FormatError,
  fromBase64,
  fromHex,
  sha256Hex,
  toBase64,
  toBase64Url,
  toHex,
} from '../../src/formats/index.ts';
import { isWasmvmTeeError } from '../../src/util/errors.ts';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof FormatError && isWasmvmTeeError(e), String(e));
    return e.code;
  }
  return 'no error';
};

test('hex: round trip, case, prefix, length', () => {
  const b = new Uint8Array([0, 1, 0xab, 0xff]);
  assert.equal(toHex(b), '0001abff');
  assert.deepEqual(fromHex('0001ABff'), b);
  assert.deepEqual(fromHex('0x0001abff', 'n', { allowPrefix: true }), b);
  assert.equal(
    code(() => fromHex('0x0001abff')),
    'INVALID_HEX',
  );
  assert.equal(
    code(() => fromHex('0001ABff', 'n', { lowercase: true })),
    'INVALID_HEX',
  );
  assert.equal(
    code(() => fromHex('abc')),
    'INVALID_HEX',
  );
  assert.equal(
    code(() => fromHex('zz')),
    'INVALID_HEX',
  );
  assert.equal(
    code(() => fromHex('', 'n', { nonEmpty: true })),
    'INVALID_HEX',
  );
  assert.equal(
    code(() => fromHex('00', 'n', { bytes: 2 })),
    'INVALID_LENGTH',
  );
  assert.throws(() => fromHex('q', 'claim.nonce'), /claim\.nonce/);
  // a subarray view encodes only its own bytes
  assert.equal(toHex(new Uint8Array([1, 2, 3, 4]).subarray(1, 3)), '0203');
});

test('base64: strict standard, URL-safe and proto-JSON forms', () => {
  const b = new Uint8Array([0xfb, 0xff, 0x01]);
  assert.equal(toBase64(b), '+/8B');
  assert.equal(toBase64Url(b), '-_8B');
  assert.deepEqual(fromBase64('+/8B'), b);
  assert.deepEqual(fromBase64('-_8B', 'x', { alphabet: 'url' }), b);
  assert.deepEqual(fromBase64('-_8B', 'x', { alphabet: 'any' }), b);
  assert.deepEqual(fromBase64('+/8B', 'x', { alphabet: 'any' }), b);
  assert.deepEqual(fromBase64('AQ', 'x', { alphabet: 'any' }), new Uint8Array([1]));
  assert.deepEqual(fromBase64('AQ==', 'x', { alphabet: 'any' }), new Uint8Array([1]));
  assert.deepEqual(fromBase64('AQ==\r\n', 'x', { ignoreNewlines: true }), new Uint8Array([1]));
  for (const bad of ['AQ', 'AQ=', 'A===', 'A', '-_8B', 'AQ==\n', 'AR==', 'Zm9v YmFy', '!!!!'])
    assert.equal(
      code(() => fromBase64(bad)),
      'INVALID_BASE64',
      bad,
    );
  for (const bad of ['+/8B-_', 'A', 'AQ=', 'AR'])
    assert.equal(
      code(() => fromBase64(bad, 'x', { alphabet: 'any' })),
      'INVALID_BASE64',
      bad,
    );
  assert.equal(
    code(() => fromBase64('+/8B', 'x', { alphabet: 'url' })),
    'INVALID_BASE64',
  );
  assert.equal(
    code(() => fromBase64('AQ==', 'x', { bytes: 2 })),
    'INVALID_LENGTH',
  );
  assert.deepEqual(fromBase64(''), new Uint8Array(0));
});

test('sha256Hex', () => {
  assert.equal(
    sha256Hex(new Uint8Array(0)),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
