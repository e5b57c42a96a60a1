/**
 * Sealed execution's byte-exact test vectors (docs/sealed-execution-vectors.json, explained in
 * docs/sealed-execution.md): deterministic keys (RFC 9180 DeriveKeyPair of fixed IKMs), fixed ephemeral
 * keys, fixed payloads. `generateSealedVectors()` makes them with the library code; the test compares
 * the result with the published file, and an independent RFC 9180 implementation opens them.
 *
 *   node --import tsx test/binding/sealed-vectors.ts --write     # rewrite the published file
 */
import { writeFileSync } from 'node:fs';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  bytesToHex,
  framePayload,
  generateSealKeyPair,
  hpkeSeal,
  SEAL_SUITES,
  sealedRequestDigest,
  sealedRequestInfo,
  sealedResponseInfo,
  sealSuiteInfo,
  serializeSealPrivateKey,
} from '../../src/binding/index.ts';
import {
  SealedExecutionPayloadSchema,
  SealedResponsePayloadSchema,
  ValueSchema,
  WASMVMExecutionRequestSchema,
} from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';

export const VECTORS_FILE = new URL('../../docs/sealed-execution-vectors.json', import.meta.url);

const fill = (n: number, b: number) => new Uint8Array(n).fill(b);

export interface SealedVector {
  suite: string;
  kemId: number;
  kdfId: number;
  aeadId: number;
  keyId: string;
  /** Server sealing key: DeriveKeyPair(ikmR). */
  ikmR: string;
  skR: string;
  pkR: string;
  /** Client response key: DeriveKeyPair(ikmC). */
  ikmC: string;
  skC: string;
  pkC: string;
  request: {
    /** Ephemeral key material of the request's encapsulation (ekm of @hpke: DeriveKeyPair(ekm) for DHKEM, 64 raw bytes for X-Wing). */
    ekm: string;
    /** The SealedExecutionPayload protobuf, then its frame (u32be length, payload, zeros to the bucket). */
    payload: string;
    frame: string;
    info: string;
    enc: string;
    ciphertext: string;
    /** sealedRequestDigest (claim field 21). */
    digest: string;
  };
  response: {
    ekm: string;
    payload: string;
    frame: string;
    info: string;
    enc: string;
    ciphertext: string;
  };
}

function ekmFor(suite: string, b: number): Uint8Array {
  return fill(sealSuiteInfo(suite).kemId === 0x647a ? 64 : 32, b);
}

export async function generateSealedVectors(): Promise<SealedVector[]> {
  const out: SealedVector[] = [];
  for (const s of SEAL_SUITES) {
    const keyId = 'vector-key-1';
    const ikmR = fill(32, 0x01);
    const ikmC = fill(32, 0x03);
    const R = await generateSealKeyPair(s.name, ikmR);
    const C = await generateSealKeyPair(s.name, ikmC);
    const request = create(WASMVMExecutionRequestSchema, {
      execution: {
        version: '1',
        // (\0asm, version 1: an empty module; the vector is about the envelope, not the guest)
        bytecodeRaw: Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00),
        fnName: 'add',
        typedInputs: [
          create(ValueSchema, { type: 1, value: { case: 'int32Value', value: 2 } }),
          create(ValueSchema, { type: 1, value: { case: 'int32Value', value: 3 } }),
        ],
        nonce: fill(16, 0xaa),
      },
    });
    const payload = toBinary(
      SealedExecutionPayloadSchema,
      create(SealedExecutionPayloadSchema, {
        request,
        responsePublicKey: C.publicKey,
        sentAtMs: 1767225600000n,
      }),
    );
    const frame = framePayload(payload);
    const info = sealedRequestInfo(s.name, keyId);
    const ekmReq = ekmFor(s.name, 0x02);
    const sealedReq = await hpkeSeal(s.name, R.publicKey, info, frame, ekmReq);
    const digest = sealedRequestDigest({ keyId, suite: s.name, ...sealedReq });
    const respPayload = toBinary(
      SealedResponsePayloadSchema,
      create(SealedResponsePayloadSchema, {
        result: { case: 'error', value: { code: 'FUNCTION_NOT_FOUND', message: "no export 'add'" } },
      }),
    );
    const respFrame = framePayload(respPayload);
    const respInfo = sealedResponseInfo(digest);
    const ekmResp = ekmFor(s.name, 0x04);
    const sealedResp = await hpkeSeal(s.name, C.publicKey, respInfo, respFrame, ekmResp);
    out.push({
      suite: s.name,
      kemId: s.kemId,
      kdfId: s.kdfId,
      aeadId: s.aeadId,
      keyId,
      ikmR: bytesToHex(ikmR),
      skR: bytesToHex(await serializeSealPrivateKey(R)),
      pkR: bytesToHex(R.publicKey),
      ikmC: bytesToHex(ikmC),
      skC: bytesToHex(await serializeSealPrivateKey(C)),
      pkC: bytesToHex(C.publicKey),
      request: {
        ekm: bytesToHex(ekmReq),
        payload: bytesToHex(payload),
        frame: bytesToHex(frame),
        info: bytesToHex(info),
        enc: bytesToHex(sealedReq.enc),
        ciphertext: bytesToHex(sealedReq.ciphertext),
        digest: bytesToHex(digest),
      },
      response: {
        ekm: bytesToHex(ekmResp),
        payload: bytesToHex(respPayload),
        frame: bytesToHex(respFrame),
        info: bytesToHex(respInfo),
        enc: bytesToHex(sealedResp.enc),
        ciphertext: bytesToHex(sealedResp.ciphertext),
      },
    });
  }
  return out;
}

if (process.argv.includes('--write')) {
  const v = await generateSealedVectors();
  writeFileSync(
    VECTORS_FILE,
    `${JSON.stringify({ format: 'wasmvm-tee/sealed-vectors/v1', vectors: v }, null, 2)}\n`,
  );
  console.log(`wrote ${v.length} vectors`);
}
