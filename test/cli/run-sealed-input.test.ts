/**
 * `wasmvm-tee run --sealed-input` + `wasmvm-tee seal` end to end with the simulated TEE
 * (docs/sealed-execution.md §10): the run publishes an attested key request, the data owner's `seal`
 * verifies it (evidence, module, nonce) before sealing, the run opens the file and the guest reads the
 * plaintext on stdin. Refusals: another module, an edited key request, another nonce (nothing written);
 * a stale file for another key is waited past; an edited ciphertext and a missed deadline stop the run.
 */
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunArgs, runConfigText, runModule } from '../../src/cli/run.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { wat } from '../host/helpers.ts';
import { runCli } from './run-in-process.ts';

/** cat: copies stdin to stdout until EOF. */
const CAT = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start") (local $n i32)
    (block $eof (loop $l
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 4096))
      (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $n (i32.load (i32.const 8)))
      (br_if $eof (i32.eqz (local.get $n)))
      (i32.store (i32.const 16) (i32.const 1024))
      (i32.store (i32.const 20) (local.get $n))
      (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
      (br $l)))))`;

const SECRET = 'training rows: alice,42\nbob,17\n'.repeat(300); // 9 KiB: several fd_read calls

describe('run --sealed-input / seal', () => {
  let dir: string;
  let provider: SimulatedSevSnpProvider;
  let mod: string;
  let other: string;
  let data: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-sealed-input-'));
    provider = new SimulatedSevSnpProvider({ stateDir: join(dir, 'tee'), rsaBits: 2048, warn: false });
    mod = join(dir, 'cat.wasm');
    writeFileSync(mod, await wat(CAT));
    other = join(dir, 'other.wasm');
    writeFileSync(
      other,
      await wat(CAT.replace('(memory (export "memory") 2)', '(memory (export "memory") 3)')),
    );
    data = join(dir, 'data.csv');
    writeFileSync(data, SECRET);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const args = (name: string, extra: Partial<NonNullable<RunArgs['sealedInput']>> = {}): RunArgs => ({
    module: mod,
    preopens: [],
    env: {},
    args: ['--epochs', '3'],
    mode: 'interp',
    timeoutMs: 30_000,
    allowSimulated: true,
    deterministic: false,
    noGpu: true,
    sealedInput: {
      file: join(dir, `${name}.sealed`),
      keyRequest: join(dir, `${name}.request.json`),
      waitMs: 60_000,
      ...extra,
    },
  });
  const waitFor = async (path: string) => {
    for (let i = 0; i < 600 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(path), `${path} never appeared`);
  };
  const seal = (name: string, ...more: string[]) =>
    runCli([
      'seal',
      '--key-request',
      join(dir, `${name}.request.json`),
      '--in',
      data,
      '--out',
      join(dir, `${name}.sealed`),
      '--allow-simulated',
      ...more,
    ]);

  it('the owner verifies the request, seals; the guest reads the plaintext on stdin', async () => {
    const a = args('ok', { nonce: Uint8Array.from([1, 2, 3, 4]) });
    const running = runModule(a, { tee: provider });
    await waitFor(a.sealedInput!.keyRequest);
    const req = JSON.parse(readFileSync(a.sealedInput!.keyRequest, 'utf8'));
    assert.equal(req.format, 'wasmvm-tee/sealed-input-key-request');
    assert.equal(req.run, runConfigText(a));
    assert.equal(req.nonce, '01020304');
    assert.equal(JSON.parse(req.run).args[1], '--epochs');
    const s = await seal('ok', '--wasm', mod, '--nonce', '01020304', '--json');
    assert.equal(s.code, 0, s.out + s.err);
    const j = JSON.parse(s.out);
    assert.equal(j.sealed, true);
    assert.equal(j.verdict.ok, true);
    // what lies on the host's disk is ciphertext
    const sealed = readFileSync(a.sealedInput!.file, 'utf8');
    assert.equal(sealed.includes('alice'), false);
    assert.equal(Buffer.from(JSON.parse(sealed).ciphertext, 'base64').includes('alice'), false);
    const r = await running;
    assert.equal(r.status, 'ok', r.message);
    assert.equal(Buffer.from(r.stdout).toString(), SECRET);
  });

  it('refused before sealing: another module, another nonce, an edited request (nothing written)', async () => {
    const a = args('refused', { nonce: Uint8Array.from([9, 9]) });
    const running = runModule({ ...a, sealedInput: { ...a.sealedInput!, waitMs: 4000 } }, { tee: provider });
    await waitFor(a.sealedInput!.keyRequest);
    const wrongModule = await seal('refused', '--wasm', other);
    assert.equal(wrongModule.code, 1, wrongModule.out + wrongModule.err);
    assert.match(wrongModule.err, /sealed-input\.module/);
    const wrongNonce = await seal('refused', '--wasm', mod, '--nonce', '0808');
    assert.equal(wrongNonce.code, 1);
    assert.match(wrongNonce.err, /sealed-input\.nonce/);
    const wrongRun = await seal('refused', '--wasm', mod, '--run-config', '{"args":["cat.wasm"]}');
    assert.equal(wrongRun.code, 1);
    assert.match(wrongRun.err, /sealed-input\.run/);
    // a host that swaps in its own public key: the evidence no longer binds the request
    const req = JSON.parse(readFileSync(a.sealedInput!.keyRequest, 'utf8'));
    req.seal.publicKey = Buffer.alloc(32, 7).toString('base64');
    writeFileSync(join(dir, 'edited.request.json'), JSON.stringify(req));
    const edited = await seal('edited', '--wasm', mod);
    assert.equal(edited.code, 1);
    assert.match(edited.err, /sealed-input\.binding/);
    // the simulated TEE refused unless allowed
    const strict = await runCli([
      'seal',
      '--key-request',
      a.sealedInput!.keyRequest,
      '--in',
      data,
      '--out',
      a.sealedInput!.file,
      '--wasm',
      mod,
    ]);
    assert.equal(strict.code, 1);
    assert.equal(existsSync(a.sealedInput!.file), false, 'nothing written');
    assert.equal(existsSync(join(dir, 'edited.sealed')), false);
    // the run gives up at its deadline: nothing ran
    await assert.rejects(running, { code: 'HOST_SEALED_INPUT', message: /no sealed input .* before/ });
  });

  it('a stale file for another key is waited past; an edited ciphertext stops the run', async () => {
    // stale: a sealed file from an earlier run is already there
    const first = args('stale');
    const run1 = runModule(first, { tee: provider });
    await waitFor(first.sealedInput!.keyRequest);
    assert.equal((await seal('stale', '--wasm', mod)).code, 0);
    await run1;
    const staleText = readFileSync(first.sealedInput!.file, 'utf8');
    rmSync(first.sealedInput!.keyRequest);
    const run2 = runModule(first, { tee: provider });
    await waitFor(first.sealedInput!.keyRequest);
    assert.equal(readFileSync(first.sealedInput!.file, 'utf8'), staleText, 'the stale file is still there');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await seal('stale', '--wasm', mod)).code, 0);
    const r2 = await run2;
    assert.equal(Buffer.from(r2.stdout).toString(), SECRET);

    // one bit of the ciphertext flipped on the host's disk
    const b = args('tampered');
    const run3 = runModule(b, { tee: provider });
    await waitFor(b.sealedInput!.keyRequest);
    const out = join(dir, 'tampered.good');
    const s = await runCli([
      'seal',
      '--key-request',
      b.sealedInput!.keyRequest,
      '--in',
      data,
      '--out',
      out,
      '--wasm',
      mod,
      '--allow-simulated',
    ]);
    assert.equal(s.code, 0, s.err);
    const f = JSON.parse(readFileSync(out, 'utf8'));
    const ct = Buffer.from(f.ciphertext, 'base64');
    ct[100]! ^= 0x01;
    f.ciphertext = ct.toString('base64');
    writeFileSync(b.sealedInput!.file, JSON.stringify(f));
    await assert.rejects(run3, { code: 'HOST_SEALED_INPUT', message: /does not open/ });
  });

  it('usage: --sealed-input and --key-request go together; seal needs the module', async () => {
    const r = await runCli(['run', mod, '--sealed-input', join(dir, 'x')]);
    assert.equal(r.code, 2);
    const n = await runCli(['run', mod, '--nonce', 'aa']);
    assert.equal(n.code, 2);
    const s = await runCli(['seal', '--key-request', 'a', '--in', 'b', '--out', 'c']);
    assert.equal(s.code, 2);
    const h = await runCli(['seal', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /--key-request/);
  });
});
