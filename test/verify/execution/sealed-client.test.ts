/**
 * The transport-agnostic sealing client (src/verify/execution/sealed-client.ts) against a live server:
 * over @connectrpc/connect-web (what a page uses; here on Node's fetch) and over connect-node's gRPC,
 * the same verdict as the typed Node client's executeSealedAndVerify; then each refusal of each step:
 * an attestation for another nonce or from an untrusted root, an expired key, an edited or misdirected
 * answer, a sealed request error.
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { createConnectTransport } from '@connectrpc/connect-web';
import { fromProtoValue } from '../../../src/binding/index.ts';
import { Engine } from '../../../src/engine/index.ts';
import { WASMVMTeeService } from '../../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import { TeeAttester } from '../../../src/server/attester.ts';
import {
  buildExecuteRequest,
  createWasmvmClient,
  executeSealedAndVerify,
} from '../../../src/server/client.ts';
import {
  executeSealed,
  openSealedResponse,
  SealingError,
  sealingNonce,
  sealRequest,
  verifySealedResponse,
  verifySealingAttestation,
} from '../../../src/verify/browser.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { fixture, simulatedAttester, startTestServer, type TestServer } from '../../server/helpers.ts';

const arith = fixture('arith.wasm');
let engine: Engine;
let ts: TestServer;
let web: ReturnType<typeof createClient<typeof WASMVMTeeService>>;
let grpc: ReturnType<typeof createClient<typeof WASMVMTeeService>>;

before(async () => {
  engine = new Engine({ workers: 1 });
  const sim = simulatedAttester();
  ts = await startTestServer({ engine, attester: sim.attester }, {}, sim.cleanup);
  web = createClient(WASMVMTeeService, createConnectTransport({ baseUrl: ts.server.url }));
  grpc = createClient(WASMVMTeeService, createGrpcTransport({ baseUrl: ts.server.url }));
});
after(async () => {
  await ts.close();
  engine.close();
});

const request = (args: string[]) =>
  buildExecuteRequest({ bytecode: arith, fn: 'add', args, nonce: sealingNonce() });

/** Every check as `id outcome`, parts flattened in order. */
function shape(v: Verdict): string[] {
  return [...v.checks.map((c) => `${c.id} ${c.outcome}`), ...(v.parts ?? []).flatMap(shape)];
}

async function attested(client = web) {
  const nonce = sealingNonce();
  const att = await client.getAttestation({ nonce });
  return verifySealingAttestation(att.attestation, nonce, { allowSimulated: true });
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SealingError, String(e));
    return e.code;
  }
  return undefined;
}

test('sealed over connect-web: verified, the outputs, and the Node client verdict check for check', async () => {
  const r = await executeSealed(web, request(['123456789', '987654321']), { allowSimulated: true });
  assert.equal(r.verified, true, JSON.stringify(r.verdict, null, 1));
  assert.deepEqual(
    r.response.result!.outputValues.map((v, i) => fromProtoValue(v, i)),
    [{ type: 'i32', value: 1111111110 }],
  );
  assert.equal(r.claim?.sealedRequestSha256, r.sealedRequestSha256);
  assert.ok(r.sealedBytes.request > 1024 && r.sealedBytes.response > 1024);
  const node = await executeSealedAndVerify(
    createWasmvmClient({ baseUrl: ts.server.url }),
    { bytecode: arith, fn: 'add', args: ['123456789', '987654321'] },
    { allowSimulated: true },
  );
  assert.equal(node.verified, true);
  assert.deepEqual(shape(r.verdict), shape(node.verdict));
  assert.ok(shape(r.verdict).includes('sealed.request pass'));
});

