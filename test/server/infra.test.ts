/**
 * The RPC layer without the engine: protocols, reflection, health, metrics, request validation,
 * limits (message size, concurrency), deadlines reaching the engine, graceful shutdown.
 * The engine is a gate (GateEngine) so the tests control when executions finish; attestation is
 * the real Attester over the simulated TEE. End-to-end with the real engine: e2e.test.ts.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Health, HealthCheckResponse_ServingStatus as S } from '../../src/gen/grpc/health/v1/health_pb.ts';
import {
  ServerReflection as ReflectionV1,
  type ServerReflectionResponse,
} from '../../src/gen/grpc/reflection/v1/reflection_pb.ts';
import { ServerReflection as ReflectionV1Alpha } from '../../src/gen/grpc/reflection/v1alpha/reflection_pb.ts';
import { ErrorDetailSchema } from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import { createWasmvmClient, PROTOCOLS, type WasmvmClient } from '../../src/server/client.ts';
import { GateEngine, simulatedAttester, startTestServer, type TestServer } from './helpers.ts';

const WASM_B64 = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]).toString('base64');

function codeOf(e: unknown): { code: Code; detail: string | undefined; header: string | null } {
  assert.ok(e instanceof ConnectError, `expected a ConnectError, got ${String(e)}`);
  const details = e.findDetails(ErrorDetailSchema);
  return { code: e.code, detail: details[0]?.code, header: e.metadata.get('wasmvm-error-code') };
}

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected the call to fail');
}

describe('server RPC layer', () => {
  let ts: TestServer;
  let engine: GateEngine;
  let cleanup: () => void;
  before(async () => {
    engine = new GateEngine();
    engine.open = true;
    const sim = simulatedAttester();
    cleanup = sim.cleanup;
    ts = await startTestServer(
      { engine, attester: sim.attester },
      { maxConcurrency: 2, maxQueue: 3, maxMessageBytes: 64 * 1024 },
    );
  });
  after(async () => {
    await ts.close();
    cleanup();
  });

  for (const protocol of PROTOCOLS) {
    it(`Echo and GetServerInfo over ${protocol}`, async () => {
      const c = createWasmvmClient({ baseUrl: ts.server.url, protocol });
      const r = await c.echo({ payload: new Uint8Array([1, 2, 3, 0xff]) });
      assert.deepEqual([...r.payload], [1, 2, 3, 0xff]);
      const info = await c.getServerInfo({});
      assert.equal(info.teeKind, 'sev-snp');
      assert.equal(info.simulated, true);
      assert.equal(info.limits?.maxConcurrency, 2);
      assert.equal(info.limits?.maxMessageBytes, 65536n);
      assert.equal(info.modes.length, 3);
    });
  }

  it('serves Connect JSON to a plain HTTP/1.1 POST (curl-able)', async () => {
    const res = await fetch(`${ts.server.url}/wasm.WASMVMTeeService/Echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: Buffer.from('hi').toString('base64') }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { payload: Buffer.from('hi').toString('base64') });
    const bad = await fetch(`${ts.server.url}/wasm.WASMVMTeeService/Execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ execution: { fnName: 'f', bytecode: 'not base64!' } }),
    });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { code: string; message: string };
    assert.equal(body.code, 'invalid_argument');
    assert.match(body.message, /^\[INVALID_BASE64\]/);
    assert.equal(bad.headers.get('wasmvm-error-code'), 'INVALID_BASE64');
  });

  it('health Check (server and per service) and unknown service → NOT_FOUND', async () => {
    const h = createClient(Health, createGrpcTransport({ baseUrl: ts.server.url }));
    assert.equal((await h.check({})).status, S.SERVING);
    assert.equal((await h.check({ service: 'wasm.WASMVMTeeService' })).status, S.SERVING);
    const e = await rejects(h.check({ service: 'no.Such' }));
    assert.equal((e as ConnectError).code, Code.NotFound);
  });

  it('health Watch streams the current status then changes', async () => {
    const h = createClient(Health, createGrpcTransport({ baseUrl: ts.server.url }));
    const ac = new AbortController();
    const it_ = h.watch({ service: 'wasm.WASMVMTeeService' }, { signal: ac.signal })[Symbol.asyncIterator]();
    assert.equal((await it_.next()).value?.status, S.SERVING);
    ts.server.health.set('wasm.WASMVMTeeService', S.NOT_SERVING);
    assert.equal((await it_.next()).value?.status, S.NOT_SERVING);
    ts.server.health.set('wasm.WASMVMTeeService', S.SERVING);
    assert.equal((await it_.next()).value?.status, S.SERVING);
    ac.abort();
    await it_.return?.();
  });

  for (const [name, svc] of [
    ['v1', ReflectionV1],
    ['v1alpha', ReflectionV1Alpha],
  ] as const) {
    it(`reflection ${name}: lists services, returns the file with WASMVMTeeService and by name`, async () => {
      const r = createClient(svc as typeof ReflectionV1, createGrpcTransport({ baseUrl: ts.server.url }));
      async function* reqs() {
        yield { messageRequest: { case: 'listServices' as const, value: '*' } };
        yield { messageRequest: { case: 'fileContainingSymbol' as const, value: 'wasm.WASMVMTeeService' } };
        yield { messageRequest: { case: 'fileByFilename' as const, value: 'grpc/health/v1/health.proto' } };
        yield {
          messageRequest: { case: 'fileContainingSymbol' as const, value: 'wasm.WASMVMTeeService.Execute' },
        };
        yield { messageRequest: { case: 'fileContainingSymbol' as const, value: 'no.such.Symbol' } };
      }
      const out: ServerReflectionResponse[] = [];
      for await (const res of r.serverReflectionInfo(reqs())) out.push(res);
      assert.equal(out.length, 5);
      const list = out[0]!.messageResponse;
      assert.equal(list.case, 'listServicesResponse');
      const names = list.case === 'listServicesResponse' ? list.value.service.map((s) => s.name).sort() : [];
      assert.deepEqual(names, [
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
        'wasm.WASMVMTeeService',
      ]);
      for (const i of [1, 3]) {
        const fd = out[i]!.messageResponse;
        assert.equal(fd.case, 'fileDescriptorResponse');
        const files =
          fd.case === 'fileDescriptorResponse'
            ? fd.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b))
            : [];
        assert.equal(files[0]!.name, 'wasmvm/v1/wasmvm.proto');
        assert.equal(files[0]!.package, 'wasm');
        const svcDesc = files[0]!.service.find((s) => s.name === 'WASMVMTeeService');
        assert.ok(svcDesc);
        assert.deepEqual(
          svcDesc.method.map((m) => m.name),
          ['Execute', 'GetAttestation', 'GetServerInfo', 'Echo', 'ExecuteSealed'],
        );
        const exec = svcDesc.method[0]!;
        assert.equal(exec.inputType, '.wasm.WASMVMExecutionRequest');
        assert.equal(exec.outputType, '.wasm.WASMVMExecutionResponse');
      }
      const byName = out[2]!.messageResponse;
      assert.equal(byName.case, 'fileDescriptorResponse');
      const miss = out[4]!.messageResponse;
      assert.equal(miss.case, 'errorResponse');
      assert.equal(miss.case === 'errorResponse' && miss.value.errorCode, Code.NotFound);
    });
  }

  describe('request validation (each with its detail code)', () => {
    let c: WasmvmClient;
    before(() => {
      c = createWasmvmClient({ baseUrl: ts.server.url, protocol: 'grpc' });
    });
    const cases: Array<[string, Record<string, unknown>, Code, string]> = [
      ['no execution', {}, Code.InvalidArgument, 'MISSING_EXECUTION'],
      ['no function', { execution: { bytecode: WASM_B64 } }, Code.InvalidArgument, 'MISSING_FUNCTION'],
      [
        'malformed base64',
        { execution: { fnName: 'f', bytecode: 'AAA*' } },
        Code.InvalidArgument,
        'INVALID_BASE64',
      ],
      [
        'base64 without padding',
        { execution: { fnName: 'f', bytecode: 'AGFzbQ' } },
        Code.InvalidArgument,
        'INVALID_BASE64',
      ],
      ['no bytecode', { execution: { fnName: 'f' } }, Code.InvalidArgument, 'MISSING_BYTECODE'],
      [
        'both bytecode forms',
        { execution: { fnName: 'f', bytecode: WASM_B64, bytecodeRaw: new Uint8Array([0]) } },
        Code.InvalidArgument,
        'BYTECODE_CONFLICT',
      ],
      [
        'both input forms',
        {
          execution: {
            fnName: 'f',
            bytecode: WASM_B64,
            inputs: ['1'],
            typedInputs: [{ type: 1, value: { case: 'int32Value', value: 1 } }],
          },
        },
        Code.InvalidArgument,
        'INPUTS_CONFLICT',
      ],
      [
        'typed input without a value',
        { execution: { fnName: 'f', bytecode: WASM_B64, typedInputs: [{ type: 1 }] } },
        Code.InvalidArgument,
        'INVALID_VALUE',
      ],
      [
        'typed field and bits that disagree',
        {
          execution: {
            fnName: 'f',
            bytecode: WASM_B64,
            typedInputs: [{ type: 1, value: { case: 'int32Value', value: 1 }, bits: 2n }],
          },
        },
        Code.InvalidArgument,
        'INVALID_VALUE',
      ],
      [
        'gas limit 0 with use_gas_limit',
        {
          execution: { fnName: 'f', bytecode: WASM_B64 },
          runtimeConfig: { gasLimit: { useGasLimit: true, limit: 0n } },
        },
        Code.InvalidArgument,
        'INVALID_GAS_LIMIT',
      ],
      [
        'unknown mode',
        { execution: { fnName: 'f', bytecode: WASM_B64 }, runtimeConfig: { mode: 7 } },
        Code.InvalidArgument,
        'INVALID_MODE',
      ],
      [
        'nonce too long',
        { execution: { fnName: 'f', bytecode: WASM_B64, nonce: new Uint8Array(65) } },
        Code.InvalidArgument,
        'INVALID_NONCE',
      ],
    ];
    for (const [name, req, code, detail] of cases) {
      it(name, async () => {
        const before_ = engine.seen.length;
        const e = codeOf(await rejects(c.execute(req as never)));
        assert.equal(e.code, code);
        assert.equal(e.detail, detail);
        assert.equal(e.header, detail);
        assert.equal(engine.seen.length, before_, 'rejected before reaching the engine');
      });
    }

    it('bytecode over the limit → RESOURCE_EXHAUSTED BYTECODE_TOO_LARGE', async () => {
      // 40 KiB fits in the 64 KiB message but the server's bytecode limit is lowered below it.
      const s2 = await startTestServer(
        { engine, attester: simulatedAttester().attester },
        { maxBytecodeBytes: 1024 },
      );
      try {
        const c2 = createWasmvmClient({ baseUrl: s2.server.url });
        const e = codeOf(
          await rejects(c2.execute({ execution: { fnName: 'f', bytecodeRaw: new Uint8Array(40 * 1024) } })),
        );
        assert.equal(e.code, Code.ResourceExhausted);
        assert.equal(e.detail, 'BYTECODE_TOO_LARGE');
      } finally {
        await s2.close();
      }
    });

    for (const protocol of PROTOCOLS) {
      it(`10× the message size → RESOURCE_EXHAUSTED over ${protocol}, server still healthy`, async () => {
        const cp = createWasmvmClient({ baseUrl: ts.server.url, protocol });
        const big = new Uint8Array(10 * 64 * 1024);
        const e = await rejects(cp.execute({ execution: { fnName: 'f', bytecodeRaw: big } }));
        assert.ok(e instanceof ConnectError);
        assert.equal(e.code, Code.ResourceExhausted);
        const h = createClient(Health, createGrpcTransport({ baseUrl: ts.server.url }));
        assert.equal((await h.check({})).status, S.SERVING);
      });
    }
  });

  it('metrics: Prometheus text with requests by method+code, latency, in-flight', async () => {
    const res = await fetch(`${ts.server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /wasmvm_requests_total\{method="wasm.WASMVMTeeService\/Echo",code="OK"\} [1-9]/);
    assert.match(
      text,
      /wasmvm_requests_total\{method="wasm.WASMVMTeeService\/Execute",code="INVALID_ARGUMENT"\} [1-9]/,
    );
    // label order is the client library's (Prometheus does not care): look for both labels
    assert.match(
      text,
      /wasmvm_request_duration_seconds_bucket\{(?=[^}]*method="wasm.WASMVMTeeService\/Echo")(?=[^}]*le="\+Inf")[^}]*\} [1-9]/,
    );
    assert.match(text, /# TYPE wasmvm_requests_in_flight gauge/);
    for (const h of ['attestation_duration_seconds', 'queue_wait_seconds', 'execute_duration_seconds'])
      assert.match(text, new RegExp(`# TYPE wasmvm_${h} histogram`));
    // Node's default process metrics
    for (const m of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ])
      assert.match(text, new RegExp(`^${m} [0-9.e+-]+$`, 'm'), m);
  });

  it('logs one JSON line per request without guest data', async () => {
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    await c.execute({
      execution: { fnName: 'secretfn', bytecode: WASM_B64, inputs: ['123456789'], requestId: 'log-1' },
    });
    const line = ts.logs.find((l) => l.requestId === 'log-1');
    assert.ok(line, 'a line for the request');
    assert.equal(line.method, 'wasm.WASMVMTeeService/Execute');
    assert.equal(line.code, 'OK');
    assert.equal(typeof line.durationMs, 'number');
    const all = JSON.stringify(ts.logs);
    assert.ok(
      !all.includes('secretfn') && !all.includes('123456789') && !all.includes(WASM_B64),
      'no guest data logged',
    );
  });

  it('generates a request id when missing and returns it', async () => {
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const r = await c.execute({ execution: { fnName: 'f', bytecode: WASM_B64 } });
    assert.match(r.requestId, /^[0-9a-f-]{36}$/);
    const r2 = await c.execute({ execution: { fnName: 'f', bytecode: WASM_B64, requestId: 'mine' } });
    assert.equal(r2.requestId, 'mine');
  });
});

describe('server limits, deadlines and shutdown', () => {
  it('concurrency: max running + queue, the rest RESOURCE_EXHAUSTED TOO_BUSY; health answers throughout', async () => {
    const engine = new GateEngine();
    const sim = simulatedAttester();
    const ts = await startTestServer(
      { engine, attester: sim.attester },
      // one client here: its quota set to the whole server, to test the global limits
      { maxConcurrency: 2, maxQueue: 3, perClient: { maxConcurrency: 2, maxQueue: 3 } },
      sim.cleanup,
    );
    try {
      const c = createWasmvmClient({ baseUrl: ts.server.url });
      const calls = Array.from({ length: 10 }, (_, i) =>
        c.execute({ execution: { fnName: 'f', bytecode: WASM_B64, requestId: `c${i}` } }).then(
          (r) => ({ ok: true as const, r }),
          (e: unknown) => ({ ok: false as const, e }),
        ),
      );
      // wait until 2 run and 3 queue
      const t0 = Date.now();
      while (engine.waiting < 2 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
      const h = createClient(Health, createGrpcTransport({ baseUrl: ts.server.url }));
      assert.equal((await h.check({})).status, S.SERVING);
      await new Promise((r) => setTimeout(r, 100));
      engine.release();
      const results = await Promise.all(calls);
      const ok = results.filter((r) => r.ok);
      const busy = results.filter((r) => !r.ok).map((r) => codeOf((r as { e: unknown }).e));
      assert.equal(ok.length, 5, 'running + queued succeed');
      assert.equal(busy.length, 5);
      for (const b of busy) {
        assert.equal(b.code, Code.ResourceExhausted);
        assert.equal(b.detail, 'TOO_BUSY');
      }
      const m = await (await fetch(`${ts.server.url}/metrics`)).text();
      assert.match(m, /wasmvm_rejected_total\{reason="concurrency"\} 5/);
    } finally {
      await ts.close();
    }
  });

  it('a client deadline aborts the execution (AbortSignal reaches the engine) → DEADLINE_EXCEEDED', async () => {
    const engine = new GateEngine();
    const sim = simulatedAttester();
    const ts = await startTestServer({ engine, attester: sim.attester }, {}, sim.cleanup);
    try {
      const c = createWasmvmClient({ baseUrl: ts.server.url });
      const t0 = Date.now();
      const e = await rejects(
        c.execute({ execution: { fnName: 'f', bytecode: WASM_B64 } }, { timeoutMs: 300 }),
      );
      assert.equal((e as ConnectError).code, Code.DeadlineExceeded);
      assert.ok(Date.now() - t0 < 3000);
      const t1 = Date.now();
      while (engine.aborted.length === 0 && Date.now() - t1 < 3000)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(engine.aborted.length, 1, 'the engine saw the abort');
    } finally {
      engine.release();
      await ts.close();
    }
  });

  it('graceful shutdown: NOT_SERVING, in-flight calls finish, new calls refused, engine closed', async () => {
    const engine = new GateEngine();
    const sim = simulatedAttester();
    const ts = await startTestServer({ engine, attester: sim.attester }, {}, sim.cleanup);
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const inflight = c.execute({ execution: { fnName: 'f', bytecode: WASM_B64 } });
    const t0 = Date.now();
    while (engine.waiting < 1 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    const closing = ts.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ts.server.health.get(''), S.NOT_SERVING);
    assert.equal(engine.closed, false, 'engine stays open while draining');
    engine.release();
    const r = await inflight;
    assert.equal(r.result?.outputValues[0]?.value.value, 42);
    await closing;
    assert.equal(engine.closed, true);
    const e = await rejects(
      createWasmvmClient({ baseUrl: ts.server.url }).execute({
        execution: { fnName: 'f', bytecode: WASM_B64 },
      }),
    );
    assert.ok(e instanceof ConnectError);
    assert.equal(e.code, Code.Unavailable);
  });

  it('shutdown drain timeout: a stuck execution is aborted and the server still stops', async () => {
    const engine = new GateEngine();
    const sim = simulatedAttester();
    const ts = await startTestServer(
      { engine, attester: sim.attester },
      { shutdownTimeoutMs: 300 },
      sim.cleanup,
    );
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const stuck = c.execute({ execution: { fnName: 'f', bytecode: WASM_B64 } }).then(
      () => assert.fail('the stuck call cannot succeed'),
      (e: unknown) => e,
    );
    const t0 = Date.now();
    while (engine.waiting < 1 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    const t1 = Date.now();
    await ts.close();
    assert.ok(Date.now() - t1 < 3000, 'closed soon after the drain timeout');
    assert.equal(engine.aborted.length, 1, 'the execution was aborted');
    const e = await stuck;
    assert.ok(e instanceof ConnectError);
    assert.ok([Code.Unavailable, Code.Canceled].includes(e.code), `code ${e.code}`);
    assert.ok(ts.logs.some((l) => l.msg === 'drain timeout: cutting remaining calls'));
  });
});
