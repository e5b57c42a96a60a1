/**
 * WebGPU compute for guests (src/host/webgpu, docs/webgpu.md): every wasmvm_webgpu function through the
 * committed self-test guest (test/data/webgpu/selftest.c), every guest misuse, cleanup at execution end,
 * zero-filled buffers, operator limits, gas, and the training examples end to end.
 *
 * Needs a WebGPU adapter (Dawn on Mesa's CPU OpenGL ES in CI: .ci/apt-packages.txt). Without one the
 * tests are skipped with the reason; `npm run test:toolchains` runs them (test-toolchains/webgpu.test.ts
 * fails instead of skipping).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../src/engine/index.ts';
import {
  createHostHandlerInstance,
  probeWebGpu,
  WEBGPU_GAS,
  WEBGPU_MODULE,
  WebGpuHost,
  type WebGpuLimits,
  webgpuImportNames,
} from '../../src/host/index.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const selftest = new Uint8Array(readFileSync(here('../data/webgpu/selftest.wasm')));
const bin = here('../../bin/wasmvm-tee.js');

const probe = await probeWebGpu();
const skip = probe.available
  ? false
  : `no WebGPU adapter here (${probe.reason}); install .ci/apt-packages.txt (Mesa EGL/GLES) and run npm run test:toolchains`;
if (skip) process.stdout.write(`# webgpu tests skipped: ${skip}\n`);

describe('WebGPU host (wasmvm_webgpu)', { skip }, () => {
  let host: WebGpuHost;
  let small: WebGpuHost;
  let engine: Engine;
  let smallEngine: Engine;
  before(async () => {
    host = await WebGpuHost.open();
    small = await WebGpuHost.open({ limits: { maxObjects: 40, maxBufferBytes: 4096 } });
    engine = new Engine({ hostHandler: createHostHandlerInstance({ webgpu: host }).handler });
    smallEngine = new Engine({ hostHandler: createHostHandlerInstance({ webgpu: small }).handler });
  });
  after(async () => {
    await engine.close();
    await smallEngine.close();
    host.close();
    small.close();
  });

  const exec = (mode: string, o: { gas?: bigint; limits?: Partial<WebGpuLimits>; small?: boolean } = {}) =>
    (o.small ? smallEngine : engine).execute({
      bytecode: selftest,
      fn: '_start',
      args: [],
      ...(o.gas !== undefined ? { gasLimit: o.gas } : {}),
      hostModules: ['wasi_snapshot_preview1', WEBGPU_MODULE],
      hostOptions: {
        wasi: { args: ['selftest', mode], stdio: 'capture' },
        webgpu: { limits: o.limits ?? (o.small ? small.limits : host.limits) },
      },
      limits: { timeoutMs: 60_000 },
    });
  const out = (r: { stdout?: Uint8Array }) => Buffer.from(r.stdout ?? []).toString();
  /** The guest's exit code: _start returning is 'ok' (0), proc_exit(n) is 'exit' n. */
  const code = (r: { status: string; exitCode?: number }) =>
    r.status === 'ok' ? 0 : r.status === 'exit' ? r.exitCode : `status ${r.status}`;

  test('every function: compute, override constants, copies, clear, map read/write, scopes, refs', async () => {
    const r = await exec('all');
    assert.equal(code(r), 0, `${r.message} ${out(r)}`);
    assert.match(out(r), /selftest: ok/);
    assert.doesNotMatch(out(r), /FAIL/);
    for (const f of [
      'wgpuAdapterGetInfo',
      'wgpuDeviceCreateBuffer',
      'wgpuDeviceCreateComputePipeline',
      'wgpuDeviceCreateBindGroup',
      'wgpuQueueOnSubmittedWorkDone',
      'dispatch result',
      'wgpuBufferGetMappedRange write-back',
    ])
      assert.match(out(r), new RegExp(`ok ${f}`));
    // the result records GPU use and the adapter
    assert.ok(r.webgpu);
    assert.equal(r.webgpu.dispatches, 1);
    assert.equal(r.webgpu.workgroups, 4);
    assert.equal(r.webgpu.adapter.device, host.adapterInfo.device);
    assert.ok(r.webgpu.bytesToGpu >= 1024 && r.webgpu.bytesFromGpu >= 1024);
    assert.equal(host.sessionCount, 0, 'the session is gone after the execution');
  });

  test('buffers are zero-filled: a second execution does not see the first one’s data', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await exec('zero');
      assert.equal(code(r), 0, out(r));
      assert.match(out(r), /zero: yes/);
    }
    assert.equal(host.sessionCount, 0);
    assert.equal(host.objectCount, 0);
  });

  for (const [mode, re] of [
    ['bad-handle', /wgpuBufferDestroy: WGPUBuffer handle 12345 is not a live object of this execution/],
    ['wrong-kind', /handle \d+ is a WGPUDevice, expected WGPUBuffer/],
    ['use-after-release', /wgpuBufferGetSize: WGPUBuffer handle \d+ is not a live object/],
    [
      'oob',
      /wgpuQueueWriteBuffer data: guest range \[4294967040, 4294967040\+1024\) is outside linear memory/,
    ],
    ['oob-descriptor', /WGPUBufferDescriptor: guest range \[4294967280, .*outside linear memory/],
  ] as const) {
    test(`guest misuse (${mode}) stops the guest with a clear message; the host keeps working`, async () => {
      const r = await exec(mode);
      assert.equal(r.status, 'host_trap');
      assert.match(r.message ?? '', re);
      assert.equal(host.sessionCount, 0, 'the trapped execution’s objects are destroyed');
      const again = await exec('zero');
      assert.equal(code(again), 0);
    });
  }

  for (const [mode, re] of [
    [
      'oversize',
      /handle: null\nerror 2: buffer size 1099511627776 exceeds the operator limit of 67108864 bytes/,
    ],
    ['bad-wgsl', /error 2: Error while parsing WGSL: .*unresolved value 'undefined_thing'/],
    ['use-after-destroy', /error 2: .*used in submit while destroyed/],
    ['dispatch-cap', /error 2: dispatch of 65535x65535x1 workgroups exceeds the operator limit/],
    ['no-scope', /pop 0\nmessage: popErrorScope: no error scope is open/],
    ['uncaptured', /uncaptured 2: Error while parsing WGSL/],
  ] as const) {
    test(`WebGPU error (${mode}) is returned to the guest with its message`, async () => {
      const r = await exec(mode);
      assert.equal(code(r), 0, `${r.status} ${r.message}`);
      assert.match(out(r), re);
    });
  }

  test('live-object limit: creation fails with an out-of-memory error in the scope', async () => {
    const r = await exec('objects', { small: true });
    assert.equal(code(r), 0, r.message);
    const made = Number(/made (\d+)/.exec(out(r))?.[1]);
    assert.ok(made > 0 && made < 40, out(r));
    assert.match(out(r), /error 3: too many live WebGPU objects \(operator limit 40\)/);
    assert.equal(small.objectCount, 0);
  });

  test('a queue write larger than the buffer limit is refused without copying it', async () => {
    const r = await exec('big-write', { small: true });
    assert.equal(code(r), 0, r.message);
    assert.match(out(r), /error 2: write of 8192 bytes exceeds the operator limit of 4096 bytes/);
    assert.equal(r.webgpu?.bytesToGpu, 0);
  });

  test('an execution killed at its deadline: its objects are destroyed by the idle sweep', async () => {
    const sweepHost = await WebGpuHost.open({ sessionIdleMs: 300 });
    const e = new Engine({ hostHandler: createHostHandlerInstance({ webgpu: sweepHost }).handler });
    try {
      const r = await e.execute({
        bytecode: selftest,
        fn: '_start',
        args: [],
        hostModules: ['wasi_snapshot_preview1', WEBGPU_MODULE],
        hostOptions: { wasi: { args: ['selftest', 'hang'], stdio: 'capture' } },
        limits: { timeoutMs: 3000 },
      });
      assert.equal(r.status, 'deadline_exceeded');
      await new Promise((res) => setTimeout(res, 1000));
      assert.equal(sweepHost.sessionCount, 0);
      assert.equal(sweepHost.objectCount, 0);
    } finally {
      await e.close();
      sweepHost.close();
    }
  });

  test('gas: every call costs WEBGPU_GAS.call; out of gas stops the guest', async () => {
    const r = await exec('spin', { gas: 100_000_000n });
    assert.equal(code(r), 0, r.message);
    const gpuGas = BigInt(r.webgpu?.gas ?? '0');
    // 200 calls in the loop alone, plus setup
    assert.ok(gpuGas >= 200n * WEBGPU_GAS.call, String(gpuGas));
    assert.ok((r.gasUsed ?? 0n) > gpuGas);
    const starved = await exec('spin', { gas: 50_000n });
    assert.equal(starved.status, 'out_of_gas');
    assert.equal(starved.gasUsed, 50_000n);
    assert.equal(host.sessionCount, 0);
  });

  test('without --webgpu the adapter request fails with the reason (no crash)', async () => {
    const off = new Engine({ hostHandler: createHostHandlerInstance({}).handler });
    try {
      const r = await off.execute({
        bytecode: selftest,
        fn: '_start',
        args: [],
        hostModules: ['wasi_snapshot_preview1', WEBGPU_MODULE],
        hostOptions: { wasi: { args: ['selftest', 'all'], stdio: 'capture' } },
      });
      assert.equal(code(r), 3);
      assert.match(out(r), /no adapter: WebGPU is not available on this host: not enabled by the operator/);
    } finally {
      await off.close();
    }
  });

  test('service backend (serve --webgpu): the guest gets WebGPU through hostSetup; off by default', async () => {
    const { createDefaultBackend } = await import('../../src/server/index.ts');
    const on = await createDefaultBackend({ teeProvider: 'simulated', noGpu: true, webgpu: {} });
    const off = await createDefaultBackend({ teeProvider: 'simulated', noGpu: true });
    try {
      assert.equal(on.webgpu?.available, true);
      assert.equal(off.webgpu, undefined);
      const modules = [
        ...new Set(WebAssembly.Module.imports(new WebAssembly.Module(selftest)).map((i) => i.module)),
      ];
      const setup = on.hostSetup?.(modules, { requestId: 'r1' });
      assert.ok(setup);
      assert.ok(setup.hostModules.includes(WEBGPU_MODULE));
      const wasi = setup.hostOptions.wasi as Record<string, unknown>;
      const r = await on.engine.execute({
        bytecode: selftest,
        fn: '_start',
        args: [],
        hostModules: setup.hostModules,
        hostOptions: { ...setup.hostOptions, wasi: { ...wasi, args: ['selftest', 'all'] } },
      });
      assert.equal(code(r), 0, `${r.message} ${out(r)}`);
      assert.equal(r.webgpu?.dispatches, 1);
      const offSetup = off.hostSetup?.(modules, { requestId: 'r2' });
      const r2 = await off.engine.execute({
        bytecode: selftest,
        fn: '_start',
        args: [],
        hostModules: offSetup?.hostModules ?? [],
        hostOptions: offSetup?.hostOptions ?? {},
      });
      assert.equal(code(r2), 3);
      assert.match(out(r2), /no adapter: WebGPU is not available on this host/);
    } finally {
      await on.engine.close?.();
      await off.engine.close?.();
    }
  });

  test('detect_tee reports WebGPU availability and the adapter', async () => {
    const h = createHostHandlerInstance({ webgpu: host }).handler;
    const d = (await h('detect_tee', {})) as { webgpu: { available: boolean; adapter: { device: string } } };
    assert.equal(d.webgpu.available, true);
    assert.equal(d.webgpu.adapter.device, host.adapterInfo.device);
    const none = (await createHostHandlerInstance({}).handler('detect_tee', {})) as {
      webgpu: { available: boolean };
    };
    assert.equal(none.webgpu.available, false);
  });

  test('the import list is the documented one', () => {
    const names = webgpuImportNames();
    assert.ok(names.includes('wgpuComputePassEncoderDispatchWorkgroups'));
    assert.ok(names.includes('wasmvmBufferMapSync'));
    const doc = readFileSync(here('../../docs/webgpu.md'), 'utf8');
    for (const n of names) assert.ok(doc.includes(`\`${n}\``), `docs/webgpu.md lists ${n}`);
    const header = readFileSync(here('../../guest/cpp/webgpu.h'), 'utf8');
    for (const n of names) assert.ok(header.includes(`WGPU_IMPORT(${n})`), `webgpu.h declares ${n}`);
  });

  test('assemblyscript example (guest/assemblyscript/assembly/webgpu.ts bindings) computes y = 2x + 1', () => {
    const r = spawnSync(
      process.execPath,
      [bin, 'run', '--webgpu', here('../../guest/prebuilt/webgpu_example_as.wasm')],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /gpu: y = 2x \+ 1 for 1024 values, 0 wrong/);
  });

  for (const [lang, file] of [
    ['cpp', 'webgpu_train_cpp.wasm'],
    ['rust', 'webgpu_train_rust.wasm'],
  ] as const) {
    test(`${lang} training example: attests (simulated), trains a 2-layer MLP, matches the CPU reference`, () => {
      const wasm = here(`../../guest/prebuilt/${file}`);
      const r = spawnSync(
        process.execPath,
        [bin, 'run', '--webgpu', '--allow-simulated', '--no-gpu', wasm, '--', '--allow-unattested-gpu'],
        { encoding: 'utf8', timeout: 300_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /VM attested: AMD SEV-SNP \[SIMULATED\], token verified/);
      assert.match(r.stdout, /epoch {2}1: loss [0-9.]+/);
      assert.match(r.stdout, /epoch 40: loss [0-9.]+/);
      const m = /trained: loss ([0-9.]+), max \|w_gpu - w_cpu\| = ([0-9.e+-]+)/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.ok(Number(m[1]) < 0.02, `final loss ${m[1]}`);
      assert.ok(Number(m[2]) <= 1e-4, `error ${m[2]}`);
      assert.match(r.stderr, /WebGPU: 200 dispatches/);
    });
    test(`${lang} training example refuses to train without attestation`, () => {
      const wasm = here(`../../guest/prebuilt/${file}`);
      const noTee = spawnSync(
        process.execPath,
        [bin, 'run', '--webgpu', '--no-gpu', wasm, '--', '--allow-unattested-gpu'],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      assert.equal(noTee.status, 1, noTee.stderr);
      assert.match(noTee.stderr, /refusing to train: VM attestation failed/);
      assert.doesNotMatch(noTee.stdout, /epoch/);
      const noGpu = spawnSync(
        process.execPath,
        [bin, 'run', '--webgpu', '--allow-simulated', '--no-gpu', wasm],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      assert.equal(noGpu.status, 3, noGpu.stderr);
      assert.match(noGpu.stderr, /refusing to train: the host has no attestable NVIDIA GPU/);
      assert.doesNotMatch(noGpu.stdout, /epoch/);
    });
  }
});
