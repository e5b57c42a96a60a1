import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { assembleEnvelopes, isEnvelopedContentType } from '../../src/server/envelope-assembler.ts';

const envelope = (flags: number, data: Uint8Array): Buffer => {
  const b = Buffer.alloc(5 + data.length);
  b[0] = flags;
  b.writeUInt32BE(data.length, 1);
  b.set(data, 5);
  return b;
};

/** Feed `body` cut at `cuts` through the assembler; collect what the RPC layer would receive. */
async function run(body: Buffer, cuts: number[], max: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const c of [...new Set(cuts)].filter((c) => c > 0 && c < body.length).sort((a, b) => a - b)) {
    chunks.push(body.subarray(at, c));
    at = c;
  }
  if (at < body.length) chunks.push(body.subarray(at));
  const next = assembleEnvelopes(async () => {
    const value = chunks.shift();
    return value === undefined ? { done: true, value: undefined } : { done: false, value };
  }, max);
  const out: Buffer[] = [];
  for (;;) {
    const r = await next();
    if (r.done) return out;
    out.push(r.value);
  }
}

describe('envelope assembler (enveloped bodies reach the RPC layer one envelope per chunk)', () => {
  it('any cut of any envelope sequence: the same bytes, one chunk per envelope', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 })), {
          maxLength: 6,
        }),
        fc.array(fc.nat(2000), { maxLength: 60 }),
        async (envs, cuts) => {
          const parts = envs.map(([f, d]) => envelope(f, d));
          const body = Buffer.concat(parts);
          const out = await run(body, cuts, 1024);
          assert.equal(out.length, parts.length);
          for (const [i, p] of parts.entries()) assert.ok(out[i]!.equals(p), `envelope ${i}`);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a 256 KiB message in 1-byte chunks is handed over as one chunk', async () => {
    const msg = envelope(0, Buffer.alloc(256 * 1024, 7));
    const out = await run(
      msg,
      Array.from({ length: msg.length }, (_, i) => i),
      1 << 20,
    );
    assert.equal(out.length, 1);
    assert.ok(out[0]!.equals(msg));
  });

  it('a body that ends inside an envelope hands over its bytes unchanged (the RPC layer reports it)', async () => {
    for (const partial of [
      Buffer.from([0, 0, 0]),
      Buffer.from([0, 0, 0, 0, 10, 1, 2, 3]),
      Buffer.concat([envelope(0, Buffer.from('ok')), Buffer.from([0, 0, 0, 1])]),
    ]) {
      for (const cuts of [[], [1], [2, 4, 6]]) {
        const out = await run(partial, cuts, 1024);
        assert.ok(Buffer.concat(out).equals(partial));
      }
    }
    const out = await run(Buffer.concat([envelope(1, Buffer.from('ok')), Buffer.from([0, 0])]), [1, 3], 1024);
    assert.ok(out[0]!.equals(envelope(1, Buffer.from('ok'))), 'the complete envelope is still whole');
  });

  it('an envelope declaring more than the limit: everything from its header on passes through unchanged', async () => {
    const first = envelope(0, Buffer.from('small'));
    const huge = Buffer.from([0, 0, 0x10, 0, 0, 1, 2, 3]); // announces 1 MiB, limit 1 KiB
    const body = Buffer.concat([first, huge, Buffer.from([4, 5, 6])]);
    const out = await run(body, [3, first.length + 2, first.length + 6], 1024);
    assert.ok(out[0]!.equals(first));
    assert.ok(Buffer.concat(out.slice(1)).equals(body.subarray(first.length)));
    assert.ok(out.length > 2, 'later chunks are not gathered');
  });

  it('past an oversized header each chunk is handed over as it arrives (nothing waits for more)', async () => {
    const chunks = [
      envelope(0, Buffer.from('small')),
      Buffer.from([0, 0, 0x10, 0, 0]),
      Buffer.from([4, 5, 6]),
    ];
    const next = assembleEnvelopes(async () => {
      const value = chunks.shift();
      // the client sends nothing more, and does not end the body
      return value === undefined ? new Promise<never>(() => {}) : { done: false, value };
    }, 1024);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await Promise.race([
        next(),
        new Promise<'waiting'>((res) => setTimeout(() => res('waiting'), 500)),
      ]);
      assert.notEqual(r, 'waiting', `chunk ${i} was held back`);
      if (r !== 'waiting' && !r.done) got.push(r.value.toString('hex'));
    }
    assert.deepEqual(got, ['0000000005736d616c6c', '0000100000', '040506']);
  });

  it('zero-length envelopes and several envelopes in one chunk', async () => {
    const parts = [
      envelope(0, new Uint8Array()),
      envelope(2, Buffer.from('a')),
      envelope(0, new Uint8Array()),
    ];
    const out = await run(Buffer.concat(parts), [], 1024);
    assert.deepEqual(
      out.map((b) => b.toString('hex')),
      parts.map((b) => b.toString('hex')),
    );
  });

  it('enveloped content types', () => {
    for (const ct of [
      'application/grpc',
      'application/grpc+proto',
      'application/grpc-web+proto',
      'application/connect+json',
    ])
      assert.ok(isEnvelopedContentType(ct), ct);
    for (const ct of ['application/json', 'application/proto', undefined, 'text/plain'])
      assert.ok(!isEnvelopedContentType(ct), String(ct));
  });
});
