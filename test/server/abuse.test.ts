/**
 * Hostile clients against a real server (supervised engine, simulated TEE): every bad request gets its
 * code, idle / half-open / slow connections are cut by their timeouts, quotas hold, a crashed executor
 * fails only its requests, and the server keeps answering health checks. Liveness and correctness only:
 * the latency figures are measured in test-toolchains/abuse.test.ts.
 */
import { strict as assert } from 'node:assert';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Engine } from '../../src/engine/index.ts';
import { Health, HealthCheckResponse_ServingStatus as S } from '../../src/gen/grpc/health/v1/health_pb.ts';
import {
  ErrorDetailSchema,
  WASMVMExecutionRequestSchema,
  WASMVMExecutionResponseSchema,
  WASMVMTeeService,
} from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import { createWasmvmClient } from '../../src/server/client.ts';
import { ServiceError } from '../../src/server/errors.ts';
import { Limiter } from '../../src/server/limiter.ts';
import { encodeU32 } from '../../src/wasm/index.ts';
import { generate } from '../engine/modgen.ts';
import { fixture, simulatedAttester, startTestServer, type TestServer } from './helpers.ts';

/** A module with a custom section of `size` bytes appended (valid Wasm, same exports). */
function withCustomSection(wasm: Uint8Array, size: number): Uint8Array {
  const name = Buffer.from('pad');
  const payload = Buffer.concat([encodeU32(name.length), name, Buffer.alloc(size, 0x5a)]);
  return Buffer.concat([wasm, Buffer.from([0]), encodeU32(payload.length), payload]);
}

