/**
 * End to end with the real engine and the real Attester over the simulated TEE, in-process on an
 * ephemeral port: every protocol with the generated client, Connect JSON with plain fetch, both
 * attestation modes verified by src/verify, GetAttestation, traps, and the abuse cases (each with its
 * documented code while health checks keep answering).
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  claimFromJson,
  parseEnvelope,
  reportDataFor,
  type SessionKeyJson,
  sessionKeyDataFromJson,
  sessionKeyReportData,
} from '../../src/binding/index.ts';
import { Engine } from '../../src/engine/index.ts';
import { Health, HealthCheckResponse_ServingStatus as S } from '../../src/gen/grpc/health/v1/health_pb.ts';
import { ErrorDetailSchema, ValueType } from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import {
  createWasmvmClient,
  executeAndVerify,
  PROTOCOLS,
  type WasmvmClient,
} from '../../src/server/client.ts';
import { verifySessionAttestation } from '../../src/verify/index.ts';
import { fixture, simulatedAttester, startTestServer, type TestServer } from './helpers.ts';

const arith = fixture('arith.wasm');
const ARITH_B64 = Buffer.from(arith).toString('base64');

function detail(e: unknown): { code: Code; detail: string | undefined } {
  assert.ok(e instanceof ConnectError, `expected a ConnectError, got ${String(e)}`);
  return { code: e.code, detail: e.findDetails(ErrorDetailSchema)[0]?.code };
}

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected the call to fail');
}

describe('server end to end (real engine, simulated TEE)', () => {
  let ts: TestServer;
  let engine: Engine;
  let client: WasmvmClient;
  before(async () => {
    engine = new Engine({ workers: 2 });
    const sim = simulatedAttester();
    ts = await startTestServer(
      { engine, attester: sim.attester },
      { maxConcurrency: 8, maxQueue: 64, timeoutMs: 2000, maxMessageBytes: 1024 * 1024 },
      sim.cleanup,
    );
    client = createWasmvmClient({ baseUrl: ts.server.url });
    // warm the compile cache and the session key
    await client.execute({ execution: { bytecode: ARITH_B64, fnName: 'add', inputs: ['1', '1'] } });
  });
  after(async () => {
    await ts.close();
  });

  for (const protocol of PROTOCOLS) {
    for (const mode of ['session-key', 'per-request'] as const) {
      it(`Execute over ${protocol} (${mode}), verified against the request`, async () => {
        const c = createWasmvmClient({ baseUrl: ts.server.url, protocol });
        const r = await executeAndVerify(
          c,
          { bytecode: arith, fn: 'add', args: ['2', '40'], attestationMode: mode },
          { allowSimulated: true },
        );
        assert.equal(r.status, 'ok');
        assert.deepEqual(r.outputs, [{ type: 'i32', value: 42 }]);
        assert.ok(r.verdict.ok, JSON.stringify(r.verdict, null, 1));
        assert.equal(r.envelope?.mode, mode);
        assert.equal(r.response.result?.simulated, true);
        const v = r.response.result!.outputValues[0]!;
        assert.equal(v.type, ValueType.INT32);
        assert.equal(v.value.case, 'int32Value');
        assert.equal(v.value.value, 42);
      });
    }
  }

  it('simulated evidence is rejected unless the client allows it', async () => {
    const r = await executeAndVerify(client, { bytecode: arith, fn: 'add', args: ['1', '2'] });
    assert.deepEqual(r.outputs, [{ type: 'i32', value: 3 }]);
    assert.equal(r.verdict.ok, false);
  });

  it('a tampered response fails verification (outputs no longer match the claim)', async () => {
    const c = createWasmvmClient({
      baseUrl: ts.server.url,
      interceptors: [
        (next) => async (req) => {
          const res = await next(req);
          if (!res.stream && req.method.name === 'Execute') {
            const m = res.message as {
              result?: { outputValues: { value: { value: unknown }; bits?: bigint }[] };
            };
            const v = m.result!.outputValues[0]!;
            v.value.value = 43;
            v.bits = 43n;
          }
          return res;
        },
      ],
    });
    const r = await executeAndVerify(
      c,
      { bytecode: arith, fn: 'add', args: ['2', '40'] },
      { allowSimulated: true },
    );
    assert.equal(r.verdict.ok, false);
  });

  it('Connect JSON with plain fetch: the original request shape (base64 bytecode, string inputs, mode, gas)', async () => {
    const res = await fetch(`${ts.server.url}/wasm.WASMVMTeeService/Execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        execution: { version: '1', requestId: 'json-1', bytecode: ARITH_B64, fnName: 'fib', inputs: ['90'] },
        runtimeConfig: { mode: 'WASMVM_MODE_SINGLEPASS' },
      }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      requestId: string;
      result: {
        outputValues: unknown[];
        reportData: string;
        attestation: string;
        inputs: string[];
        status: string;
      };
    };
    assert.equal(body.requestId, 'json-1');
    assert.deepEqual(body.result.inputs, ['90']);
    assert.equal(body.result.status, 'ok');
    assert.deepEqual(body.result.outputValues, [
      { type: 'VALUE_TYPE_INT64', int64Value: '2880067194370816120', bits: '2880067194370816120' },
    ]);
    assert.match(body.result.reportData, /^[0-9a-f]{128}$/);
    const env = parseEnvelope(body.result.attestation);
    const claim = claimFromJson(env.claim);
    assert.equal(Buffer.from(reportDataFor(claim)).toString('hex'), body.result.reportData);
    assert.equal(claim.mode, 'singlepass');
    assert.equal(claim.bytecodeSha256, createHash('sha256').update(arith).digest('hex'));
  });

  it('typed inputs keep exact float bits (NaN payload through f32.neg)', async () => {
    const r = await executeAndVerify(
      client,
      { bytecode: arith, fn: 'negf32', args: [{ type: 'f32', bits: 0x7fa00001 }] },
      { allowSimulated: true },
    );
    assert.deepEqual(r.outputs, [{ type: 'f32', bits: 0xffa00001 }]);
    assert.ok(r.verdict.ok);
    const d = await executeAndVerify(
      client,
      {
        bytecode: arith,
        fn: 'mulf64',
        args: [
          { type: 'f64', bits: 0x4004000000000000n },
          { type: 'f64', bits: 0x4000000000000000n },
        ],
        bytecodeEncoding: 'raw',
      },
      { allowSimulated: true },
    );
    assert.deepEqual(d.outputs, [{ type: 'f64', bits: 0x4014000000000000n }]); // 2.5 * 2 = 5
    assert.ok(d.verdict.ok);
  });

  it('traps are attested results: unreachable, divide by zero', async () => {
    const r = await executeAndVerify(client, { bytecode: arith, fn: 'boom' }, { allowSimulated: true });
    assert.equal(r.status, 'unreachable');
    assert.ok(r.verdict.ok);
    const d = await executeAndVerify(
      client,
      { bytecode: arith, fn: 'divs', args: ['1', '0'] },
      { allowSimulated: true },
    );
    assert.equal(d.status, 'integer_divide_by_zero');
    assert.ok(d.response.result?.trapMessage);
  });

  it('gas: metered execution reports gas used (attested); a low limit → out_of_gas', async () => {
    const r = await executeAndVerify(
      client,
      { bytecode: arith, fn: 'fib', args: ['20'], gasLimit: 1_000_000n },
      { allowSimulated: true },
    );
    assert.equal(r.status, 'ok');
    assert.deepEqual(r.outputs, [{ type: 'i64', value: 6765n }]);
    assert.ok(r.gasUsed !== undefined && r.gasUsed > 0n);
    assert.equal(r.claim?.gasUsed, r.gasUsed);
    assert.ok(r.response.result?.costTableVersion);
    assert.ok(r.verdict.ok);
    const low = await executeAndVerify(
      client,
      { bytecode: arith, fn: 'fib', args: ['20'], gasLimit: 10n },
      { allowSimulated: true },
    );
    assert.equal(low.status, 'out_of_gas');
    assert.ok(low.verdict.ok);
  });

  it('GPU evidence: attached when the server has a GPU, else FAILED_PRECONDITION GPU_UNAVAILABLE', async () => {
    try {
      const r = await client.execute({
        execution: { bytecode: ARITH_B64, fnName: 'add', inputs: ['1', '2'] },
        runtimeConfig: { includeGpuEvidence: true },
      });
      assert.ok(r.result?.evidence?.gpuEvidence, 'GPU evidence attached');
    } catch (e) {
      assert.deepEqual(detail(e), { code: Code.FailedPrecondition, detail: 'GPU_UNAVAILABLE' });
    }
  });

  it('GetAttestation: session key evidence bound to the client nonce', async () => {
    const nonce = new Uint8Array(randomBytes(32));
    const r = await client.getAttestation({ nonce });
    const session = JSON.parse(r.attestation) as SessionKeyJson;
    assert.equal(session.nonce, Buffer.from(nonce).toString('hex'));
    const want = sessionKeyReportData(sessionKeyDataFromJson(session), nonce);
    // SEV-SNP ATTESTATION_REPORT: REPORT_DATA at offset 0x50, 64 bytes.
    const report = r.evidence!.report;
    assert.equal(report.length, 1184);
    assert.deepEqual([...report.subarray(0x50, 0x90)], [...want]);
    assert.equal(r.simulated, true);
    const ok = await verifySessionAttestation(r.attestation, { nonce, allowSimulated: true });
    assert.ok(ok.ok, JSON.stringify(ok));
    const wrongNonce = await verifySessionAttestation(r.attestation, {
      nonce: new Uint8Array(32),
      allowSimulated: true,
    });
    assert.equal(wrongNonce.ok, false);
    const e = detail(await rejects(client.getAttestation({ nonce: new Uint8Array(0) })));
    assert.equal(e.detail, 'INVALID_NONCE');
    const info = await client.getServerInfo({});
    assert.equal(info.sessionPublicKey, Buffer.from(session.spki, 'base64').toString('hex'));
  });

  describe('abuse: each gets its documented code, the server keeps answering health checks', () => {
    const health = () => createClient(Health, createGrpcTransport({ baseUrl: ts.server.url })).check({});
    const ex = (fnName: string, inputs: string[] = [], bytecode = ARITH_B64) =>
      client.execute({ execution: { bytecode, fnName, inputs } });

    it('malformed base64 → INVALID_ARGUMENT INVALID_BASE64', async () => {
      const e = detail(await rejects(ex('add', ['1', '2'], `${ARITH_B64.slice(0, -4)}@@@@`)));
      assert.deepEqual(e, { code: Code.InvalidArgument, detail: 'INVALID_BASE64' });
      assert.equal((await health()).status, S.SERVING);
    });
    it('not Wasm → INVALID_ARGUMENT INVALID_BYTECODE', async () => {
      const e = detail(await rejects(ex('add', [], Buffer.from('hello world!').toString('base64'))));
      assert.deepEqual(e, { code: Code.InvalidArgument, detail: 'INVALID_BYTECODE' });
    });
    it('unknown function → NOT_FOUND FUNCTION_NOT_FOUND', async () => {
      assert.deepEqual(detail(await rejects(ex('nope'))), {
        code: Code.NotFound,
        detail: 'FUNCTION_NOT_FOUND',
      });
    });
    it('export that is not a function → INVALID_ARGUMENT NOT_A_FUNCTION', async () => {
      assert.deepEqual(detail(await rejects(ex('g'))), {
        code: Code.InvalidArgument,
        detail: 'NOT_A_FUNCTION',
      });
    });
    it('wrong arity → INVALID_ARGUMENT ARITY_MISMATCH', async () => {
      assert.deepEqual(detail(await rejects(ex('add', ['1']))), {
        code: Code.InvalidArgument,
        detail: 'ARITY_MISMATCH',
      });
    });
    it('unparsable input → INVALID_ARGUMENT INVALID_ARGUMENT', async () => {
      assert.deepEqual(detail(await rejects(ex('add', ['one', '2']))), {
        code: Code.InvalidArgument,
        detail: 'INVALID_ARGUMENT',
      });
    });
    it('endless loop with a client deadline → DEADLINE_EXCEEDED, then the server still works', async () => {
      const t0 = Date.now();
      const e = await rejects(
        client.execute({ execution: { bytecode: ARITH_B64, fnName: 'spin' } }, { timeoutMs: 400 }),
      );
      assert.equal((e as ConnectError).code, Code.DeadlineExceeded);
      assert.ok(Date.now() - t0 < 1900, 'stopped by the client deadline, before the server deadline');
      assert.equal((await health()).status, S.SERVING);
      const r = await ex('add', ['5', '6']);
      assert.equal(r.result?.outputValues[0]?.value.value, 11);
    });
    it('endless loop without a client deadline → attested status deadline_exceeded (server deadline)', async () => {
      const r = await executeAndVerify(client, { bytecode: arith, fn: 'spin' }, { allowSimulated: true });
      assert.equal(r.status, 'deadline_exceeded');
      assert.ok(r.verdict.ok);
    });
    it('memory bomb (4 GiB declared) → RESOURCE_EXHAUSTED MEMORY_LIMIT', async () => {
      const e = detail(await rejects(ex('run', [], Buffer.from(fixture('membomb.wasm')).toString('base64'))));
      assert.deepEqual(e, { code: Code.ResourceExhausted, detail: 'MEMORY_LIMIT' });
      assert.equal((await health()).status, S.SERVING);
    });
    it('memory growth loop is capped (growth fails inside the guest), server unharmed', async () => {
      const r = await ex('run', [], Buffer.from(fixture('grow.wasm')).toString('base64'));
      assert.equal(r.result?.status, 'ok');
      const pages = r.result?.outputValues[0]?.value.value as number;
      assert.ok(pages > 1 && pages <= 65536);
    });
    it('10× the message size → RESOURCE_EXHAUSTED', async () => {
      const e = await rejects(
        client.execute({ execution: { fnName: 'add', bytecodeRaw: new Uint8Array(10 * 1024 * 1024) } }),
      );
      assert.equal((e as ConnectError).code, Code.ResourceExhausted);
      assert.equal((await health()).status, S.SERVING);
    });
    it('500 concurrent requests from one client: each OK or RESOURCE_EXHAUSTED CLIENT_QUOTA/TOO_BUSY; health answers throughout', async () => {
      let healthOk = 0;
      let healthBad = 0;
      let stop = false;
      const poller = (async () => {
        while (!stop) {
          try {
            if ((await health()).status === S.SERVING) healthOk++;
            else healthBad++;
          } catch {
            healthBad++;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const results = await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          ex('add', [String(i), '1']).then(
            (r) => ({ ok: true as const, i, v: r.result?.outputValues[0]?.value.value }),
            (e: unknown) => ({ ok: false as const, i, e: detail(e) }),
          ),
        ),
      );
      stop = true;
      await poller;
      const ok = results.filter((r) => r.ok);
      const rejected = results.filter((r) => !r.ok);
      assert.equal(ok.length + rejected.length, 500);
      // one client: its quota (half of maxConcurrency running, 16 queued) at least succeeds
      assert.ok(ok.length >= 4 + 16, `at least the client's running + queued quota succeed (${ok.length})`);
      for (const r of ok) assert.equal(r.v, r.i + 1);
      for (const r of rejected) {
        assert.equal(r.e.code, Code.ResourceExhausted);
        assert.ok(r.e.detail === 'CLIENT_QUOTA' || r.e.detail === 'TOO_BUSY', r.e.detail);
      }
      assert.ok(healthOk >= 1, 'health answered during the burst');
      assert.equal(healthBad, 0);
    });
  });

  it('metrics count executions, cache hits and attestation latency', async () => {
    const text = await (await fetch(`${ts.server.url}/metrics`)).text();
    assert.match(text, /wasmvm_executions_total\{status="ok"\} [1-9]/);
    assert.match(text, /wasmvm_executions_total\{status="unreachable"\} [1-9]/);
    assert.match(text, /wasmvm_compile_cache_total\{result="hit"\} [1-9]/);
    assert.match(text, /wasmvm_attestation_duration_seconds_count\{mode="per-request"\} [1-9]/);
    assert.match(text, /wasmvm_attestation_duration_seconds_count\{mode="session-key"\} [1-9]/);
    // queue wait and engine time of the executions run above
    assert.match(text, /wasmvm_queue_wait_seconds_count\{mode="interp"\} [1-9]/);
    assert.match(
      text,
      /wasmvm_execute_duration_seconds_count\{(?=[^}]*mode="interp")(?=[^}]*status="ok")[^}]*\} [1-9]/,
    );
  });
});
