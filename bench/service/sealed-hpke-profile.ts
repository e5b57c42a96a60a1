/**
 * Where a sealed request's HPKE time goes (docs/sealed-execution.md §9): each piece of the sealing path
 * in process, median of 200 after 20 warm-up calls, for a 200-byte and a 1 MiB payload, with the load
 * average before and after (the numbers mean little on a loaded machine). One HKDF-Extract is timed on
 * its own: @hpke's key schedule and DHKEM run about a dozen HMAC calls per seal or open (OpenSSL's, sync,
 * in Node: src/binding/platform/hpke-primitives-node.ts; WebCrypto's, two thread-pool hops each, before).
 * For each size also the protobuf and framing steps around HPKE (the sealed request path's other copies),
 * then one seal + open pair per suite.
 *
 *   node --import tsx bench/service/sealed-hpke-profile.ts
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  framePayload,
  generateSealKeyPair,
  hpkeOpen,
  hpkeSeal,
  hpkeSuite,
  SEAL_SUITES,
  sealedRequestDigest,
  sealedRequestInfo,
  unframePayload,
} from '../../src/binding/index.ts';
import { HPKE_PRIMITIVES } from '../../src/binding/platform/hpke-primitives-node.ts';
import {
  SealedExecutionPayloadSchema,
  WASMVMExecutionRequestSchema,
} from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';

const suite = 'x25519-sha256-chacha20poly1305';
const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
async function time(name: string, n: number, f: () => Promise<unknown>) {
  const t: number[] = [];
  for (let i = 0; i < 20; i++) await f();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await f();
    t.push(performance.now() - s);
  }
  console.log(`${name.padEnd(44)} median ${(med(t) * 1000).toFixed(0).padStart(7)} µs`);
}
console.log(`primitives: ${HPKE_PRIMITIVES}`);
console.log(
  'load average',
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' '),
);
const server = await generateSealKeyPair(suite);
const info = sealedRequestInfo(suite, 'kid');
const s = hpkeSuite(suite);
const kdf = (s as unknown as { kdf: { extract(a: ArrayBuffer, b: ArrayBuffer): Promise<ArrayBuffer> } }).kdf;
for (const size of [200, 1 << 20]) {
  const frame = framePayload(new Uint8Array(size));
  const sealed = await hpkeSeal(suite, server.publicKey, info, frame);
  console.log(`-- payload ${size} bytes (frame ${frame.length})`);
  await time('generateSealKeyPair (client response key)', 200, () => generateSealKeyPair(suite));
  await time('hpkeSeal', 200, () => hpkeSeal(suite, server.publicKey, info, frame));
  await time('hpkeOpen', 200, () => hpkeOpen(server, sealed.enc, info, sealed.ciphertext));
  await time('kem.deserializePublicKey', 200, () => s.kem.deserializePublicKey(server.publicKey));
  await time('kdf.extract (one HKDF-Extract)', 200, () =>
    kdf.extract(new ArrayBuffer(32), new ArrayBuffer(32)),
  );
  await time('sealedRequestDigest', 200, async () => sealedRequestDigest({ keyId: 'kid', suite, ...sealed }));
  await time('framePayload', 200, async () => framePayload(new Uint8Array(size)));
  const bytecodeRaw = new Uint8Array(size);
  const message = () =>
    create(SealedExecutionPayloadSchema, {
      request: create(WASMVMExecutionRequestSchema, { execution: { bytecodeRaw } }),
      responsePublicKey: server.publicKey,
      sentAtMs: 1n,
    });
  const payload = toBinary(SealedExecutionPayloadSchema, message());
  const p = await hpkeSeal(suite, server.publicKey, info, framePayload(payload));
  const opened = await hpkeOpen(server, p.enc, info, p.ciphertext);
  await time('toBinary(SealedExecutionPayload)', 200, async () =>
    toBinary(SealedExecutionPayloadSchema, message()),
  );
  await time('unframePayload', 200, async () => unframePayload(opened));
  await time('fromBinary(SealedExecutionPayload)', 200, async () =>
    fromBinary(SealedExecutionPayloadSchema, unframePayload(opened)),
  );
}
console.log('-- hpkeSeal + hpkeOpen of one frame, every suite (median of 50)');
for (const { name } of SEAL_SUITES) {
  const key = await generateSealKeyPair(name);
  const inf = sealedRequestInfo(name, 'kid');
  for (const size of [200, 1 << 20]) {
    const frame = framePayload(new Uint8Array(size));
    await time(`${name} ${size === 200 ? '200 B' : '1 MiB'}`, 50, async () => {
      const x = await hpkeSeal(name, key.publicKey, inf, frame);
      await hpkeOpen(key, x.enc, inf, x.ciphertext);
    });
  }
}
console.log(
  'load average',
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' '),
);
