/**
 * `wasmvm-tee exec --server … --json > out.json` saves a result that `wasmvm-tee verify --response
 * out.json` re-checks offline: the JSON carries the attestation envelope and report_data, and editing
 * a shown value (an output, the status, gas, report_data) makes verification fail.
 * Server in-process (real engine, simulated TEE); both CLI commands run through the CLI entry point.
 */
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

describe('exec --server --json → verify --response', () => {
  let dir: string;
  let engine: Engine;
  let server: RunningServer;
  let url: string;
  const saved: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-exec-json-'));
    const provider = new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false });
    engine = new Engine({ workers: 1 });
    server = await startServer({
      // a server that reports a build digest (bound into the session and every claim)
      backend: { engine, attester: new TeeAttester(provider, { serverBuildSha256: 'ef'.repeat(32) }) },
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('silent'),
      shutdownTimeoutMs: 2000,
    });
    url = server.url;
    for (const mode of ['session-key', 'per-request']) {
      const r = await run([
        'exec',
        '--server',
        url,
        '--wasm',
        WASM,
        '--fn',
        'fib',
        '--arg',
        '10',
        '--gas',
        '100000',
        '--attestation',
        mode,
        '--allow-simulated',
        '--json',
      ]);
      assert.equal(r.code, 0, r.err + r.out);
      const f = join(dir, `${mode}.json`);
      writeFileSync(f, r.out);
      saved[mode] = f;
    }
  });
  after(async () => {
    await server?.close();
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the JSON holds the attestation envelope and report_data', () => {
    for (const f of Object.values(saved)) {
      const j = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
      assert.equal(typeof j.attestation, 'string');
      const env = JSON.parse(j.attestation as string) as { format: string; reportData: string };
      assert.equal(env.format, 'wasmvm-tee/attestation');
      assert.match(j.reportData as string, /^[0-9a-f]{128}$/);
      assert.equal(env.reportData, j.reportData);
      assert.deepEqual(j.outputs, [{ type: 'i64', value: '55' }]);
      assert.equal(j.serverBuildSha256, 'ef'.repeat(32));
    }
  });

  it("verify --response --server-build: the saved result's attested build is pinned", async () => {
    for (const f of Object.values(saved)) {
      const nonce = (JSON.parse(readFileSync(f, 'utf8')) as { nonce: string }).nonce;
      const base = ['verify', '--response', f, '--nonce', nonce, '--allow-simulated'];
      const ok = await run([...base, '--server-build', 'ef'.repeat(32)]);
      assert.equal(ok.code, 0, ok.err + ok.out);
      assert.match(ok.out, /PASS reference\.server-build/);
      const bad = await run([...base, '--server-build', '12'.repeat(32)]);
      assert.equal(bad.code, 1);
      assert.match(bad.out, /FAIL reference\.server-build/);
    }
  });

  for (const mode of ['session-key', 'per-request']) {
    it(`verify --response (${mode}) accepts the saved result with --allow-simulated, refuses it without`, async () => {
      const nonce = (JSON.parse(readFileSync(saved[mode]!, 'utf8')) as { nonce: string }).nonce;
      const ok = await run([
        'verify',
        '--response',
        saved[mode]!,
        '--nonce',
        nonce,
        '--allow-simulated',
        '--json',
      ]);
      assert.equal(ok.code, 0, ok.err + ok.out);
      const v = JSON.parse(ok.out) as {
        ok: boolean;
        checks: { id: string; outcome: string; detail: string }[];
      };
      assert.equal(v.ok, true);
      for (const id of ['response.outputs', 'response.report-data', 'response.gas-used', 'binding.nonce'])
        assert.equal(v.checks.find((c) => c.id === id)?.outcome, 'pass', id);
      const strict = await run(['verify', '--response', saved[mode]!, '--nonce', nonce]);
      assert.equal(strict.code, 1, strict.err + strict.out);
    });
  }

  const outputs = (j: Record<string, unknown>) => j.outputs as { type: string; value: string }[];
  const edits: [string, (j: Record<string, unknown>) => void][] = [
    [
      'an output value',
      (j) => {
        outputs(j)[0]!.value = '56';
      },
    ],
    [
      'the output type',
      (j) => {
        outputs(j)[0]!.type = 'i32';
      },
    ],
    [
      'the status',
      (j) => {
        j.status = 'trap';
      },
    ],
    [
      'gas used',
      (j) => {
        j.gasUsed = String(BigInt(j.gasUsed as string) - 1n);
      },
    ],
    [
      'the server build',
      (j) => {
        j.serverBuildSha256 = '12'.repeat(32);
      },
    ],
    [
      'report_data',
      (j) => {
        const rd = j.reportData as string;
        j.reportData = `${rd.slice(0, -1)}${rd.endsWith('0') ? '1' : '0'}`;
      },
    ],
    [
      'the attested claim',
      (j) => {
        const env = JSON.parse(j.attestation as string) as { claim: { outputs: { value: string }[] } };
        env.claim.outputs[0]!.value = '56';
        j.attestation = JSON.stringify(env);
        (j.outputs as { value: string }[])[0]!.value = '56';
      },
    ],
  ];
  for (const [what, edit] of edits) {
    it(`verify --response fails after editing ${what}`, async () => {
      for (const mode of ['session-key', 'per-request']) {
        const j = JSON.parse(readFileSync(saved[mode]!, 'utf8')) as Record<string, unknown>;
        edit(j);
        const f = join(dir, `edited-${mode}.json`);
        writeFileSync(f, JSON.stringify(j, null, 2));
        const r = await run(['verify', '--response', f, '--nonce', j.nonce as string, '--allow-simulated']);
        assert.equal(r.code, 1, `${mode}: ${r.err}${r.out}`);
        assert.match(r.out, /FAIL/i);
      }
    });
  }
});
