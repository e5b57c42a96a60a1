/**
 * Claim v3 optional fields: WebGPU use (output field 18) and the server build digest (output field 19,
 * also bound into the session REPORT_DATA). Real responses from an in-process server whose engine result
 * carries a WebGPU record (the engine is wrapped to add one: the service, binding and verifier wiring is
 * what is tested here; test/host/webgpu-claim.test.ts runs a real WebGPU guest). Every edit of these
 * fields — in the response or inside the envelope — is rejected, a pinned build is enforced with its own
 * check id, and claims without them encode exactly as before (the vectors of docs/binding.md).
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type ClaimWebGpu,
  claimFromJson,
  claimToJson,
  type ExecutionClaim,
  outputSide,
  reportDataFor,
  sessionKeyReportData,
} from '../../src/binding/index.ts';
import { main as verifyMain } from '../../src/cli/verify.ts';
import { Engine, type ExecuteRequest, type ExecuteResult } from '../../src/engine/index.ts';
import { TeeAttester } from '../../src/server/attester.ts';
import type { ExecutionEngine } from '../../src/server/backend.ts';
import { createWasmvmClient } from '../../src/server/client.ts';
import { type Verdict, verifyExecution, verifySessionAttestation } from '../../src/verify/index.ts';
import { runCli } from '../cli/run-in-process.ts';
import { simulatedAttester, startTestServer, type TestServer } from '../server/helpers.ts';
import { ARGS_A, type Sample, sample } from './responses.ts';
import { BINDING_VECTORS } from './vectors.ts';

type Json = Record<string, unknown>;
const BUILD = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);

const WEBGPU: ExecuteResult['webgpu'] = {
  adapter: {
    vendor: 'mesa',
    architecture: 'llvmpipe',
    device: 'llvmpipe (LLVM 15.0.6, 256 bits)',
    description: 'OpenGL ES 3.2 Mesa 22.3.6',
    backend: 'opengles',
    featureLevel: 'compatibility',
  },
  calls: 41,
  dispatches: 3,
  workgroups: 96,
  bytesToGpu: 4096,
  bytesFromGpu: 2048,
  gas: '1234',
  gasTableVersion: 'webgpu-gas-v1',
};

/** The real engine, with a WebGPU record added to each result. */
class WebGpuResultEngine implements ExecutionEngine {
  constructor(readonly inner: Engine) {}
  async execute(req: ExecuteRequest): Promise<ExecuteResult> {
    const r = await this.inner.execute(req);
    return { ...r, webgpu: structuredClone(WEBGPU) };
  }
}

const failed = (v: Verdict): string[] => [
  ...v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
  ...(v.parts ?? []).flatMap(failed),
];

function verify(s: Sample, response: Json, extra: Record<string, unknown> = {}): Promise<Verdict> {
  return verifyExecution(undefined, {
    response,
    request: s.request,
    nonce: s.nonce,
    allowSimulated: true,
    ...extra,
  });
}

/** Apply `edit` to the response, or to the envelope inside it (parsed, edited, re-serialized). */
function edited(resp: Json, edit: (result: Json, envelope: Json) => void): Json {
  const c = structuredClone(resp);
  const res = c.result as Json;
  const env = JSON.parse(res.attestation as string) as Json;
  edit(res, env);
  res.attestation = JSON.stringify(env);
  return c;
}

