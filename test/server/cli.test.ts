/**
 * The CLIs as a user runs them: `wasmvm-tee serve` (loud simulated-TEE notice, SIGTERM drains and
 * exits 0), `wasmvm-tee exec --server` (verifies by default; exit codes), and TLS (self-signed
 * certificate, the client trusting it as its CA).
 */
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';
import { Engine } from '../../src/engine/index.ts';
import { createWasmvmClient, executeAndVerify } from '../../src/server/client.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { fixture, simulatedAttester, startTestServer } from './helpers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/wasmvm-tee.js');
const wasm = join(root, 'test/server/fixtures/arith.wasm');

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

describe('wasmvm-tee serve / exec --server', () => {
  let dir: string;
  let child: ChildProcess;
  let address: string;
  let stderr = '';
  let exited: Promise<number | null>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-cli-'));
    // Pre-create the simulated chain with 2048-bit keys (the CLI would make 4096-bit ones: slow).
    await new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false }).getChain();
    child = spawn(
      process.execPath,
      [bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--tee', 'simulated'],
      {
        env: { ...process.env, WASMVM_TEE_STATE_DIR: dir },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    exited = new Promise((r) => child.on('exit', (code) => r(code)));
    address = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`serve did not start:\n${stderr}`)), 90_000);
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /serving on http:\/\/(\S+)/.exec(stderr);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('says loudly that the TEE is simulated', () => {
    assert.match(stderr, /SIMULATED TEE/);
    assert.match(stderr, /"msg":"listening"/);
  });

  it('exec --server verifies and prints outputs (allowing the simulated TEE)', async () => {
    const r = await run([
      'exec',
      '--server',
      address,
      '--wasm',
      wasm,
      '--fn',
      'add',
      '--arg',
      '2',
      '--arg',
      '40',
      '--allow-simulated',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = JSON.parse(r.stdout) as {
      outputs: { type: string; value: number }[];
      verified: boolean;
      status: string;
    };
    assert.deepEqual(out.outputs, [{ type: 'i32', value: 42 }]);
    assert.equal(out.verified, true);
    assert.equal(out.status, 'ok');
  });

  it('exec --server over connect and grpc-web, with gas, per-request attestation', async () => {
    for (const protocol of ['connect', 'grpc-web']) {
      const r = await run([
        'exec',
        '--server',
        address,
        '--wasm',
        wasm,
        '--fn',
        'fib',
        '--arg',
        '10',
        '--gas',
        '100000',
        '--attestation',
        'per-request',
        '--protocol',
        protocol,
        '--allow-simulated',
      ]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /outputs: i64:55/);
      assert.match(r.stdout, /gas used: [1-9]/);
      assert.match(r.stdout, /verification: OK/);
    }
  });

  it('exec --server fails verification (exit 1) when the simulated TEE is not trusted', async () => {
    const r = await run([
      'exec',
      '--server',
      address,
      '--wasm',
      wasm,
      '--fn',
      'add',
      '--arg',
      '1',
      '--arg',
      '1',
    ]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /verification: FAILED/);
  });

  it('exec --server trusts a given simulated root', async () => {
    const pem = await new SimulatedSevSnpProvider({ stateDir: dir, warn: false }).rootPem();
    const f = join(dir, 'root.pem');
    writeFileSync(f, pem);
    const r = await run([
      'exec',
      '--server',
      address,
      '--wasm',
      wasm,
      '--fn',
      'add',
      '--arg',
      '1',
      '--arg',
      '1',
      '--trust-simulated-root',
      f,
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
  });

  it('exec --server: a server error exits 3 with its code', async () => {
    const r = await run(['exec', '--server', address, '--wasm', wasm, '--fn', 'nope', '--allow-simulated']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /FUNCTION_NOT_FOUND/);
  });

  it('serve --help and bad options', async () => {
    const h = await run(['serve', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--attestation MODE/);
    const bad = await run(['serve', '--attestation', 'sometimes']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--attestation/);
  });

  it('SIGTERM: graceful shutdown, exit 0', async () => {
    const t0 = Date.now();
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    // nothing left in flight: it must not sit out the 30 s drain timeout
    assert.ok(Date.now() - t0 < 10_000, `exited after ${Date.now() - t0} ms`);
    assert.match(stderr, /graceful shutdown/);
    assert.match(stderr, /server stopped/);
  });
});

describe('TLS', () => {
  it('serves gRPC, gRPC-Web and Connect over TLS on one port (self-signed certificate)', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const keys = (await webcrypto.subtle.generateKey(alg, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=localhost',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3600_000),
      keys,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
    const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
    const certPem = cert.toString('pem');
    const sim = simulatedAttester();
    const ts = await startTestServer(
      { engine: new Engine({ workers: 1 }), attester: sim.attester },
      { tls: { cert: certPem, key: keyPem } },
      sim.cleanup,
    );
    try {
      assert.match(ts.server.url, /^https:/);
      for (const protocol of ['grpc', 'grpc-web', 'connect'] as const) {
        const c = createWasmvmClient({ baseUrl: ts.server.url, protocol, ca: certPem });
        const r = await executeAndVerify(
          c,
          { bytecode: fixture('arith.wasm'), fn: 'add', args: ['3', '4'] },
          { allowSimulated: true },
        );
        assert.deepEqual(r.outputs, [{ type: 'i32', value: 7 }]);
        assert.ok(r.verdict.ok);
      }
      // without trusting the certificate the client refuses
      const untrusted = createWasmvmClient({ baseUrl: ts.server.url });
      await assert.rejects(untrusted.echo({}));
      // metrics over TLS too
      const m = await createWasmvmClient({ baseUrl: ts.server.url, ca: certPem }).echo({});
      assert.equal(m.payload.length, 0);
    } finally {
      await ts.close();
    }
  });
});
