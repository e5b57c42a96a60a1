/**
 * `serve --claim-signing batched` through the built CLI (bin/wasmvm-tee.js, dist/; the mode set by its
 * environment variable WASMVM_TEE_CLAIM_SIGNING, a 25 ms window by WASMVM_TEE_CLAIM_BATCH_WINDOW_MS): concurrent Execute calls, each response saved and
 * accepted by `wasmvm-tee verify --response` (exit 0, the batch inclusion named), a changed proof refused
 * (exit 1); bad option values exit 2 before anything starts.
 */
import * as assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { ARGS_A, type Sample, sample } from '../binding/responses.ts';

const BIN = fileURLToPath(new URL('../../bin/wasmvm-tee.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wasmvm-tee-cli-batch-'));
const state = join(dir, 'state');
const env = { ...process.env, WASMVM_TEE_STATE_DIR: state };
let child: ChildProcess;
let url = '';

before(async () => {
  child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--tee', 'simulated'],
    {
      // a 25 ms window: separate executions finish in different event-loop turns, and batches still form
      env: {
        ...env,
        WASMVM_TEE_CLAIM_SIGNING: 'batched',
        WASMVM_TEE_CLAIM_BATCH_WINDOW_MS: '25',
        WASMVM_TEE_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listening line:\n${err}`)), 90_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d;
      const m = /serving on (http:\/\/[^ ]+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.on('exit', (c) => reject(new Error(`exited ${c}:\n${err}`)));
  });
  assert.match(err, /"claimSigning":"batched"/);
});
after(() => {
  child?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 60_000 });
}

test('verify --response accepts batched responses and refuses a changed proof', async () => {
  const envOf = (s: Sample) =>
    JSON.parse(((s.response as Record<string, Record<string, string>>).result!.attestation as string)!);
  let samples: Sample[] = [];
  for (let round = 0; round < 4 && !samples.some((s) => envOf(s).batch.size > 1); round++)
    samples = await Promise.all(
      Array.from({ length: 8 }, () => sample(url, 'all', ARGS_A, 'interp', 'session-key')),
    );
  const sizes = samples.map((s) => envOf(s).batch.size as number);
  assert.ok(
    sizes.some((n) => n > 1),
    `no batch of more than one claim: ${sizes}`,
  );
  const root = join(dir, 'root.pem');
  writeFileSync(root, await new SimulatedSevSnpProvider({ stateDir: state, warn: false }).rootPem());
  for (const [i, s] of samples.entries()) {
    const resp = join(dir, `resp${i}.json`);
    const req = join(dir, `req${i}.json`);
    writeFileSync(resp, JSON.stringify(s.response));
    writeFileSync(req, JSON.stringify(s.request));
    const args = [
      'verify',
      '--response',
      resp,
      '--request',
      req,
      '--nonce',
      s.nonce,
      '--trust-simulated-root',
      root,
    ];
    const ok = cli(args);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /leaf \d+ of a batch of \d+/);
    const json = cli([...args, '--json']);
    assert.equal(json.status, 0, json.stderr);
    const v = JSON.parse(json.stdout);
    const c = v.checks.find((x: { id: string }) => x.id === 'binding.batch-inclusion');
    assert.equal(c?.outcome, 'pass', json.stdout);
    if (i === 0) {
      // the proof of another response of the same batch: exit 1
      const e = envOf(s);
      const other = samples.find((x) => x !== s && envOf(x).signature === e.signature);
      if (other) {
        const bad = structuredClone(s.response) as Record<string, Record<string, string>>;
        bad.result!.attestation = JSON.stringify({ ...e, batch: envOf(other).batch });
        writeFileSync(resp, JSON.stringify(bad));
        const r = cli(args);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /batch-inclusion|inclusion proof/);
      }
    }
  }
});

test('bad --claim-signing values exit 2 naming the option (or its variable)', () => {
  for (const [args, extraEnv, re] of [
    [['--claim-signing', 'sometimes'], {}, /--claim-signing: expected per-claim or batched, got 'sometimes'/],
    [[], { WASMVM_TEE_CLAIM_SIGNING: 'x' }, /\(set by WASMVM_TEE_CLAIM_SIGNING\)/],
    [
      ['--claim-signing', 'batched', '--claim-batch-max', '0'],
      {},
      /--claim-batch-max: expected an integer in 1\.\.4096/,
    ],
    [['--claim-signing', 'batched', '--claim-batch-window-ms', '5000'], {}, /--claim-batch-window-ms/],
    [['--claim-batch-max', '8'], {}, /go with --claim-signing batched/],
  ] as const) {
    const r = spawnSync(process.execPath, [BIN, 'serve', ...args], {
      env: { ...env, ...extraEnv },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});