describe('binding: WebGPU use and the server build in claim v3', () => {
  let ts: TestServer;
  let engine: Engine;
  const samples: Record<string, Sample> = {};
  before(async () => {
    const sim = simulatedAttester();
    engine = new Engine({ workers: 1 });
    const attester = new TeeAttester(sim.provider, { serverBuildSha256: `sha256:${BUILD}` });
    ts = await startTestServer({ engine: new WebGpuResultEngine(engine), attester }, {}, sim.cleanup);
    for (const att of ['per-request', 'session-key'] as const)
      samples[att] = await sample(ts.server.url, 'all', ARGS_A, 'interp', att);
  });
  after(async () => {
    await ts.close();
    await engine.close();
  });

  it('the response and the claim carry both; the verdict exposes them', async () => {
    for (const [att, s] of Object.entries(samples)) {
      const res = s.response.result as Json;
      assert.equal(res.serverBuildSha256, BUILD, att);
      const w = res.webgpu as Json;
      assert.deepEqual(w.adapter, {
        vendor: 'mesa',
        architecture: 'llvmpipe',
        device: 'llvmpipe (LLVM 15.0.6, 256 bits)',
        description: 'OpenGL ES 3.2 Mesa 22.3.6',
        backend: 'opengles',
        featureLevel: 'compatibility',
      });
      assert.equal(w.calls, '41');
      assert.equal(w.gas, '1234');
      const env = JSON.parse(res.attestation as string);
      assert.equal(env.claim.serverBuildSha256, BUILD);
      assert.equal(env.claim.webgpu.workgroups, '96');
      if (att === 'session-key') assert.equal(env.session.serverBuildSha256, BUILD);
      const v = await verify(s, s.response);
      assert.ok(v.ok, JSON.stringify(failed(v)));
      assert.equal(v.fields?.serverBuildSha256, BUILD);
      assert.deepEqual(v.fields?.webgpu, env.claim.webgpu);
      for (const id of ['response.webgpu', 'response.server-build'])
        assert.equal(v.checks.find((c) => c.id === id)?.outcome, 'pass', id);
      if (att === 'session-key')
        assert.equal(v.checks.find((c) => c.id === 'binding.server-build')?.outcome, 'pass');
    }
  });

  it('a pinned server build: match → ok; mismatch or none → reference.server-build fails', async () => {
    for (const s of Object.values(samples)) {
      const ok = await verify(s, s.response, { serverBuildSha256: [OTHER, `sha256:${BUILD.toUpperCase()}`] });
      assert.ok(ok.ok, JSON.stringify(failed(ok)));
      assert.equal(ok.checks.find((c) => c.id === 'reference.server-build')?.outcome, 'pass');
      const bad = await verify(s, s.response, { serverBuildSha256: [OTHER] });
      assert.equal(bad.ok, false);
      assert.deepEqual(failed(bad), ['reference.server-build']);
      assert.match(
        bad.checks.find((c) => c.id === 'reference.server-build')!.detail,
        /is not one of the pinned builds/,
      );
      // the policy file's pin (toVerifierPolicy maps serverBuildSha256 onto policy.serverBuildSha256)
      const viaPolicy = await verify(s, s.response, { policy: { serverBuildSha256: [OTHER] } });
      assert.deepEqual(failed(viaPolicy), ['reference.server-build']);
      // --server-build overrides the policy file
      const over = await verify(s, s.response, {
        policy: { serverBuildSha256: [OTHER] },
        serverBuildSha256: [BUILD],
      });
      assert.ok(over.ok);
    }
  });

  it('every edit of the WebGPU record or the build digest is rejected', async () => {
    const bump = (x: unknown) =>
      typeof x === 'string' && /^\d+$/.test(x) ? (BigInt(x) + 1n).toString() : `${String(x)}x`;
    let tried = 0;
    for (const [att, s] of Object.entries(samples)) {
      const edits: Array<[string, (r: Json, e: Json) => void]> = [];
      const w = (s.response.result as Json).webgpu as Json;
      for (const k of Object.keys(w.adapter as Json))
        edits.push([
          `result.webgpu.adapter.${k}`,
          (r) => (((r.webgpu as Json).adapter as Json)[k] = bump(((r.webgpu as Json).adapter as Json)[k])),
        ]);
      for (const k of Object.keys(w).filter((k) => k !== 'adapter'))
        edits.push([`result.webgpu.${k}`, (r) => ((r.webgpu as Json)[k] = bump((r.webgpu as Json)[k]))]);
      edits.push(['result.webgpu removed', (r) => delete r.webgpu]);
      edits.push(['result.webgpu.gas removed', (r) => delete (r.webgpu as Json).gas]);
      edits.push(['result.serverBuildSha256', (r) => (r.serverBuildSha256 = OTHER)]);
      edits.push(['result.serverBuildSha256 removed', (r) => delete r.serverBuildSha256]);
      const cw = JSON.parse((s.response.result as Json).attestation as string).claim.webgpu as Json;
      for (const k of Object.keys(cw))
        edits.push([
          `attestation.claim.webgpu.${k}`,
          (_r, e) => (((e.claim as Json).webgpu as Json)[k] = bump(((e.claim as Json).webgpu as Json)[k])),
        ]);
      edits.push(['attestation.claim.webgpu removed', (_r, e) => delete (e.claim as Json).webgpu]);
      edits.push([
        'attestation.claim.serverBuildSha256',
        (_r, e) => ((e.claim as Json).serverBuildSha256 = OTHER),
      ]);
      edits.push([
        'attestation.claim.serverBuildSha256 removed',
        (_r, e) => delete (e.claim as Json).serverBuildSha256,
      ]);
      // the same edit in the response and in the claim: caught by REPORT_DATA / the signature
      edits.push([
        'both serverBuildSha256',
        (r, e) => {
          r.serverBuildSha256 = OTHER;
          (e.claim as Json).serverBuildSha256 = OTHER;
        },
      ]);
      if (att === 'session-key') {
        edits.push([
          'attestation.session.serverBuildSha256',
          (_r, e) => ((e.session as Json).serverBuildSha256 = OTHER),
        ]);
        edits.push([
          'attestation.session.serverBuildSha256 removed',
          (_r, e) => delete (e.session as Json).serverBuildSha256,
        ]);
      }
      for (const [what, edit] of edits) {
        tried++;
        const v = await verify(s, edited(s.response, edit));
        assert.equal(v.ok, false, `${att}: ${what} accepted`);
      }
      // a response field edit names its own check
      const r1 = await verify(
        s,
        edited(s.response, (r) => ((r.webgpu as Json).dispatches = '4')),
      );
      assert.deepEqual(failed(r1), ['response.webgpu']);
      const r2 = await verify(
        s,
        edited(s.response, (r) => (r.serverBuildSha256 = OTHER)),
      );
      assert.deepEqual(failed(r2), ['response.server-build']);
    }
    assert.ok(tried > 40, `only ${tried} edits`);
  });

  it('GetAttestation: the session REPORT_DATA binds the build; pinned and edited', async () => {
    const nonce = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const a = await createWasmvmClient({ baseUrl: ts.server.url }).getAttestation({ nonce });
    const session = JSON.parse(a.attestation) as Json;
    assert.equal(session.serverBuildSha256, BUILD);
    const o = { nonce: nonce.toString('hex'), allowSimulated: true };
    const ok = await verifySessionAttestation(session, { ...o, serverBuildSha256: [BUILD] });
    assert.ok(ok.ok, JSON.stringify(failed(ok)));
    assert.equal(ok.fields?.serverBuildSha256, BUILD);
    const pinned = await verifySessionAttestation(session, { ...o, serverBuildSha256: [OTHER] });
    assert.deepEqual(failed(pinned), ['reference.server-build']);
    for (const edit of [
      (x: Json) => (x.serverBuildSha256 = OTHER),
      (x: Json) => delete x.serverBuildSha256,
    ]) {
      const e = structuredClone(session);
      edit(e);
      const v = await verifySessionAttestation(e, o);
      assert.equal(v.ok, false);
      assert.ok(failed(v).includes('binding.session-key'), JSON.stringify(failed(v)));
    }
  });

  it('CLI: exec --server --json shows the WebGPU record; verify --response compares it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmvm-webgpu-json-'));
    const run = runCli;
    try {
      const wasmFile = new URL('../server/fixtures/arith.wasm', import.meta.url).pathname;
      const e = await run([
        'exec',
        '--server',
        ts.server.url,
        '--wasm',
        wasmFile,
        '--fn',
        'fib',
        '--arg',
        '10',
        '--allow-simulated',
        '--json',
      ]);
      assert.equal(e.code, 0, e.err + e.out);
      const j = JSON.parse(e.out) as Json;
      assert.equal((j.webgpu as Json).device, 'llvmpipe (LLVM 15.0.6, 256 bits)');
      assert.equal((j.webgpu as Json).gas, '1234');
      assert.equal(j.serverBuildSha256, BUILD);
      const f = join(dir, 'r.json');
      const verifyIt = async (o: Json) => {
        writeFileSync(f, JSON.stringify(o));
        return run(['verify', '--response', f, '--nonce', j.nonce as string, '--allow-simulated']);
      };
      const ok = await verifyIt(j);
      assert.equal(ok.code, 0, ok.out + ok.err);
      assert.match(ok.out, /PASS response\.webgpu/);
      for (const k of Object.keys(j.webgpu as Json)) {
        const c = structuredClone(j);
        const w = c.webgpu as Json;
        w[k] = /^\d+$/.test(String(w[k])) ? String(BigInt(w[k] as string) + 1n) : `${String(w[k])}x`;
        const v = await verifyIt(c);
        assert.equal(v.code, 1, k);
        assert.match(v.out, /FAIL response\.webgpu/, k);
      }
      const hidden = structuredClone(j);
      delete hidden.webgpu;
      assert.equal((await verifyIt(hidden)).code, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CLI: verify --server-build and the policy file serverBuildSha256 are enforced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmvm-build-'));
    try {
      const s = samples['session-key']!;
      const resp = join(dir, 'r.json');
      writeFileSync(resp, JSON.stringify(s.response));
      const run = async (...extra: string[]) => {
        const out: string[] = [];
        const err: string[] = [];
        const code = await verifyMain(
          ['--response', resp, '--nonce', s.nonce, '--allow-simulated', ...extra],
          { out: (x) => out.push(x), err: (x) => err.push(x) },
        );
        return { code, out: out.join('\n'), err: err.join('\n') };
      };
      const ok = await run('--server-build', `sha256:${BUILD}`);
      assert.equal(ok.code, 0, ok.out + ok.err);
      assert.match(ok.out, /PASS reference\.server-build/);
      const bad = await run('--server-build', OTHER);
      assert.equal(bad.code, 1);
      assert.match(
        bad.out,
        /FAIL reference\.server-build: server build (?:ab)+ is not one of the pinned builds/,
      );
      assert.equal((await run('--server-build', 'xyz')).code, 2);
      const policy = join(dir, 'p.json');
      writeFileSync(
        policy,
        JSON.stringify({ format: 'wasmvm-tee/reference-values/v1', serverBuildSha256: [OTHER] }),
      );
      const p = await run('--policy', policy);
      assert.equal(p.code, 1);
      assert.match(p.out, /FAIL reference\.server-build/);
      assert.equal((await run('--policy', policy, '--server-build', BUILD)).code, 0);
      const none = await run();
      assert.equal(none.code, 0);
      assert.match(none.out, /SKIP reference\.server-build: server build (?:ab)+ attested, not pinned/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('binding: encoding of the optional output fields', () => {
  const base = claimFromJson(BINDING_VECTORS[0]!.claim);
  const gpu: ClaimWebGpu = {
    vendor: 'v',
    architecture: 'a',
    device: 'd',
    description: 'x',
    backend: 'vulkan',
    featureLevel: 'core',
    calls: 1n,
    dispatches: 2n,
    workgroups: 3n,
    bytesToGpu: 4n,
    bytesFromGpu: 5n,
    gas: 6n,
    gasTableVersion: 'webgpu-gas-v1',
  };
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  it('absent: the output side is exactly the vector; present: appended as fields 18 and 19', () => {
    assert.equal(hex(outputSide(base)), BINDING_VECTORS[0]!.outputSide);
    const c: ExecutionClaim = { ...base, webgpu: gpu, serverBuildSha256: BUILD };
    const out = hex(outputSide(c));
    assert.ok(out.startsWith(BINDING_VECTORS[0]!.outputSide));
    const tail = Buffer.from(out.slice(BINDING_VECTORS[0]!.outputSide.length), 'hex');
    assert.equal(tail[0], 18);
    assert.equal(tail[1], 0x08);
    const len = tail.readUInt32BE(2);
    assert.equal(tail[6 + len], 19);
    assert.equal(tail[7 + len], 0x01);
    assert.equal(tail.subarray(12 + len).toString('hex'), BUILD);
    // only the build: field 19 right after 17
    const onlyBuild = hex(outputSide({ ...base, serverBuildSha256: BUILD }));
    assert.equal(onlyBuild, `${BINDING_VECTORS[0]!.outputSide}1301000000 20${BUILD}`.replace(' ', ''));
  });

  it('every WebGPU field changes REPORT_DATA; gas absent ≠ gas 0', () => {
    const c: ExecutionClaim = { ...base, webgpu: gpu };
    const rd = hex(reportDataFor(c));
    const seen = new Set([rd, hex(reportDataFor(base))]);
    for (const k of Object.keys(gpu) as (keyof ClaimWebGpu)[]) {
      const v = gpu[k];
      const other = typeof v === 'bigint' ? v + 1n : k === 'featureLevel' ? 'compatibility' : `${String(v)}!`;
      const r = hex(reportDataFor({ ...c, webgpu: { ...gpu, [k]: other } as ClaimWebGpu }));
      assert.ok(!seen.has(r), k);
      seen.add(r);
    }
    const { gas: _g, ...noGas } = gpu;
    const a = hex(reportDataFor({ ...c, webgpu: noGas }));
    const b = hex(reportDataFor({ ...c, webgpu: { ...gpu, gas: 0n } }));
    assert.notEqual(a, b);
  });

  it('the JSON view round-trips and is strict', () => {
    const c: ExecutionClaim = { ...base, webgpu: gpu, serverBuildSha256: BUILD };
    const j = claimToJson(c);
    assert.deepEqual(j.webgpu?.calls, '1');
    assert.equal(hex(outputSide(claimFromJson(JSON.parse(JSON.stringify(j))))), hex(outputSide(c)));
    const bad = (patch: (o: Json) => void, re: RegExp) => {
      const o = JSON.parse(JSON.stringify(j)) as Json;
      patch(o);
      assert.throws(() => claimFromJson(o), re);
    };
    bad((o) => ((o.webgpu as Json).extra = 1), /claim\.webgpu\.extra: unknown field/);
    bad((o) => delete (o.webgpu as Json).calls, /claim\.webgpu\.calls: missing/);
    bad((o) => ((o.webgpu as Json).calls = 1), /claim\.webgpu\.calls: not a decimal integer string/);
    bad((o) => ((o.webgpu as Json).featureLevel = 'full'), /claim\.webgpu\.featureLevel/);
    bad((o) => (o.serverBuildSha256 = 'AB'.repeat(32)), /claim\.serverBuildSha256/);
  });

  it('the session REPORT_DATA binds the build; without one it is unchanged', () => {
    const k = {
      spki: new Uint8Array([1, 2, 3]),
      claimSpki: new Uint8Array([4, 5]),
      epoch: 1,
      notBefore: 1000,
      notAfter: 2000,
      kid: 'k',
    };
    const plain = hex(sessionKeyReportData(k));
    const withBuild = hex(sessionKeyReportData({ ...k, serverBuild: Buffer.from(BUILD, 'hex') }));
    const other = hex(sessionKeyReportData({ ...k, serverBuild: Buffer.from(OTHER, 'hex') }));
    assert.notEqual(plain, withBuild);
    assert.notEqual(withBuild, other);
    assert.throws(() => sessionKeyReportData({ ...k, serverBuild: new Uint8Array(31) }), {
      code: 'INVALID_ENVELOPE',
    });
  });
});
