/**
 * The production backend (createDefaultBackend): guests importing the host modules get them (WASI with
 * captured stdout, wasmtime_attestation answered by the host handler), the captured stdout is bound into
 * the claim (stdoutSha256), and the import scanner finds the modules a binary imports.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { createWasmvmClient, executeAndVerify } from '../../src/server/client.ts';
import { createDefaultBackend } from '../../src/server/default-backend.ts';
import { importModules } from '../../src/server/imports.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { buildDigest } from '../../src/version-digest.ts';
import { fixture, GateEngine, simulatedAttester, startTestServer, type TestServer } from './helpers.ts';

describe('default backend with host imports', () => {
  let ts: TestServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-host-'));
    await new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false }).getChain();
    const backend = await createDefaultBackend({
      teeProvider: 'simulated',
      stateDir: dir,
      noGpu: true,
      engineOptions: { workers: 1 },
    });
    ts = await startTestServer(backend);
  });
  after(async () => {
    await ts?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('import scanner', () => {
    assert.deepEqual(importModules(fixture('host.wasm')), ['wasi_snapshot_preview1', 'wasmtime_attestation']);
    assert.deepEqual(importModules(fixture('arith.wasm')), []);
    assert.deepEqual(importModules(new Uint8Array([1, 2, 3])), []);
    assert.deepEqual(importModules(fixture('host.wasm').subarray(0, 30)), []);
  });

  it('WASI stdout is captured and bound into the claim; detect_tee_code answers simulated SEV-SNP', async () => {
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const r = await executeAndVerify(
      c,
      { bytecode: fixture('host.wasm'), fn: 'hello' },
      { allowSimulated: true },
    );
    assert.equal(r.status, 'ok', r.response.result?.trapMessage);
    assert.deepEqual(r.outputs, [{ type: 'i32', value: 0x101 }]);
    assert.match((await c.getServerInfo({})).costTableVersion, /\S/);
    assert.equal(r.claim?.stdoutSha256, createHash('sha256').update('hello\n').digest('hex'));
    assert.ok(r.verdict.ok, JSON.stringify(r.verdict));
  });

  it('the server build digest (computed once at start) is in the claim, the response and GetServerInfo', async () => {
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const want = (await buildDigest()).digest.replace(/^sha256:/, '');
    const r = await executeAndVerify(
      c,
      {
        bytecode: fixture('arith.wasm'),
        fn: 'add',
        args: [
          { type: 'i32', value: 1 },
          { type: 'i32', value: 2 },
        ],
      },
      { allowSimulated: true, extra: { serverBuildSha256: [want] } },
    );
    assert.ok(r.verdict.ok, JSON.stringify(r.verdict));
    assert.equal(r.claim?.serverBuildSha256, want);
    assert.equal(r.response.result?.serverBuildSha256, want);
    const info = await c.getServerInfo({});
    assert.equal(info.serverBuildSha256, want);
    assert.equal(info.webgpu, undefined, 'started without --webgpu: no WebGPU status');
  });

  it('modules without imports still run; unknown import modules are refused', async () => {
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const r = await c.execute({
      execution: {
        bytecode: Buffer.from(fixture('arith.wasm')).toString('base64'),
        fnName: 'add',
        inputs: ['1', '2'],
      },
    });
    assert.equal(r.result?.outputValues[0]?.value.value, 3);
    // (module (import "env" "f" (func)) (func (export "g")))
    const bad = new Uint8Array([
      0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 2, 9, 1, 3, 0x65, 0x6e, 0x76, 1, 0x66, 0, 0, 3, 2,
      1, 0, 7, 5, 1, 1, 0x67, 0, 1, 10, 4, 1, 2, 0, 0x0b,
    ]);
    const e = await c.execute({ execution: { bytecodeRaw: bad, fnName: 'g' } }).catch((x: unknown) => x);
    assert.ok(e instanceof ConnectError, String(e));
    assert.equal(e.code, Code.InvalidArgument);
    assert.equal(
      e.findDetails(await import('../../src/gen/wasmvm/v1/wasmvm_pb.ts').then((m) => m.ErrorDetailSchema))[0]
        ?.code,
      'UNKNOWN_IMPORT',
    );
  });
});

describe('default backend on the simulated TDX provider', () => {
  it('Execute verified in both attestation modes with TDX evidence', async () => {
    const backend = await createDefaultBackend({
      teeProvider: 'simulated-tdx',
      noGpu: true,
      engineOptions: { workers: 1 },
    });
    const ts = await startTestServer(backend);
    try {
      const c = createWasmvmClient({ baseUrl: ts.server.url });
      assert.equal((await c.getServerInfo({})).teeKind, 'tdx');
      for (const attestationMode of ['session-key', 'per-request'] as const) {
        const r = await executeAndVerify(
          c,
          { bytecode: fixture('arith.wasm'), fn: 'add', args: ['2', '40'], attestationMode },
          { allowSimulated: true },
        );
        assert.deepEqual(r.outputs, [{ type: 'i32', value: 42 }]);
        assert.ok(r.verdict.ok, JSON.stringify(r.verdict));
        assert.equal(r.response.result?.evidence?.teeKind, 'tdx');
      }
    } finally {
      await ts.close();
    }
  });
});

describe('GetServerInfo: the WebGPU adapter, or why there is none', () => {
  it('unavailable: the reason; available: the adapter as its driver reports it', async () => {
    const sim = simulatedAttester();
    const engine = new GateEngine();
    const off = await startTestServer({
      engine,
      attester: sim.attester,
      webgpu: { available: false, reason: 'no WebGPU adapter: Dawn found none' },
    });
    const on = await startTestServer(
      {
        engine,
        attester: sim.attester,
        webgpu: {
          available: true,
          adapter: {
            vendor: 'mesa',
            architecture: '',
            device: 'llvmpipe',
            description: 'OpenGL ES 3.2 Mesa 22.3.6',
            backend: 'opengles',
            featureLevel: 'compatibility',
          },
          limits: {} as never,
        },
      },
      {},
      sim.cleanup,
    );
    try {
      const a = await createWasmvmClient({ baseUrl: off.server.url }).getServerInfo({});
      assert.equal(a.webgpu?.available, false);
      assert.equal(a.webgpu?.reason, 'no WebGPU adapter: Dawn found none');
      assert.equal(a.webgpu?.adapter, undefined);
      const b = await createWasmvmClient({ baseUrl: on.server.url }).getServerInfo({});
      assert.equal(b.webgpu?.available, true);
      assert.equal(b.webgpu?.reason, '');
      assert.equal(b.webgpu?.adapter?.device, 'llvmpipe');
      assert.equal(b.webgpu?.adapter?.backend, 'opengles');
      assert.equal(b.webgpu?.adapter?.featureLevel, 'compatibility');
      assert.equal(b.webgpu?.adapter?.description, 'OpenGL ES 3.2 Mesa 22.3.6');
    } finally {
      await off.close();
      await on.close();
    }
  });
});
