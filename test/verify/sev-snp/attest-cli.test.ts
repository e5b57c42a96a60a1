import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SimulatedSevSnpProvider } from '../../../src/tee/index.ts';
import { parseReport, verifySnpReport } from '../../../src/verify/sev-snp/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'wasmvm-tee-attest-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const main = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, WASMVM_TEE_PROVIDER: 'simulated' },
  });
}

describe('wasmvm-tee attest (CLI)', () => {
  it('prints the simulated root and fresh evidence that verifies only against it', async () => {
    const stateDir = join(dir, 'sim');
    await new SimulatedSevSnpProvider({ stateDir, rsaBits: 2048, warn: false }).getChain();
    const root = cli(['attest', '--print-simulated-root', '--state-dir', stateDir]);
    assert.equal(root.status, 0, root.stderr);
    assert.match(root.stdout, /^-----BEGIN CERTIFICATE-----/);
    const out = join(dir, 'r.bin');
    const certs = join(dir, 'certs.bin');
    const r = cli([
      'attest',
      '--state-dir',
      stateDir,
      '--nonce',
      'c0ffee',
      '--out-report',
      out,
      '--out-certs',
      certs,
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /SIMULATED/);
    const j = JSON.parse(r.stdout) as { reportData: string; evidence: { simulated: boolean } };
    assert.equal(j.reportData, `c0ffee${'00'.repeat(61)}`);
    assert.equal(j.evidence.simulated, true);
    const report = new Uint8Array(readFileSync(out));
    assert.equal(Buffer.from(parseReport(report).reportData).toString('hex'), j.reportData);
    const auxblob = new Uint8Array(readFileSync(certs));
    assert.equal((await verifySnpReport(report, { auxblob, trustSimulatedRoots: [root.stdout] })).ok, true);
    assert.equal((await verifySnpReport(report, { auxblob })).ok, false);
    assert.equal(cli(['attest', '--state-dir', stateDir, '--nonce', 'xyz']).status, 2);
  });
});