/** The gRPC code and the stable detail code (from the details, the header or the message's [CODE]). */
function codeOf(e: unknown): { code: Code; detail: string | undefined } {
  assert.ok(e instanceof ConnectError, `expected a ConnectError, got ${String(e)}`);
  const detail =
    e.findDetails(ErrorDetailSchema)[0]?.code ??
    e.metadata.get('wasmvm-error-code') ??
    /^\[([A-Z_]+)\]/.exec(e.rawMessage)?.[1];
  return { code: e.code, detail };
}
async function rejection(p: Promise<unknown>): Promise<{ code: Code; detail: string | undefined }> {
  try {
    await p;
  } catch (e) {
    return codeOf(e);
  }
  assert.fail('expected a rejection');
}
const closed = (s: net.Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('limiter: per-client quotas and round-robin', () => {
  it('one client cannot take every slot; over quota → CLIENT_QUOTA with a retry hint', async () => {
    const l = new Limiter(4, 100, { maxConcurrency: 2, maxQueue: 2 });
    const a1 = await l.acquire(undefined, 'a');
    const a2 = await l.acquire(undefined, 'a');
    const a3 = l.acquire(undefined, 'a');
    const a4 = l.acquire(undefined, 'a');
    await assert.rejects(l.acquire(undefined, 'a'), (e: unknown) => {
      return e instanceof ServiceError && e.code === 'CLIENT_QUOTA' && (e.retryAfterMs ?? 0) > 0;
    });
    // another client still gets a slot at once
    const b1 = await l.acquire(undefined, 'b');
    assert.equal(l.running, 3);
    a1();
    await a3;
    a2();
    await a4;
    b1();
    assert.equal(l.running, 2);
  });

  it('freed slots go to waiting clients in turn', async () => {
    const l = new Limiter(1, 100, { maxConcurrency: 1, maxQueue: 10 });
    const first = await l.acquire(undefined, 'a');
    const order: string[] = [];
    const wait = (c: string) =>
      l.acquire(undefined, c).then((rel) => {
        order.push(c);
        setImmediate(rel);
      });
    const ps = [wait('a'), wait('a'), wait('a'), wait('b')];
    first();
    await Promise.all(ps);
    // 'b' arrived last but gets the second turn
    assert.deepEqual(order, ['a', 'b', 'a', 'a']);
  });
});

describe('server under abuse', () => {
  let ts: TestServer;
  let engine: Engine;
  before(async () => {
    engine = new Engine({ workers: 2, restartBackoffMs: { initial: 10, max: 100 } });
    const sim = simulatedAttester();
    ts = await startTestServer(
      { engine, attester: sim.attester },
      {
        timeoutMs: 10_000,
        maxMessageBytes: 1024 * 1024,
        connections: {
          headersTimeoutMs: 300,
          idleTimeoutMs: 600,
          bodyTimeoutMs: 500,
          maxConnectionsPerClient: 40,
          maxBodyBytesPerClient: 2 * 1024 * 1024,
        },
      },
      sim.cleanup,
    );
  });
  after(async () => {
    await ts.close();
  });
  const health = async () =>
    (await createClient(Health, createGrpcTransport({ baseUrl: ts.server.url })).check({})).status;

  it('the engine runs every mode out of process', async () => {
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const bytecode = generate({});
    await c.execute({ execution: { bytecodeRaw: bytecode, fnName: 'run', inputs: ['1'] } });
    const info = engine.stats().executors.interp!;
    assert.equal(info.inProcess, false);
    assert.notEqual(info.pid, process.pid);
  });

  it('bombs and invalid modules: each answered with its code, health stays SERVING', async () => {
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const ex = (bytes: Uint8Array) =>
      c.execute({ execution: { bytecodeRaw: bytes, fnName: 'run', inputs: ['0'] } });
    const cases: [Uint8Array, string][] = [
      [generate({ tables: 1000, tableElements: 100_000 }), 'TOO_MANY_TABLES'],
      [generate({ tables: 20, tableElements: 100_000 }), 'TABLE_ELEMENTS_LIMIT'],
      [generate({ hotLoop: 1000, loops: 300_000 }), 'COMPILE_COST_LIMIT'],
      [generate({ brTableTargets: 30_000 }), 'BR_TABLE_LIMIT'],
      [generate({ nesting: 5000 }), 'NESTING_LIMIT'],
      [generate({ locals: 20_000 }), 'TOO_MANY_LOCALS'],
    ];
    for (const [bytes, code] of cases) {
      const e = await rejection(ex(bytes));
      assert.equal(e.detail, code);
      assert.equal(e.code, Code.ResourceExhausted);
    }
    // a flood of invalid modules (each different, some large): INVALID_BYTECODE each
    const flood = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const b = generate({ nops: i % 4 === 0 ? 100_000 : 10 });
        b[b.length - 1] = 0xff; // break the final `end`
        b[9] = i; // and make each one different
        return rejection(ex(b));
      }),
    );
    for (const e of flood)
      assert.ok(e.detail === 'INVALID_BYTECODE' || e.detail === 'CLIENT_QUOTA', e.detail);
    assert.ok(flood.filter((e) => e.detail === 'INVALID_BYTECODE').length >= 10);
    assert.equal(await health(), S.SERVING);
  });

  it('an infinite loop is stopped at the deadline; a crashed executor fails only its requests (ENGINE_CRASHED)', async () => {
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const spin = generate({ hotLoop: 2_000_000_000 });
    const r = await c.execute({ execution: { bytecodeRaw: spin, fnName: 'run', inputs: ['0'] } });
    assert.equal(r.result?.status !== undefined, true);
    const p = rejection(c.execute({ execution: { bytecodeRaw: spin, fnName: 'run', inputs: ['1'] } }));
    while (engine.stats().executors.interp?.inFlight !== 1) await new Promise((x) => setTimeout(x, 20));
    assert.ok(engine.killExecutor('interp'));
    const e = await p;
    assert.equal(e.detail, 'ENGINE_CRASHED');
    assert.equal(e.code, Code.Unavailable);
    const ok = await c.execute({ execution: { bytecodeRaw: generate({}), fnName: 'run', inputs: ['1'] } });
    assert.ok(ok.result);
    assert.equal(await health(), S.SERVING);
  });

  it('silent, half-open and partial-header connections are closed by the header timeout', async () => {
    const port = ts.server.port;
    const socks = [
      net.connect(port, '127.0.0.1'), // silent
      net.connect(port, '127.0.0.1').on('connect', function (this: net.Socket) {
        this.write('PRI * HTTP/2.0\r\n'); // partial HTTP/2 preface
      }),
      net.connect(port, '127.0.0.1').on('connect', function (this: net.Socket) {
        this.write('POST /wasmvm.v1.WASMVMTeeService/Execute HTTP/1.1\r\nHost: x\r\n'); // partial headers
      }),
    ];
    for (const s of socks) s.on('error', () => {});
    await Promise.all(socks.map(closed));
    assert.equal(await health(), S.SERVING);
  });

  it('an idle HTTP/2 session is closed after the idle timeout', async () => {
    const s = http2.connect(ts.server.url);
    s.on('error', () => {});
    await new Promise<void>((r) => s.once('connect', () => r()));
    await new Promise<void>((r) => s.once('close', () => r()));
  });

  it('a slow body is cut with BODY_TIMEOUT; bodies over the client quota get BODY_QUOTA', async () => {
    const s = http2.connect(ts.server.url);
    s.on('error', () => {});
    const req = s.request({
      ':method': 'POST',
      ':path': `/${WASMVMTeeService.typeName}/Execute`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    req.on('error', () => {});
    // a 5-byte gRPC prefix announcing 1000 bytes, then 10 bytes, then nothing
    req.write(Buffer.from([0, 0, 0, 0x03, 0xe8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    const status = await new Promise<string | undefined>((resolve) => {
      let st: string | undefined;
      req.on('response', (h) => {
        if (h['grpc-status']) st = String(h['grpc-status']);
      });
      req.on('trailers', (h) => {
        st = String(h['grpc-status']);
      });
      req.on('close', () => resolve(st));
      req.resume();
    });
    s.close();
    assert.equal(status, String(Code.DeadlineExceeded), `grpc-status ${status}`);

    // a client holding more body bytes than its quota (3 requests of 900 KB at once, quota 2 MiB)
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const big = new Uint8Array(900 * 1024);
    const rs = await Promise.all(
      [0, 1, 2, 3].map(() =>
        c.execute({ execution: { bytecodeRaw: big, fnName: 'run' } }).then(
          () => 'ok',
          (e: unknown) => codeOf(e).detail,
        ),
      ),
    );
    for (const r of rs) assert.ok(r === 'INVALID_BYTECODE' || r === 'BODY_QUOTA', String(r));
    assert.equal(await health(), S.SERVING);
    // the answered streams are reset (RFC 9113 §8.1), so their bytes leave the quota while the client's
    // session stays open: a 1000 KB body of the same client is read again
    let again = 'BODY_QUOTA';
    for (let i = 0; i < 20 && again === 'BODY_QUOTA'; i++) {
      again = await c
        .execute({ execution: { bytecodeRaw: new Uint8Array(1000 * 1024), fnName: 'run' } })
        .then(
          () => 'ok',
          (e: unknown) => String(codeOf(e).detail),
        );
      if (again === 'BODY_QUOTA') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(again, 'INVALID_BYTECODE');
  });

  it('a request cut into 64-byte DATA frames is read whole and answered (the envelope is assembled once)', async () => {
    const msg = toBinary(
      WASMVMExecutionRequestSchema,
      create(WASMVMExecutionRequestSchema, {
        // arith.wasm followed by a 200 KB custom section: the body arrives in ~3200 frames
        execution: {
          bytecodeRaw: withCustomSection(fixture('arith.wasm'), 200_000),
          fnName: 'add',
          inputs: ['20', '22'],
        },
      }),
    );
    const body = Buffer.alloc(5 + msg.length);
    body.writeUInt32BE(msg.length, 1);
    body.set(msg, 5);
    const s = http2.connect(ts.server.url);
    s.on('error', () => {});
    const req = s.request({
      ':method': 'POST',
      ':path': `/${WASMVMTeeService.typeName}/Execute`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const got: Buffer[] = [];
    req.on('data', (d: Buffer) => got.push(d));
    const trailers = new Promise<string>((resolve) => {
      let head = '';
      req.on('response', (h) => {
        head = `${h[':status']} ${h['grpc-status'] ?? ''} ${h['grpc-message'] ?? ''}`;
      });
      req.on('trailers', (h) => resolve(`${h['grpc-status']} ${h['grpc-message'] ?? ''}`.trim()));
      req.on('close', () => resolve(`closed without trailers (${head})`));
    });
    // each write is its own DATA frame; queued at once, they arrive within the 500 ms body deadline
    for (let o = 0; o < body.length; o += 64) req.write(body.subarray(o, o + 64));
    req.end();
    assert.equal(await trailers, '0');
    s.close();
    const answer = Buffer.concat(got);
    const res = fromBinary(WASMVMExecutionResponseSchema, answer.subarray(5, 5 + answer.readUInt32BE(1)));
    assert.equal(res.result?.outputValues[0]?.value.value, 42);
  });

  it('connections over the per-client cap are refused; the server keeps serving', async () => {
    const socks: net.Socket[] = [];
    for (let i = 0; i < 45; i++) {
      const s = net.connect(ts.server.port, '127.0.0.1');
      s.on('error', () => {});
      socks.push(s);
    }
    await Promise.all(socks.slice(40).map(closed));
    for (const s of socks) s.destroy();
    await Promise.all(socks.map(closed));
    // the server sees the closes a moment later; then new connections are admitted again
    let status: unknown;
    for (let i = 0; i < 40 && status !== S.SERVING; i++) {
      status = await health().catch(() => undefined);
      if (status !== S.SERVING) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, S.SERVING);
    const m = await (await fetch(`${ts.server.url}/metrics`)).text();
    assert.match(m, /wasmvm_rejected_total\{reason="connections"\} [1-9]/);
    assert.match(m, /wasmvm_rejected_total\{reason="headersTimeout"\} [1-9]/);
  });
});

describe('shutdown', () => {
  it('close() completes while an execution spins: bounded drain, then the executor is killed', async () => {
    const engine = new Engine({ workers: 1 });
    const sim = simulatedAttester();
    const ts = await startTestServer(
      { engine, attester: sim.attester },
      { timeoutMs: 60_000, shutdownTimeoutMs: 500 },
      sim.cleanup,
    );
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const p = c
      .execute({
        execution: { bytecodeRaw: generate({ hotLoop: 2_000_000_000 }), fnName: 'run', inputs: ['0'] },
      })
      .catch((e: unknown) => e);
    while (engine.stats().executors.interp?.inFlight !== 1) await new Promise((x) => setTimeout(x, 20));
    const pid = engine.stats().executors.interp!.pid!;
    const t0 = Date.now();
    await ts.close();
    assert.ok(Date.now() - t0 < 10_000);
    await p;
    assert.throws(() => process.kill(pid, 0));
  });
});
