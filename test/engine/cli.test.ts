import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/wasmvm-tee.js', import.meta.url));
const kernels = fileURLToPath(new URL('../fixtures/c/kernels.wasm', import.meta.url));

async function exec(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, 'exec', '--wasm', kernels, ...args], { encoding: 'utf8' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

test('exec on the committed C fixture prints the right value in every mode', async () => {
  const modes = ['interp', 'singlepass', 'multipass'];
  const rs = await Promise.all(modes.map((m) => exec(['--fn', 'fib', '--arg', '90', '--mode', m])));
  rs.forEach((r, i) => {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'i64 2880067194370816120');
    assert.match(r.stderr, new RegExp(`status ok\\s+mode ${modes[i]}`));
  });
});

test('exec --json, typed args, trap exit code 4, usage exit code 2', async () => {
  const [json, trap, arity, usage] = await Promise.all([
    exec(['--fn', 'hypot', '--arg', 'f64:3', '--arg', 'f64:4', '--json', '--gas', '1000000']),
    exec(['--fn', 'div', '--arg', '1', '--arg', '0']),
    exec(['--fn', 'gcd', '--arg', '1']),
    exec(['--mode', 'fast']),
  ]);
  assert.equal(json.code, 0, json.stderr);
  const j = JSON.parse(json.stdout);
  assert.equal(j.status, 'ok');
  assert.deepEqual(j.outputs, [{ type: 'f64', bits: '0x4014000000000000', value: '5' }]);
  assert.match(j.gasUsed, /^[1-9][0-9]*$/);
  assert.ok(j.costTableVersion);
  assert.equal(trap.code, 4);
  assert.match(trap.stderr, /integer_divide_by_zero/);
  assert.equal(arity.code, 2);
  assert.match(arity.stderr, /ARITY_MISMATCH/);
  assert.equal(usage.code, 2);
});
