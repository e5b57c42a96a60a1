/**
 * WebGPU with the real toolchains and Mesa's CPU OpenGL ES (Debian packages in .ci/apt-packages.txt):
 * here a missing adapter is a failure, not a skip. Rebuilds the self-test guest and both training
 * examples, checks the committed prebuilt modules are what the toolchains produce, checks the wasm32
 * struct layouts the host reads against clang's, and runs test/host/webgpu.test.ts's suite (which
 * exercises every function and misuse) with the adapter required.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LAYOUT } from '../src/host/webgpu/abi.ts';
import { probeWebGpu } from '../src/host/webgpu/host.ts';
import { bin, root, sh, tmp } from './guest-helpers.ts';

const train = (wasm: string, extra: string[] = ['--', '--allow-unattested-gpu']) =>
  spawnSync(process.execPath, [bin, 'run', '--webgpu', '--allow-simulated', '--no-gpu', wasm, ...extra], {
    encoding: 'utf8',
    timeout: 300_000,
  });
const TRAINED = /trained: loss ([0-9.]+), max \|w_gpu - w_cpu\| = ([0-9.e+-]+)/;

test('a WebGPU adapter can be created (Dawn on Mesa OpenGL ES, EGL surfaceless)', async () => {
  const p = await probeWebGpu();
  assert.ok(p.available, p.available ? '' : p.reason);
  process.stdout.write(`# adapter: ${JSON.stringify(p.available ? p.adapter : null)}\n`);
});

test('webgpu.h struct layouts (clang wasm32) match what the host reads (LAYOUT)', () => {
  const dir = tmp();
  const src = join(dir, 'layout.c');
  const checks: [string, string, number][] = [
    ['WGPUBufferDescriptor', 'usage', LAYOUT.bufferDescriptor.usage],
    ['WGPUBufferDescriptor', 'size', LAYOUT.bufferDescriptor.size],
    ['WGPUBufferDescriptor', 'mappedAtCreation', LAYOUT.bufferDescriptor.mappedAtCreation],
    ['WGPUDeviceDescriptor', 'requiredFeatureCount', LAYOUT.deviceDescriptor.requiredFeatureCount],
    ['WGPUShaderSourceWGSL', 'code', LAYOUT.shaderSourceWGSL.code],
    ['WGPUComputePipelineDescriptor', 'layout', LAYOUT.computePipelineDescriptor.layout],
    ['WGPUComputePipelineDescriptor', 'compute', LAYOUT.computePipelineDescriptor.compute],
    ['WGPUComputeState', 'module', LAYOUT.computeState.module],
    ['WGPUComputeState', 'entryPoint', LAYOUT.computeState.entryPoint],
    ['WGPUComputeState', 'constantCount', LAYOUT.computeState.constantCount],
    ['WGPUComputeState', 'constants', LAYOUT.computeState.constants],
    ['WGPUConstantEntry', 'key', LAYOUT.constantEntry.key],
    ['WGPUConstantEntry', 'value', LAYOUT.constantEntry.value],
    ['WGPUBindGroupLayoutDescriptor', 'entryCount', LAYOUT.bindGroupLayoutDescriptor.entryCount],
    ['WGPUBindGroupLayoutDescriptor', 'entries', LAYOUT.bindGroupLayoutDescriptor.entries],
    ['WGPUBindGroupLayoutEntry', 'binding', LAYOUT.bindGroupLayoutEntry.binding],
    ['WGPUBindGroupLayoutEntry', 'visibility', LAYOUT.bindGroupLayoutEntry.visibility],
    ['WGPUBindGroupLayoutEntry', 'bindingArraySize', LAYOUT.bindGroupLayoutEntry.bindingArraySize],
    ['WGPUBindGroupLayoutEntry', 'buffer.type', LAYOUT.bindGroupLayoutEntry.bufferType],
    ['WGPUBindGroupLayoutEntry', 'buffer.hasDynamicOffset', LAYOUT.bindGroupLayoutEntry.hasDynamicOffset],
    ['WGPUBindGroupLayoutEntry', 'buffer.minBindingSize', LAYOUT.bindGroupLayoutEntry.minBindingSize],
    ['WGPUPipelineLayoutDescriptor', 'bindGroupLayoutCount', LAYOUT.pipelineLayoutDescriptor.count],
    ['WGPUPipelineLayoutDescriptor', 'bindGroupLayouts', LAYOUT.pipelineLayoutDescriptor.layouts],
    ['WGPUBindGroupDescriptor', 'layout', LAYOUT.bindGroupDescriptor.layout],
    ['WGPUBindGroupDescriptor', 'entryCount', LAYOUT.bindGroupDescriptor.entryCount],
    ['WGPUBindGroupDescriptor', 'entries', LAYOUT.bindGroupDescriptor.entries],
    ['WGPUBindGroupEntry', 'buffer', LAYOUT.bindGroupEntry.buffer],
    ['WGPUBindGroupEntry', 'offset', LAYOUT.bindGroupEntry.offset],
    ['WGPUBindGroupEntry', 'size', LAYOUT.bindGroupEntry.size],
    ['WGPUBindGroupEntry', 'sampler', LAYOUT.bindGroupEntry.sampler],
    ['WGPUBindGroupEntry', 'textureView', LAYOUT.bindGroupEntry.textureView],
    ['WGPUComputePassDescriptor', 'timestampWrites', LAYOUT.computePassDescriptor.timestampWrites],
  ];
  const sizes: [string, number][] = [
    ['WGPUBindGroupLayoutEntry', LAYOUT.bindGroupLayoutEntry.size],
    ['WGPUBindGroupEntry', LAYOUT.bindGroupEntry.sizeOf],
    ['WGPUConstantEntry', LAYOUT.constantEntry.size],
  ];
  writeFileSync(
    src,
    `#include "${join(root, 'guest/cpp/webgpu.h')}"\n` +
      checks
        .map(([t, f, o], i) => `_Static_assert(offsetof(${t}, ${f}) == ${o}, "c${i} ${t}.${f}");\n`)
        .join('') +
      sizes.map(([t, s], i) => `_Static_assert(sizeof(${t}) == ${s}, "s${i} ${t}");\n`).join(''),
  );
  sh('clang', ['--target=wasm32-wasi', '-fsyntax-only', '-include', 'stddef.h', src]);
});

test('the self-test guest: clang + wasi-libc build is the committed fixture', () => {
  const out = join(tmp(), 'selftest.wasm');
  sh('clang', ['--target=wasm32-wasi', '-O2', '-o', out, 'test/data/webgpu/selftest.c']);
  assert.deepEqual(readFileSync(out), readFileSync(join(root, 'test/data/webgpu/selftest.wasm')));
});

test('cpp: the training example builds (clang++, libc++) to the committed module, attests and trains', () => {
  const out = join(tmp(), 'webgpu_train_cpp.wasm');
  sh('clang++', [
    '--target=wasm32-wasi',
    '-O2',
    '-std=c++17',
    '-fno-exceptions',
    '-o',
    out,
    'guest/cpp/examples/webgpu_train.cpp',
  ]);
  assert.deepEqual(readFileSync(out), readFileSync(join(root, 'guest/prebuilt/webgpu_train_cpp.wasm')));
  const r = train(out);
  assert.equal(r.status, 0, r.stderr);
  const m = TRAINED.exec(r.stdout);
  assert.ok(m && Number(m[2]) <= 1e-4, r.stdout);
  process.stdout.write(`# cpp: ${m[0]}\n`);
});

test('rust: Debian rustc builds wasmvm-tee-webgpu and the example; it attests and trains', () => {
  const out = tmp();
  sh('sh', ['-c', `OUT=${out} sh ${join(root, 'guest/rust-webgpu/build.sh')}`]);
  const r = train(join(out, 'webgpu_train_rust.wasm'));
  assert.equal(r.status, 0, r.stderr);
  const m = TRAINED.exec(r.stdout);
  assert.ok(m && Number(m[2]) <= 1e-4, r.stdout);
  process.stdout.write(`# rust: ${m[0]}\n`);
  const refused = train(join(out, 'webgpu_train_rust.wasm'), []);
  assert.equal(refused.status, 3, refused.stderr);
});

test('assemblyscript: asc builds the WebGPU example to the committed module; it runs', () => {
  const out = join(tmp(), 'webgpu_example_as.wasm');
  sh(process.execPath, [
    join(root, 'node_modules/assemblyscript/bin/asc.js'),
    'guest/assemblyscript/assembly/webgpu_example.ts',
    '--config',
    'guest/assemblyscript/asconfig.json',
    '--outFile',
    out,
    '--textFile',
    `${out}.wat`,
  ]);
  assert.deepEqual(readFileSync(out), readFileSync(join(root, 'guest/prebuilt/webgpu_example_as.wasm')));
  const r = spawnSync(process.execPath, [bin, 'run', '--webgpu', out], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /gpu: y = 2x \+ 1 for 1024 values, 0 wrong/);
});

test('the WebGPU suite (every function, misuse, limits, gas) runs with the adapter present', () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', join(root, 'test/host/webgpu.test.ts')],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 900_000,
      // a plain TAP run, not a child of this test runner
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')),
    },
  );
  assert.equal(r.status, 0, r.stdout.slice(-4000));
  assert.match(r.stdout, /# skipped 0/);
  assert.match(r.stdout, /# fail 0/);
  assert.doesNotMatch(r.stdout, /webgpu tests skipped/);
});
