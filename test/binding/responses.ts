/** Shared by the mutation suite and the CLI round trips: real responses from an in-process server. */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { toJson } from '@bufbuild/protobuf';
import type { WasmValue } from '../../src/engine/index.ts';
import {
  WASMVMExecutionRequestSchema,
  WASMVMExecutionResponseSchema,
} from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import { createWasmvmClient, executeAndVerify } from '../../src/server/client.ts';

const wasm = new Uint8Array(readFileSync(new URL('./fixtures/values.wasm', import.meta.url)));
type Json = Record<string, unknown>;

export interface Sample {
  request: Json;
  response: Json;
  nonce: string;
}

/** Run `fn` on the server and return the request, response (proto JSON) and nonce. */
export async function sample(
  url: string,
  fn: string,
  args: WasmValue[],
  mode: 'interp' | 'singlepass' | 'multipass',
  attestationMode: 'per-request' | 'session-key',
): Promise<Sample> {
  const client = createWasmvmClient({ baseUrl: url });
  const nonce = new Uint8Array(randomBytes(16));
  const r = await executeAndVerify(
    client,
    { bytecode: wasm, fn, args, mode, attestationMode, gasLimit: 1_000_000n, nonce },
    { allowSimulated: true },
  );
  assert.ok(r.verdict.ok, JSON.stringify(r.verdict, null, 1));
  return {
    request: toJson(WASMVMExecutionRequestSchema, r.request) as Json,
    response: toJson(WASMVMExecutionResponseSchema, r.response) as Json,
    nonce: Buffer.from(nonce).toString('hex'),
  };
}

export const ARGS_A: WasmValue[] = [
  { type: 'i32', value: -7 },
  { type: 'i64', value: -(2n ** 63n) },
  { type: 'f32', bits: 0x7fa00001 }, // NaN with a payload
  { type: 'f64', bits: 0x8000000000000000n }, // -0.0
];
