/**
 * One ExecuteSealed, stage by stage, in process (docs/sealed-execution.md §9): every step the client and
 * the server take around the execution itself, for a 200-byte and a 1 MiB bytecode, median of N (default
 * 200) after 20 warm-up calls, with the load average before and after. The transport's own encode/decode
 * (what Connect runs on each side: toBinary/fromBinary of the outer message) is timed too, and the same
 * for plain Execute, so "sealed adds" can be read off. The execution is left out (the same for both).
 *
 * Each stage is timed on its own over inputs prepared once, so a stage's median is its cost alone; the
 * last rows time whole halves (client seal, server open, server seal, client open) as the service runs
 * them (src/verify/execution/sealed-client.ts, src/server/sealed.ts).
 *
 *   node --import tsx bench/service/sealed-stages.ts [--n 200] [--sizes 200,1048576]
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '200' },
    sizes: { type: 'string', default: '200,1048576' },
    root: { type: 'string', default: new URL('../..', import.meta.url).pathname },
  },
});
// --root: the checkout whose src/ is measured (another tree at an earlier commit: before/after).
const root = pathToFileURL(`${resolve(values.root!)}/`);
const at = (p: string) => new URL(p, root).href;
const binding = (await import(at('src/binding/index.ts'))) as typeof import('../../src/binding/index.ts');
const pb = (await import(
  at('src/gen/wasmvm/v1/wasmvm_pb.ts')
)) as typeof import('../../src/gen/wasmvm/v1/wasmvm_pb.ts');
const { buildExecuteRequest } = (await import(
  at('src/server/client.ts')
)) as typeof import('../../src/server/client.ts');
const { openSealedResponse, sealRequest } = (await import(
  at('src/verify/execution/index.ts')
)) as typeof import('../../src/verify/execution/index.ts');
const {
  framePayload,
  generateSealKeyPair,
  hpkeOpen,
  hpkeSeal,
  sealedRequestDigest,
  sealedRequestInfo,
  sealedResponseInfo,
  unframePayload,
} = binding;
// Added by the copy-free encoder (absent in trees before it): their rows are left out there.
const { encodeFramedPayload } = binding as Partial<typeof binding>;
const {
  SealedExecutionPayloadSchema,
  SealedExecutionRequestSchema,
  SealedExecutionResponseSchema,
  SealedResponsePayloadSchema,
  WASMVMExecutionRequestSchema,
  WASMVMExecutionResponseSchema,
} = pb;
const N = Number(values.n);
const sizes = values.sizes!.split(',').map(Number);
const suite = 'x25519-sha256-chacha20poly1305';
const kid = 'bench-key';
const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const rows = new Map<string, Map<number, number>>();
async function time(name: string, size: number, f: () => unknown): Promise<void> {
  for (let i = 0; i < 20; i++) await f();
  const t: number[] = [];
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    await f();
    t.push(performance.now() - s);
  }
  let r = rows.get(name);
  if (!r) {
    r = new Map();
    rows.set(name, r);
  }
  r.set(size, med(t) * 1000);
}

console.log(`sealed-execution stages (${root.pathname}): median of ${N}, suite ${suite}, load ${load()}`);
const server = await generateSealKeyPair(suite);
const session = {
  keyId: kid,
  suite,
  publicKey: server.publicKey,
  notBefore: 0,
  notAfter: Number.MAX_SAFE_INTEGER,
  identity: '',
  session: {} as never,
  verdict: {} as never,
};
const reqInfo = sealedRequestInfo(suite, kid);
// A response as the service answers `add` (the claim envelope dominates its size).
const response = create(WASMVMExecutionResponseSchema, {
  requestId: 'r',
  result: {
    status: 'ok',
    inputs: ['20', '22'],
    attestation: 'x'.repeat(3000),
    claim: new Uint8Array(400).fill(1),
  },
});

for (const size of sizes) {
  const bytecode = new Uint8Array(size).fill(0x5a);
  const nonce = new Uint8Array(32).fill(7);
  const request = buildExecuteRequest({
    bytecode,
    fn: 'add',
    args: ['20', '22'],
    bytecodeEncoding: 'raw',
    nonce,
  });
  const responseKey = await generateSealKeyPair(suite);
  const message = () =>
    create(SealedExecutionPayloadSchema, {
      request,
      responsePublicKey: responseKey.publicKey,
      sentAtMs: 1n,
      bytecodeSha256: '',
    });
  const payload = toBinary(SealedExecutionPayloadSchema, message());
  const frame = framePayload(payload);
  const sealed = await hpkeSeal(suite, server.publicKey, reqInfo, frame);
  const wire = create(SealedExecutionRequestSchema, { keyId: kid, suite, ...sealed });
  const wireBytes = toBinary(SealedExecutionRequestSchema, wire);
  const plainBytes = toBinary(WASMVMExecutionRequestSchema, request);
  const digest = sealedRequestDigest({ keyId: kid, suite, ...sealed });
  const opened = await hpkeOpen(server, sealed.enc, reqInfo, sealed.ciphertext);
  const received = fromBinary(SealedExecutionRequestSchema, wireBytes);
  const inner = create(SealedResponsePayloadSchema, { result: { case: 'response', value: response } });
  const respFrame = framePayload(toBinary(SealedResponsePayloadSchema, inner));
  const respSealed = await hpkeSeal(suite, responseKey.publicKey, sealedResponseInfo(digest), respFrame);
  const respWire = create(SealedExecutionResponseSchema, {
    keyId: kid,
    requestDigest: digest,
    ...respSealed,
  });
  const respBytes = toBinary(SealedExecutionResponseSchema, respWire);

  // Client, sealing.
  await time('client: generateSealKeyPair (response key)', size, () => generateSealKeyPair(suite));
  await time('client: toBinary(SealedExecutionPayload)', size, () =>
    toBinary(SealedExecutionPayloadSchema, message()),
  );
  await time('client: framePayload', size, () => framePayload(payload));
  if (encodeFramedPayload)
    await time('client: encodeFramedPayload (toBinary + frame, one copy)', size, () =>
      encodeFramedPayload(SealedExecutionPayloadSchema, message()),
    );
  await time('client: zero payload + frame', size, () => {
    payload.fill(0);
    frame.fill(0);
  });
  await time('client: hpkeSeal (frame)', size, () => hpkeSeal(suite, server.publicKey, reqInfo, frame));
  await time('both: sealedRequestDigest', size, () => sealedRequestDigest({ keyId: kid, suite, ...sealed }));
  await time('client: transport encode, sealed (toBinary)', size, () =>
    toBinary(SealedExecutionRequestSchema, wire),
  );
  await time('client: transport encode, plain (toBinary)', size, () =>
    toBinary(WASMVMExecutionRequestSchema, request),
  );
  // Server, opening.
  await time('server: transport decode, sealed (fromBinary)', size, () =>
    fromBinary(SealedExecutionRequestSchema, wireBytes),
  );
  await time('server: transport decode, plain (fromBinary)', size, () =>
    fromBinary(WASMVMExecutionRequestSchema, plainBytes),
  );
  await time('server: hpkeOpen (received ciphertext, a view)', size, () =>
    hpkeOpen(server, received.enc, reqInfo, received.ciphertext),
  );
  await time('server: unframe + fromBinary(SealedExecutionPayload)', size, () =>
    fromBinary(SealedExecutionPayloadSchema, unframePayload(opened)),
  );
  await time('server: zero opened frame', size, () => opened.fill(0));
  // Server, sealing the answer; client, opening it.
  await time('server: toBinary + frame + hpkeSeal (response)', size, async () => {
    const b = toBinary(SealedResponsePayloadSchema, inner);
    const f = framePayload(b);
    b.fill(0);
    await hpkeSeal(suite, responseKey.publicKey, sealedResponseInfo(digest), f);
    f.fill(0);
  });
  await time('server: transport encode (response)', size, () =>
    toBinary(SealedExecutionResponseSchema, respWire),
  );
  await time('client: transport decode (response)', size, () =>
    fromBinary(SealedExecutionResponseSchema, respBytes),
  );
  // Whole halves, as the service runs them.
  const sealedReq = await sealRequest(session, request);
  await time('client half: sealRequest', size, () => sealRequest(session, request));
  await time('server half: digest + open + decode + zero', size, async () => {
    sealedRequestDigest({ keyId: kid, suite, enc: received.enc, ciphertext: received.ciphertext });
    const f = await hpkeOpen(server, received.enc, reqInfo, received.ciphertext);
    fromBinary(SealedExecutionPayloadSchema, unframePayload(f));
    f.fill(0);
  });
  const sealedResp = await hpkeSeal(
    suite,
    sealedReq.responseKey.publicKey,
    sealedResponseInfo(sealedReq.digest),
    respFrame,
  );
  const resp = create(SealedExecutionResponseSchema, {
    keyId: kid,
    requestDigest: sealedReq.digest,
    ...sealedResp,
  });
  await time('client half: openSealedResponse', size, () => openSealedResponse(sealedReq, resp));
}

const label = (s: number) => (s >= 1 << 20 ? `${s / (1 << 20)} MiB` : `${s} B`);
console.log(`| stage | ${sizes.map(label).join(' | ')} |`);
console.log(`|---|${sizes.map(() => '---').join('|')}|`);
for (const [name, r] of rows)
  console.log(`| ${name} | ${sizes.map((s) => `${Math.round(r.get(s)!)} µs`).join(' | ')} |`);
console.log(`load after: ${load()}`);
