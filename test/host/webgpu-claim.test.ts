/**
 * A real WebGPU guest through the server (`serve --webgpu` wiring: createDefaultBackend): the WebGPU use
 * is in the attested claim (output field 18) and in the response, the verifier accepts the untampered
 * response and rejects an edited counter, and GetServerInfo reports the adapter. Needs a WebGPU adapter
 * (Dawn on Mesa's CPU OpenGL ES in CI: .ci/apt-packages.txt); skipped with the reason otherwise.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toJson } from '@bufbuild/protobuf';
import {
  WASMVMExecutionRequestSchema,
  WASMVMExecutionResponseSchema,
} from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import { probeWebGpu } from '../../src/host/index.ts';
import { createWasmvmClient, executeAndVerify } from '../../src/server/client.ts';
import { createDefaultBackend } from '../../src/server/default-backend.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { verifyExecution } from '../../src/verify/index.ts';
import { startTestServer, type TestServer } from '../server/helpers.ts';

const selftest = new Uint8Array(readFileSync(new URL('../data/webgpu/selftest.wasm', import.meta.url)));
const probe = await probeWebGpu();
const skip = probe.available ? false : `no WebGPU adapter here (${probe.reason})`;

describe('WebGPU use in the attested claim (server, real adapter)', { skip }, () => {
  let ts: TestServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-webgpu-claim-'));
    await new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false }).getChain();
    const backend = await createDefaultBackend({
      teeProvider: 'simulated',
      stateDir: dir,
      noGpu: true,
      webgpu: {},
      engineOptions: { workers: 1 },
    });
    ts = await startTestServer(backend);
  });
  after(async () => {
    await ts?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('claim field 18 = the response = what ran; edits are rejected; GetServerInfo names the adapter', async () => {
    const c = createWasmvmClient({ baseUrl: ts.server.url });
    const info = await c.getServerInfo({});
    assert.equal(info.webgpu?.available, true);
    assert.ok(probe.available);
    assert.equal(info.webgpu?.adapter?.backend, probe.adapter.backend);
    assert.equal(info.webgpu?.adapter?.device, probe.adapter.device);
    for (const attestationMode of ['per-request', 'session-key'] as const) {
      const r = await executeAndVerify(
        c,
        { bytecode: selftest, fn: '_start', gasLimit: 10_000_000_000n, attestationMode },
        { allowSimulated: true },
      );
      assert.ok(r.verdict.ok, JSON.stringify(r.verdict));
      const w = r.claim?.webgpu;
      assert.ok(w, 'the claim records the WebGPU use');
      assert.equal(w.device, info.webgpu?.adapter?.device);
      assert.ok(w.dispatches > 0n && w.workgroups >= w.dispatches && w.calls > w.dispatches);
      assert.ok(w.bytesToGpu > 0n && w.bytesFromGpu > 0n);
      assert.ok(w.gas !== undefined && w.gas > 0n && r.claim!.gasUsed! >= w.gas);
      assert.equal(w.gasTableVersion, 'webgpu-gas-v1');
      const pw = r.response.result?.webgpu;
      assert.equal(pw?.dispatches, w.dispatches);
      assert.equal(pw?.adapter?.description, w.description);
      const response = toJson(WASMVMExecutionResponseSchema, r.response) as Record<string, unknown>;
      const request = toJson(WASMVMExecutionRequestSchema, r.request);
      const nonce = Buffer.from(r.claim!.nonce!).toString('hex');
      const ok = await verifyExecution(undefined, { response, request, nonce, allowSimulated: true });
      assert.ok(ok.ok);
      const edited = structuredClone(response);
      const ew = (edited.result as Record<string, Record<string, unknown>>).webgpu!;
      ew.workgroups = (BigInt(ew.workgroups as string) + 1n).toString();
      const bad = await verifyExecution(undefined, {
        response: edited,
        request,
        nonce,
        allowSimulated: true,
      });
      assert.equal(bad.ok, false);
      assert.equal(bad.checks.find((x) => x.id === 'response.webgpu')?.outcome, 'fail');
    }
  });
});
