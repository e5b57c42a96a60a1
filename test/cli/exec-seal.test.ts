/**
 * `wasmvm-tee exec --server … --seal`: verifies the attestation against the policy before sealing
 * anything, prints the same --json shape as without --seal, and refuses (exit 1, nothing sent) when the
 * attestation does not satisfy the policy. Server in-process (real engine, simulated TEE).
 */
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../src/engine/index.ts';
import { TeeAttester } from '../../src/server/attester.ts';
import { createLogger } from '../../src/server/log.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { runCli } from './run-in-process.ts';

const WASM = fileURLToPath(new URL('../server/fixtures/arith.wasm', import.meta.url));

const run = runCli;

describe('exec --server --seal', () => {
  let dir: string;
  let engine: Engine;
  let server: RunningServer;
  const base = () => [
    'exec',
    '--server',
    server.url,
    '--wasm',
    WASM,
    '--fn',
    'add',
    '--arg',
    '20',
    '--arg',
    '22',
  ];
  const sealedCalls = async () => {
    const m = /wasmvm_requests_total\{method="wasm\.WASMVMTeeService\/ExecuteSealed",code="OK"\} (\d+)/.exec(
      await server.metrics.render(),
    );
    return m ? Number(m[1]) : 0;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-exec-seal-'));
    const provider = new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false });
    engine = new Engine({ workers: 1 });
    server = await startServer({
      backend: { engine, attester: new TeeAttester(provider) },
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('silent'),
      shutdownTimeoutMs: 2000,
    });
  });
  after(async () => {
    await server.close();
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--seal --json prints the same shape as without --seal, verified', async () => {
    const plain = await run([...base(), '--allow-simulated', '--json']);
    const sealed = await run([...base(), '--allow-simulated', '--json', '--seal']);
    assert.equal(plain.code, 0, plain.err);
    assert.equal(sealed.code, 0, sealed.err + sealed.out);
    const p = JSON.parse(plain.out);
    const s = JSON.parse(sealed.out);
    assert.deepEqual(Object.keys(s), Object.keys(p));
    assert.deepEqual(s.outputs, p.outputs);
    assert.equal(s.verified, true);
    assert.equal(await sealedCalls(), 1);
  });

  it('refuses to seal (exit 1, nothing sent) when the attestation does not verify', async () => {
    const before = await sealedCalls();
    const r = await run([...base(), '--seal']);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /ATTESTATION_REJECTED: refusing to seal/);
    const k = await run([...base(), '--seal', '--allow-simulated', '--tee-kind', 'tdx']);
    assert.equal(k.code, 1);
    assert.match(k.err, /requires tdx/);
    assert.equal(await sealedCalls(), before);
  });

  it('--policy: a pinned measurement the server does not have is refused; the right file passes', async () => {
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ snp: { measurements: ['00'.repeat(48)] } }));
    const r = await run([...base(), '--seal', '--allow-simulated', '--policy', wrong]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /refusing to seal: .*measurement/i);
    const open = join(dir, 'open.json');
    writeFileSync(open, JSON.stringify({ snp: {} }));
    const ok = await run([...base(), '--seal', '--allow-simulated', '--policy', open]);
    assert.equal(ok.code, 0, ok.err);
  });

  it('--seal never skips verification; a sealed request error exits 3 with its code', async () => {
    const u = await run([...base(), '--seal', '--no-verify']);
    assert.equal(u.code, 2);
    const e = await run([
      'exec',
      '--server',
      server.url,
      '--wasm',
      WASM,
      '--fn',
      'nope',
      '--seal',
      '--allow-simulated',
    ]);
    assert.equal(e.code, 3, e.out + e.err);
    assert.match(e.err, /SEALED_REQUEST_FAILED.*FUNCTION_NOT_FOUND/);
  });
});
