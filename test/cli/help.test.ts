/**
 * `wasmvm-tee <command> … --help`: every subcommand has its help, and a subcommand that hands its
 * arguments to another module (exec --server → exec-remote.ts, verify --tdx-quote → verify-tdx.ts,
 * verify --nras-response / --gpu-evidence → verify-nras.ts) prints that module's help.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from './run-in-process.ts';

const BIN = fileURLToPath(new URL('../../bin/wasmvm-tee.js', import.meta.url));

const run = runCli;

/** Which module's help each form must print, and flags only that help has. */
const CASES: { argv: string[]; module: string; flags: string[]; not?: string[] }[] = [
  { argv: ['serve'], module: 'serve', flags: ['--port', '--tls-cert', '--max-concurrency', '--collateral'] },
  { argv: ['exec'], module: 'exec', flags: ['--wasm', '--fn', '--meter', '--server'], not: ['--protocol'] },
  {
    argv: ['exec', '--server', 'localhost:1'],
    module: 'exec-remote',
    flags: ['--server', '--protocol', '--insecure', '--no-verify', '--allow-simulated'],
    not: ['--meter'],
  },
  { argv: ['exec', '--server=localhost:1'], module: 'exec-remote', flags: ['--protocol'] },
  {
    argv: ['exec', '--wasm', 'x.wasm', '--server', 'localhost:1', '--fn', 'f'],
    module: 'exec-remote',
    flags: ['--protocol'],
  },
  {
    argv: ['run'],
    module: 'run',
    flags: ['--audit-log', '--policy', '--map', '--no-gpu', '--collateral', '--ocsp-online'],
  },
  {
    argv: ['verify'],
    module: 'verify',
    flags: ['--snp-report', '--response', '--envelope', '--vcek'],
    not: ['--accept-tcb', '--jwks'],
  },
  {
    argv: ['verify', '--tdx-quote', 'q.dat'],
    module: 'verify-tdx',
    flags: ['--tdx-quote', '--accept-tcb', '--collateral', '--pcs-cache'],
    not: ['--snp-report'],
  },
  { argv: ['verify', '--tdx-quote=q.dat'], module: 'verify-tdx', flags: ['--accept-tcb'] },
  {
    argv: ['verify', '--nras-response', 'r.json'],
    module: 'verify-nras',
    flags: ['--nras-response', '--jwks', '--ocsp', '--pin-nras-ca'],
    not: ['--snp-report'],
  },
  {
    argv: ['verify', '--gpu-evidence', 'e.json'],
    module: 'verify-nras',
    flags: ['--gpu-evidence', '--jwks'],
    not: ['--snp-report'],
  },
  {
    argv: ['verify', '--gpu-evidence', 'e.json', '--rim', 'v.xml'],
    module: 'verify-rim',
    flags: ['--rim', '--allow-not-checked', '--offline'],
    not: ['--snp-report', '--jwks'],
  },
  { argv: ['collateral'], module: 'collateral', flags: ['--for', '--out', '--rim-service'] },
  {
    argv: ['verify', '--gpu-evidence', 'e.json', '--collateral', 'b.json'],
    module: 'verify-rim',
    flags: ['--collateral', '--at'],
  },
  { argv: ['measure'], module: 'measure', flags: ['--ovmf', '--vcpu-type', '--tdvf', '--page-order'] },
  { argv: ['attest'], module: 'attest', flags: ['--provider', '--out-report', '--report-data'] },
  { argv: ['inspect'], module: 'inspect', flags: ['--json'] },
];

for (const c of CASES) {
  for (const h of ['--help', '-h']) {
    const argv = [...c.argv, h];
    test(`wasmvm-tee ${argv.join(' ')} prints ${c.module}.ts's help`, async () => {
      const mod = (await import(`../../src/cli/${c.module}.ts`)) as { help: string };
      const r = await run(argv);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, mod.help);
      for (const f of c.flags) assert.ok(r.out.includes(f), `${c.module} help lacks ${f}`);
      for (const f of c.not ?? []) assert.ok(!r.out.includes(f), `${c.module} help has ${f}`);
    });
  }
}

test('the helps differ where the forms delegate (the test can tell them apart)', async () => {
  const texts = await Promise.all(
    ['exec', 'exec-remote', 'verify', 'verify-tdx', 'verify-nras'].map(
      async (m) => ((await import(`../../src/cli/${m}.ts`)) as { help: string }).help,
    ),
  );
  assert.equal(new Set(texts).size, texts.length);
});

test('top-level --help lists every subcommand', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  for (const name of ['serve', 'exec', 'run', 'verify', 'attest'])
    assert.match(r.out, new RegExp(`^  ${name} `, 'm'));
});

test('the installed command delegates too (bin/wasmvm-tee.js verify --tdx-quote q --help)', async () => {
  const r = spawnSync(process.execPath, [BIN, 'verify', '--tdx-quote', 'q', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const mod = (await import('../../src/cli/verify-tdx.ts')) as { help: string };
  assert.equal(r.stdout.trimEnd(), mod.help.trimEnd());
});
