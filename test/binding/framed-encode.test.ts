/**
 * encodeFramedPayload = framePayload(toBinary(...)), byte for byte, on every shape sealed execution
 * frames (src/binding/framed-encode.ts): requests with a large raw bytecode, with base64 bytecode, with
 * typed inputs and runtime config, by hash (no bytecode), large bytes fields in the middle and at the
 * end of a message, unknown fields at each level, and responses (a oneof) with and without a large claim.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { create, type DescMessage, type MessageShape, toBinary } from '@bufbuild/protobuf';
import { WireType } from '@bufbuild/protobuf/wire';
import {
  encodeFramedPayload,
  framePayload,
  SPLICE_MIN_BYTES,
  unframePayload,
} from '../../src/binding/index.ts';
import {
  SealedExecutionPayloadSchema,
  SealedResponsePayloadSchema,
  ValueSchema,
  WASMVMExecutionRequestSchema,
  WASMVMExecutionResponseSchema,
} from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';

function same<D extends DescMessage>(schema: D, m: MessageShape<D>, what: string): Uint8Array {
  const want = framePayload(toBinary(schema, m));
  const got = encodeFramedPayload(schema, m);
  assert.equal(got.length, want.length, `${what}: frame length`);
  assert.ok(Buffer.from(got).equals(Buffer.from(want)), `${what}: frame bytes`);
  return got;
}

function payload(
  bytecodeRaw: Uint8Array,
  extra: { nonce?: Uint8Array; typed?: boolean; b64?: boolean } = {},
) {
  return create(SealedExecutionPayloadSchema, {
    request: create(WASMVMExecutionRequestSchema, {
      execution: {
        version: '1',
        requestId: 'req-1',
        bytecode: extra.b64 ? Buffer.from(bytecodeRaw).toString('base64') : '',
        bytecodeRaw: extra.b64 ? new Uint8Array(0) : bytecodeRaw,
        fnName: 'add',
        inputs: extra.typed ? [] : ['20', '22'],
        typedInputs: extra.typed
          ? [
              create(ValueSchema, { type: 1, value: { case: 'int32Value', value: 20 } }),
              create(ValueSchema, { type: 2, value: { case: 'int64Value', value: -22n } }),
            ]
          : [],
        timestamp: 1_700_000_000n,
        nonce: extra.nonce ?? new Uint8Array(32).fill(7),
      },
      runtimeConfig: { mode: 1, meter: true, gasLimit: { useGasLimit: true, limit: 1_000_000n } },
    }),
    responsePublicKey: new Uint8Array(32).fill(9),
    sentAtMs: 1_765_000_000_000n,
    bytecodeSha256: '',
  });
}

test('requests: every bytecode size around the split threshold and the length-prefix widths', () => {
  for (const n of [
    0,
    1,
    127,
    128,
    SPLICE_MIN_BYTES - 1,
    SPLICE_MIN_BYTES,
    16_383,
    16_384,
    65_536,
    1 << 20,
    (1 << 21) + 3,
  ]) {
    same(SealedExecutionPayloadSchema, payload(new Uint8Array(randomBytes(n))), `raw ${n}`);
  }
});

test('requests: typed inputs, base64 bytecode, a large nonce, by hash', () => {
  const big = new Uint8Array(randomBytes(300_000));
  same(SealedExecutionPayloadSchema, payload(big, { typed: true }), 'typed inputs');
  same(
    SealedExecutionPayloadSchema,
    payload(big, { b64: true }),
    'base64 bytecode (a string: toBinary writes it)',
  );
  same(
    SealedExecutionPayloadSchema,
    payload(big, { nonce: new Uint8Array(randomBytes(20_000)) }),
    'two large fields',
  );
  const byHash = payload(new Uint8Array(0));
  byHash.bytecodeSha256 = 'ab'.repeat(32);
  same(SealedExecutionPayloadSchema, byHash, 'by hash');
  same(SealedExecutionPayloadSchema, create(SealedExecutionPayloadSchema), 'empty message');
});

test('unknown fields at every level are kept in place (last in their message)', () => {
  const m = payload(new Uint8Array(randomBytes(100_000)));
  const unknown = (no: number, text: string) => ({
    no,
    wireType: WireType.LengthDelimited,
    data: new Uint8Array([text.length, ...Buffer.from(text)]),
  });
  m.$unknown = [unknown(90, 'outer')];
  m.request!.$unknown = [unknown(91, 'request')];
  m.request!.execution!.$unknown = [unknown(92, 'execution'), unknown(93, 'two')];
  same(SealedExecutionPayloadSchema, m, 'unknown fields');
});

test('responses: a oneof is left to toBinary; a large claim bytes field below it is too (oneofs are not split)', () => {
  const response = create(WASMVMExecutionResponseSchema, {
    requestId: 'r',
    result: {
      status: 'ok',
      inputs: ['20', '22'],
      attestation: 'x'.repeat(3000),
      claim: new Uint8Array(randomBytes(50_000)),
    },
  });
  same(
    SealedResponsePayloadSchema,
    create(SealedResponsePayloadSchema, { result: { case: 'response', value: response } }),
    'response',
  );
  same(
    SealedResponsePayloadSchema,
    create(SealedResponsePayloadSchema, { result: { case: 'error', value: { code: 'X', message: 'y' } } }),
    'error',
  );
});

test('the frame holds the bytecode once and the message bytes are left as they were', () => {
  const raw = new Uint8Array(randomBytes(1 << 20));
  const copy = raw.slice();
  const m = payload(raw);
  const frame = same(SealedExecutionPayloadSchema, m, '1 MiB');
  assert.ok(Buffer.from(raw).equals(Buffer.from(copy)), 'the caller’s bytecode is not zeroed or moved');
  assert.equal(m.request!.execution!.bytecodeRaw, raw);
  assert.equal(unframePayload(frame).length, toBinary(SealedExecutionPayloadSchema, m).length);
});
