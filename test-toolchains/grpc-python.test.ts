/**
 * An independent gRPC implementation (Debian python3-grpcio + python3-protobuf) calls the server
 * exactly as the original API describes (base64 bytecode, string inputs, mode, gas limit), with
 * message classes built from a descriptor set that `buf build` compiles from proto/, and recomputes
 * the claim's input side and REPORT_DATA in Python from docs/binding.md (claim v3): they must equal the
 * server's, and the claim's status and outputs must be the response's. It also walks server
 * reflection (v1 and v1alpha) like grpcurl and builds a request from the descriptors it got.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Engine } from '../src/engine/index.ts';
import { simulatedAttester, startTestServer, type TestServer } from '../test/server/helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const python = process.env.WASMVM_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(python, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' });
const available = probe.status === 0;
const why = `${python} cannot import grpc/google.protobuf (apt-get install python3-grpcio python3-protobuf)`;

describe('independent Python gRPC client', { skip: !available && !process.env.CI ? why : false }, () => {
  let ts: TestServer;
  let dir: string;
  before(async () => {
    assert.ok(available, why);
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-py-'));
    const sim = simulatedAttester();
    ts = await startTestServer(
      { engine: new Engine({ workers: 1 }), attester: sim.attester },
      {},
      sim.cleanup,
    );
  });
  after(async () => {
    await ts?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Execute with the original request shape; REPORT_DATA recomputed in Python matches', async () => {
    const fds = join(dir, 'wasmvm.binpb');
    const buf = spawnSync(join(root, 'node_modules/.bin/buf'), ['build', '-o', fds], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(buf.status, 0, buf.stderr);
    // Asynchronously: the server runs in this process.
    const r = await promisify(execFile)(
      python,
      [
        join(root, 'test-toolchains/grpc-python/client.py'),
        `127.0.0.1:${ts.server.port}`,
        fds,
        join(root, 'test/server/fixtures/arith.wasm'),
      ],
      { encoding: 'utf8', timeout: 120_000 },
    ).catch((e: { stdout?: string; stderr?: string; message: string }) =>
      assert.fail(`python client failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`),
    );
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(out.request_id, 'python-1');
    assert.equal(out.status, 'ok');
    assert.deepEqual(out.outputs, [{ type: 1, int32_value: 42, bits: 42 }]);
    assert.equal(typeof out.gas_used, 'number');
    assert.ok((out.gas_used as number) > 0);
    assert.match(out.report_data as string, /^[0-9a-f]{128}$/);
    assert.equal(out.recomputed_report_data, out.report_data);
    assert.equal(out.input_side_matches, true);
    assert.equal(out.claim_status, 'ok');
    assert.equal(out.claim_outputs_match, true);
    assert.equal(out.claim_simulated, true);
    assert.equal(out.envelope_report_data, out.report_data);
    assert.equal(out.envelope_nonce, out.nonce);
    assert.deepEqual(out.inputs, ['20', '22']);
    assert.deepEqual(out.error, { code: 'NOT_FOUND', detail: 'FUNCTION_NOT_FOUND' });
    assert.equal(out.health, 1);
    for (const v of ['reflection_v1', 'reflection_v1alpha']) {
      assert.deepEqual(out[v], {
        services: [
          'grpc.health.v1.Health',
          'grpc.reflection.v1.ServerReflection',
          'grpc.reflection.v1alpha.ServerReflection',
          'wasm.WASMVMTeeService',
        ],
        file: 'wasmvm/v1/wasmvm.proto',
        methods: ['Execute', 'GetAttestation', 'GetServerInfo', 'Echo', 'ExecuteSealed'],
        input: 'wasm.WASMVMExecutionRequest',
        roundtrip_fn: 'add',
      });
    }
  });
});
