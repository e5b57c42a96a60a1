/**
 * The preparation threads get large modules through shared memory, copied a slice per turn of the event
 * loop (toShared), so that no single turn blocks on a whole module (health checks answer meanwhile).
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { DEFAULT_LIMITS } from '../../src/engine/index.ts';
import { PreparePool, SHARED_COPY_SLICE, toShared } from '../../src/engine/prepare-pool.ts';

test('toShared copies every byte into a SharedArrayBuffer, one slice per turn of the event loop', async () => {
  const n = 5 * SHARED_COPY_SLICE + 123;
  const src = new Uint8Array(n);
  for (let i = 0; i < n; i++) src[i] = (i * 2654435761) >>> 24;
  let turns = 0;
  let counting = true;
  const tick = () => {
    if (!counting) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const out = await toShared(src);
  counting = false;
  assert.ok(out !== 'timeout');
  assert.ok(out.buffer instanceof SharedArrayBuffer);
  assert.equal(out.length, n);
  assert.deepEqual(Buffer.from(out), Buffer.from(src));
  // 6 slices: the other callback ran between them (the copy yielded at least 5 times)
  assert.ok(turns >= 5, `the event loop turned ${turns} times during the copy`);
});

test('toShared gives up at the deadline', async () => {
  const r = await toShared(new Uint8Array(4 * SHARED_COPY_SLICE), performance.now() - 1);
  assert.equal(r, 'timeout');
});

test('toShared: empty and sub-slice inputs', async () => {
  assert.equal(((await toShared(new Uint8Array(0))) as Uint8Array).length, 0);
  const small = Uint8Array.of(0, 97, 115, 109);
  assert.deepEqual([...((await toShared(small)) as Uint8Array)], [...small]);
});

test('a module prepared in a thread from shared memory: same result, input SHA-256 computed there', async () => {
  // (module () (func (export "f") (result i32) i32.const 42))
  const wasm = Uint8Array.from([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 6, 1, 4, 0,
    65, 42, 11,
  ]);
  const pool = new PreparePool(1, 128);
  try {
    const r = await pool.run(
      { bytes: wasm, metered: true, canonicalizeNaN: false, limits: DEFAULT_LIMITS, hashInput: true },
      performance.now() + 30_000,
    );
    assert.ok(r !== 'timeout');
    assert.equal(r.inputSha256, createHash('sha256').update(wasm).digest('hex'));
    assert.ok(WebAssembly.validate(r.bytes), 'instrumented module validates');
    assert.ok(!(r.bytes.buffer instanceof SharedArrayBuffer), 'the result is a plain buffer');
  } finally {
    pool.close();
  }
});

test('the prepared module comes back by transfer: a plain buffer of its own, every byte intact', async () => {
  // a module with one function whose body is padded with 1 MiB of nops, so a clone would be visible
  const body: number[] = [0];
  const pad = 1 << 20;
  const nops = new Uint8Array(pad).fill(0x01);
  const code = Uint8Array.from([...body, ...nops, 0x41, 42, 0x0b]);
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const fn = [...leb(code.length), ...code];
  const codeSec = [1, ...fn];
  const wasm = Uint8Array.from([
    0,
    97,
    115,
    109,
    1,
    0,
    0,
    0,
    1,
    5,
    1,
    96,
    0,
    1,
    127,
    3,
    2,
    1,
    0,
    7,
    5,
    1,
    1,
    102,
    0,
    0,
    10,
    ...leb(codeSec.length),
    ...codeSec,
  ]);
  const pool = new PreparePool(1, 256);
  try {
    for (const metered of [true, false]) {
      const r = await pool.run(
        { bytes: wasm, metered, canonicalizeNaN: false, limits: DEFAULT_LIMITS, hashInput: true },
        performance.now() + 60_000,
      );
      assert.ok(r !== 'timeout');
      assert.equal(r.bytes.byteOffset, 0);
      assert.equal(r.bytes.byteLength, r.bytes.buffer.byteLength, 'the view owns its buffer');
      assert.ok(WebAssembly.validate(r.bytes));
      if (!metered) assert.deepEqual(Buffer.from(r.bytes), Buffer.from(wasm), 'unmetered: the module itself');
      const inst = new WebAssembly.Instance(new WebAssembly.Module(r.bytes));
      if (!metered) assert.equal((inst.exports.f as () => number)(), 42);
    }
    assert.deepEqual(
      createHash('sha256').update(wasm).digest('hex'),
      createHash('sha256').update(Buffer.from(wasm)).digest('hex'),
      'the caller still has its own input',
    );
  } finally {
    pool.close();
  }
});