test('sealed steps over connect-node gRPC, one session for two requests, the second by bytecode hash', async () => {
  const session = await attested(grpc);
  assert.equal(session.verdict.ok, true);
  for (const [args, sum, byHash] of [
    [['2', '3'], 5, false],
    [['40', '2'], 42, true],
  ] as const) {
    const sealed = await sealRequest(session, request([...args]), { bytecodeByHash: byHash });
    if (byHash) assert.equal(sealed.message.ciphertext.length < arith.length + 1024, true);
    const response = await openSealedResponse(sealed, await grpc.executeSealed(sealed.message));
    const { verdict, claim } = await verifySealedResponse(sealed, response, { allowSimulated: true });
    assert.equal(verdict.ok, true, JSON.stringify(verdict, null, 1));
    assert.equal(claim?.sealedRequestSha256, sealed.digestHex);
    assert.deepEqual(fromProtoValue(response.result!.outputValues[0]!, 0), { type: 'i32', value: sum });
  }
});

test('attestation refusals: another nonce, an untrusted simulated root, a required TEE kind, not JSON', async () => {
  const nonce = sealingNonce();
  const att = await web.getAttestation({ nonce });
  assert.equal(
    await code(verifySealingAttestation(att.attestation, sealingNonce(), { allowSimulated: true })),
    'ATTESTATION_REJECTED',
  );
  assert.equal(await code(verifySealingAttestation(att.attestation, nonce)), 'ATTESTATION_REJECTED');
  assert.equal(
    await code(verifySealingAttestation(att.attestation, nonce, { allowSimulated: true, teeKind: 'tdx' })),
    'ATTESTATION_REJECTED',
  );
  assert.equal(await code(verifySealingAttestation('{', nonce)), 'ATTESTATION_REJECTED');
  const ok = await verifySealingAttestation(att.attestation, nonce, { allowSimulated: true });
  assert.equal(ok.suite, JSON.parse(att.attestation).seal.suite);
});

test('sealing and opening refusals: expired key, edited answer, another request, a sealed request error', async () => {
  const session = await attested();
  assert.equal(
    await code(sealRequest(session, request(['1', '1']), { now: () => session.notAfter + 1 })),
    'SEAL_KEY_EXPIRED',
  );
  const a = await sealRequest(session, request(['1', '2']));
  const res = await web.executeSealed(a.message);
  const edited = { ...res, ciphertext: res.ciphertext.slice() };
  edited.ciphertext[7]! ^= 1;
  assert.equal(await code(openSealedResponse(a, edited)), 'SEALED_RESPONSE_TAMPERED');
  const b = await sealRequest(session, request(['1', '2']));
  assert.equal(await code(openSealedResponse(b, res)), 'SEALED_RESPONSE_MISMATCH');
  assert.equal((await openSealedResponse(a, res)).result?.status, 'ok');
  // A request the server opens and refuses: the refusal comes back sealed, its code inside.
  const bad = request(['1', '2']);
  bad.execution!.fnName = 'no_such_export';
  const c = await sealRequest(session, bad);
  const err = await openSealedResponse(c, await web.executeSealed(c.message)).catch((e) => e);
  assert.ok(err instanceof SealingError && err.code === 'SEALED_REQUEST_FAILED', String(err));
  assert.match(err.message, /^\[[A-Z_]+\] /);
});

test('a response verified against another sealed request fails its sealed.request check', async () => {
  const session = await attested();
  const a = await sealRequest(session, request(['3', '4']));
  const response = await openSealedResponse(a, await web.executeSealed(a.message));
  const b = await sealRequest(session, request(['3', '4']));
  const { verdict } = await verifySealedResponse(b, response, { allowSimulated: true });
  assert.equal(verdict.ok, false);
  assert.ok(shape(verdict).includes('sealed.request fail'));
});

test('no sealing key attested: SEAL_UNAVAILABLE', async () => {
  const sim = simulatedAttester();
  const attester = new TeeAttester(sim.provider, { sealSuite: false });
  const plain = await startTestServer({ engine, attester }, {}, sim.cleanup);
  try {
    const c = createClient(WASMVMTeeService, createConnectTransport({ baseUrl: plain.server.url }));
    const nonce = sealingNonce();
    const att = await c.getAttestation({ nonce });
    assert.equal(
      await code(verifySealingAttestation(att.attestation, nonce, { allowSimulated: true })),
      'SEAL_UNAVAILABLE',
    );
  } finally {
    await plain.close();
  }
});
