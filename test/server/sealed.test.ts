/**
 * Sealed execution end to end (docs/sealed-execution.md): a recording TCP proxy between client and
 * server captures every byte; no bytecode, input or output appears in it, while the client gets
 * verified results. Then each refusal: wrong key, another request's response, replay, one edited bit,
 * expired key, unverifiable attestation.
 */
import { strict as assert } from 'node:assert';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { Engine } from '../../src/engine/index.ts';
import {
  attestForSealing,
  createWasmvmClient,
  executeAndVerify,
  executeSealedAndVerify,
  type WasmvmClient,
} from '../../src/server/client.ts';
import { fixture, simulatedAttester, startTestServer, type TestServer } from './helpers.ts';

const arith = fixture('arith.wasm');
let engine: Engine;
let ts: TestServer;
let proxy: RecordingProxy;
let client: WasmvmClient;

/** A real TCP proxy that records every byte in both directions. */
class RecordingProxy {
  readonly up: Buffer[] = [];
  readonly down: Buffer[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(target: { host: string; port: number }) {
    this.server = createServer((c) => {
      const s = connect(target.port, target.host);
      this.sockets.add(c).add(s);
      c.on('data', (d) => {
        this.up.push(Buffer.from(d));
        s.write(d);
      });
      s.on('data', (d) => {
        this.down.push(Buffer.from(d));
        c.write(d);
      });
      const end = () => {
        c.destroy();
        s.destroy();
      };
      c.on('close', end).on('error', end);
      s.on('close', end).on('error', end);
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }
  capture(): Buffer {
    return Buffer.concat([...this.up, ...this.down]);
  }
  reset(): void {
    this.up.length = 0;
    this.down.length = 0;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

before(async () => {
  engine = new Engine({ workers: 1 });
  const sim = simulatedAttester();
  ts = await startTestServer({ engine, attester: sim.attester }, {}, sim.cleanup);
  const u = new URL(ts.server.url);
  proxy = new RecordingProxy({ host: u.hostname, port: Number(u.port) });
  await proxy.listen();
  client = createWasmvmClient({ baseUrl: `http://127.0.0.1:${proxy.port}` });
});
after(async () => {
  await proxy.close();
  await ts.close();
  engine.close();
});

test('sealed: verified result, nothing of the code or data in the captured bytes', async () => {
  const session = await attestForSealing(client, { allowSimulated: true });
  proxy.reset();
  const r = await executeSealedAndVerify(
    client,
    { bytecode: arith, fn: 'add', args: ['123456789', '987654321'] },
    { session, allowSimulated: true },
  );
  assert.equal(r.verified, true, JSON.stringify(r.verdict, null, 1));
  assert.deepEqual(r.outputs, [{ type: 'i32', value: 1111111110 }]);
  const cap = proxy.capture();
  assert.ok(cap.length > 0);
  for (const needle of ['123456789', '987654321', '1111111110', 'add'])
    assert.equal(cap.indexOf(needle), -1, `'${needle}' seen by the proxy`);
  assert.equal(cap.indexOf(Buffer.from(arith.subarray(8, 40))), -1, 'bytecode seen by the proxy');
  assert.equal(cap.indexOf(Buffer.from(arith).toString('base64').slice(8, 40)), -1);
});

test('control: the same request through plain Execute is visible to the proxy (the capture works)', async () => {
  proxy.reset();
  const r = await executeAndVerify(
    client,
    { bytecode: arith, fn: 'add', args: ['123456789', '987654321'], bytecodeEncoding: 'raw' },
    { allowSimulated: true },
  );
  assert.equal(r.verified, true);
  const cap = proxy.capture();
  assert.notEqual(cap.indexOf('123456789'), -1);
  assert.notEqual(cap.indexOf(Buffer.from(arith.subarray(8, 40))), -1);
});

function errorCode(e: unknown): string | undefined {
  return ConnectError.from(e).metadata.get('wasmvm-error-code') ?? (e as { code?: string }).code;
}

/** A client whose ExecuteSealed calls go through `wrap`. */
function wrapping(
  wrap: (
    req: Parameters<WasmvmClient['executeSealed']>[0],
    call: (r: Parameters<WasmvmClient['executeSealed']>[0]) => ReturnType<WasmvmClient['executeSealed']>,
  ) => ReturnType<WasmvmClient['executeSealed']>,
): WasmvmClient {
  return {
    ...client,
    executeSealed: (req: Parameters<WasmvmClient['executeSealed']>[0]) =>
      wrap(req, (r) => client.executeSealed(r)),
  } as WasmvmClient;
}

const input = { bytecode: arith, fn: 'add', args: ['2', '3'] };

test('sealed: a client sealing to a key other than the attested one is refused (SEAL_OPEN_FAILED)', async () => {
  const session = await attestForSealing(client, { allowSimulated: true });
  const { generateSealKeyPair } = await import('../../src/binding/index.ts');
  const other = await generateSealKeyPair(session.suite);
  await assert.rejects(
    executeSealedAndVerify(client, input, {
      session: { ...session, publicKey: other.publicKey },
      allowSimulated: true,
    }),
    (e) => errorCode(e) === 'SEAL_OPEN_FAILED' && /sealed to another key/.test(String(e)),
  );
});

test('sealed: a response for another request is refused (SEALED_RESPONSE_MISMATCH)', async () => {
  const session = await attestForSealing(client, { allowSimulated: true });
  let first: Awaited<ReturnType<WasmvmClient['executeSealed']>> | undefined;
  const swapping = wrapping(async (req, call) => {
    const res = await call(req);
    if (!first) {
      first = res;
      return res;
    }
    return first;
  });
  await executeSealedAndVerify(swapping, input, { session, allowSimulated: true });
  await assert.rejects(
    executeSealedAndVerify(swapping, { ...input, args: ['7', '8'] }, { session, allowSimulated: true }),
    (e) => errorCode(e) === 'SEALED_RESPONSE_MISMATCH' && /another request/.test(String(e)),
  );
});

test('sealed: a replayed request is refused (SEAL_REPLAY)', async () => {
  const session = await attestForSealing(client, { allowSimulated: true });
  let seen: Parameters<WasmvmClient['executeSealed']>[0] | undefined;
  const recording = wrapping((req, call) => {
    seen = req;
    return call(req);
  });
  const r = await executeSealedAndVerify(recording, input, { session, allowSimulated: true });
  assert.equal(r.verified, true);
  await assert.rejects(
    client.executeSealed(seen!),
    (e) => errorCode(e) === 'SEAL_REPLAY' && ConnectError.from(e).code === Code.AlreadyExists,
  );
});

test('sealed: one edited bit fails, both ways (SEAL_OPEN_FAILED, SEALED_RESPONSE_TAMPERED)', async () => {
  const session = await attestForSealing(client, { allowSimulated: true });
  const editRequest = wrapping((req, call) => {
    const ct = req.ciphertext as Uint8Array;
    ct[ct.length >> 1]! ^= 0x01;
    return call(req);
  });
  await assert.rejects(
    executeSealedAndVerify(editRequest, input, { session, allowSimulated: true }),
    (e) => errorCode(e) === 'SEAL_OPEN_FAILED',
  );
  const editResponse = wrapping(async (req, call) => {
    const res = await call(req);
    res.ciphertext[res.ciphertext.length >> 1]! ^= 0x80;
    return res;
  });
  await assert.rejects(
    executeSealedAndVerify(editResponse, input, { session, allowSimulated: true }),
    (e) => errorCode(e) === 'SEALED_RESPONSE_TAMPERED' && /edited in transit/.test(String(e)),
  );
});

test('sealed: nothing is sent unless the attestation verifies (ATTESTATION_REJECTED)', async () => {
  proxy.reset();
  await assert.rejects(
    executeSealedAndVerify(client, input, {}),
    (e) => errorCode(e) === 'ATTESTATION_REJECTED' && /refusing to seal/.test(String(e)),
  );
  assert.equal(proxy.capture().indexOf('ExecuteSealed'), -1, 'ExecuteSealed was called');
  await assert.rejects(
    executeSealedAndVerify(client, input, { allowSimulated: true, teeKind: 'tdx' }),
    (e) => errorCode(e) === 'ATTESTATION_REJECTED' && /requires tdx/.test(String(e)),
  );
});

test('sealed: request errors come back sealed, only the code in clear', async () => {
  const session = await attestForSealing(client, { allowSimulated: true });
  let clearCode = '';
  const recording = wrapping(async (req, call) => {
    const res = await call(req);
    clearCode = res.errorCode;
    return res;
  });
  await assert.rejects(
    executeSealedAndVerify(
      recording,
      { ...input, fn: 'secret_function_name' },
      { session, allowSimulated: true },
    ),
    (e) => errorCode(e) === 'SEALED_REQUEST_FAILED' && /FUNCTION_NOT_FOUND/.test(String(e)),
  );
  assert.equal(clearCode, 'FUNCTION_NOT_FOUND');
  assert.equal(
    ts.logs.some((l) => JSON.stringify(l).includes('secret_function_name')),
    false,
  );
});

test('sealed: bytecode sent once, then by hash; unknown hash is BYTECODE_NOT_CACHED', async () => {
  const session = await attestForSealing(client, { allowSimulated: true });
  await executeSealedAndVerify(client, input, { session, allowSimulated: true });
  const r = await executeSealedAndVerify(
    client,
    { ...input, args: ['40', '2'] },
    { session, allowSimulated: true, bytecodeByHash: true },
  );
  assert.equal(r.verified, true, JSON.stringify(r.verdict));
  assert.deepEqual(r.outputs, [{ type: 'i32', value: 42 }]);
  const other = new Uint8Array(arith);
  other[other.length - 1]! ^= 1;
  await assert.rejects(
    executeSealedAndVerify(
      client,
      { ...input, bytecode: other },
      { session, allowSimulated: true, bytecodeByHash: true },
    ),
    (e) => errorCode(e) === 'SEALED_REQUEST_FAILED' && /BYTECODE_NOT_CACHED/.test(String(e)),
  );
});

test('sealed: the metrics count sealed runs without content', async () => {
  const text = await ts.server.metrics.render();
  assert.match(text, /wasmvm_sealed_executions_total\{outcome="sealed"\} \d+/);
  assert.match(text, /wasmvm_sealed_executions_total\{outcome="SEAL_REPLAY"\} 1/);
  assert.equal(/secret_function_name|123456789/.test(text), false);
});
