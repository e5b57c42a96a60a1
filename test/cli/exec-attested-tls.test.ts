/**
 * Attested TLS through the CLIs: `wasmvm-tee serve --tls-attested` (a real server process, simulated TEE)
 * makes its TLS key at start and binds it into the session; `exec --attested-tls` (plain and --seal)
 * verifies the attestation and pins the key; a TLS-terminating proxy with another certificate in front of
 * the server is refused (exit 1, TLS_KEY_MISMATCH) and sees no request; usage errors exit 2.
 */
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { generateAttestedTlsCredentials } from '../../src/server/attested-tls.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { runCli } from './run-in-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/wasmvm-tee.js');
const WASM = join(root, 'test/server/fixtures/arith.wasm');

describe('serve --tls-attested / exec --attested-tls', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  let stderr = '';
  let proxy: tls.Server;
  let proxyUrl: string;
  const seenByProxy: Buffer[] = [];
  const sockets = new Set<tls.TLSSocket>();
  const exec = (server: string, ...more: string[]) =>
    runCli([
      'exec',
      '--server',
      server,
      '--wasm',
      WASM,
      '--fn',
      'add',
      '--arg',
      '4242',
      '--arg',
      '1',
      ...more,
    ]);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-attested-tls-cli-'));
    await new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false }).getChain();
    child = spawn(
      process.execPath,
      [bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--tee', 'simulated', '--tls-attested'],
      { env: { ...process.env, WASMVM_TEE_STATE_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`serve did not start:\n${stderr}`)), 90_000);
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /serving on (https:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      child.on('exit', (c) => reject(new Error(`serve exited ${c}:\n${stderr}`)));
    });
    // A TLS-terminating proxy with its own (another) key, forwarding to the real server over TLS.
    const other = await generateAttestedTlsCredentials();
    const port = Number(new URL(url).port);
    proxy = tls.createServer({ cert: other.cert, key: other.key, ALPNProtocols: ['h2'] }, (c) => {
      const s = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false });
      sockets.add(c).add(s);
      c.on('data', (d: Buffer) => {
        seenByProxy.push(Buffer.from(d));
        s.write(d);
      });
      s.on('data', (d: Buffer) => c.write(d));
      const end = () => {
        c.destroy();
        s.destroy();
      };
      c.on('close', end).on('error', end);
      s.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyUrl = `https://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => proxy.close(() => r()));
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serve logs the TLS key it made and bound', () => {
    const line = stderr.split('\n').find((l) => l.includes('"msg":"listening"'));
    assert.ok(line, stderr);
    const j = JSON.parse(line);
    assert.equal(j.tls, true);
    assert.equal(j.tlsKeyOrigin, 'tee-generated');
    assert.match(j.tlsSpkiSha256, /^[0-9a-f]{64}$/);
  });

  it('exec --attested-tls: verified over the pinned key, plain and sealed', async () => {
    const r = await exec(url, '--attested-tls', '--allow-simulated');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /outputs: i32:4243/);
    const key = /attested TLS: peer key SPKI SHA-256 ([0-9a-f]{64})/.exec(r.out)?.[1];
    const logged = JSON.parse(stderr.split('\n').find((l) => l.includes('"msg":"listening"'))!);
    assert.equal(key, logged.tlsSpkiSha256);
    const s = await exec(url, '--attested-tls', '--seal', '--allow-simulated', '--json');
    assert.equal(s.code, 0, s.out + s.err);
    assert.equal(JSON.parse(s.out).verified, true);
    // the host:port form with --attested-tls means https
    const h = await exec(url.replace('https://', ''), '--attested-tls', '--allow-simulated');
    assert.equal(h.code, 0, h.out + h.err);
  });

  it('a TLS-terminating proxy in front: refused (exit 1, TLS_KEY_MISMATCH), no request seen', async () => {
    for (const more of [[], ['--seal']]) {
      seenByProxy.length = 0;
      const r = await exec(proxyUrl, '--attested-tls', '--allow-simulated', ...more);
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.err, /TLS_KEY_MISMATCH: .*not the attested TLS key/);
      const seen = Buffer.concat(seenByProxy);
      assert.ok(seen.length > 0, 'the proxy relayed the attestation');
      assert.equal(seen.indexOf('4242'), -1);
      assert.equal(seen.indexOf(Buffer.from(readFileSync(WASM).subarray(8, 40))), -1);
    }
    // control: without --attested-tls (trusting any certificate) the call goes through the proxy
    seenByProxy.length = 0;
    const open = await exec(proxyUrl, '--insecure', '--allow-simulated');
    assert.equal(open.code, 0, open.out + open.err);
    assert.notEqual(Buffer.concat(seenByProxy).indexOf('4242'), -1);
  });

  it('usage: --attested-tls with --insecure/--ca/--no-verify/http:// exits 2; serve refuses a cert too', async () => {
    for (const more of [['--insecure'], ['--ca', WASM], ['--no-verify']]) {
      const r = await exec(url, '--attested-tls', ...more);
      assert.equal(r.code, 2, `${more}: ${r.out}${r.err}`);
    }
    const h = await exec(url.replace('https://', 'http://'), '--attested-tls');
    assert.equal(h.code, 2);
    const s = await runCli(['serve', '--tls-attested', '--tls-cert', WASM, '--tls-key', WASM]);
    assert.equal(s.code, 2);
  });
});
