import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { claimFromExecution } from '../../../src/binding/index.ts';
import { main } from '../../../src/cli/verify.ts';
import { Attester, SimulatedSevSnpProvider } from '../../../src/tee/index.ts';
import { DATA } from './helpers.ts';

const d = (f: string) => fileURLToPath(new URL(f, DATA));
const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (s) => {
      out += `${s}\n`;
    },
    err: (s) => {
      err += `${s}\n`;
    },
  });
  return { code, out, err };
}

describe('wasmvm-tee verify (CLI)', () => {
  it('--snp-report with --vcek: 0 when it verifies, 1 when it does not, 2 on usage errors', async () => {
    const ok = await run([
      '--no-nonce',
      '--snp-report',
      d('genoa-v5-report.bin'),
      '--vcek',
      d('genoa-v5-vcek.der'),
      '--now',
      '2026-06-01T00:00:00Z',
    ]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /VERIFIED: sev-snp/);
    const hex = await run([
      '--no-nonce',
      '--snp-report',
      d('milan-v2-virtee-report.hex'),
      '--vcek',
      d('milan-v2-virtee-vcek.der'),
      '--json',
    ]);
    assert.equal(hex.code, 0);
    assert.equal(JSON.parse(hex.out).ok, true);
    const expired = await run([
      '--no-nonce',
      '--snp-report',
      d('milan-v3-aws-vlek-report.bin'),
      '--vcek',
      d('milan-aws-vlek.der'),
      '--now',
      '2026-01-01T00:00:00Z',
    ]);
    assert.equal(expired.code, 1);
    const debug = await run([
      '--no-nonce',
      '--snp-report',
      d('milan-v2-gosevguest-report.bin'),
      '--vcek',
      d('milan-v2-gosevguest-vcek.der'),
    ]);
    assert.equal(debug.code, 1);
    assert.match(debug.out, /FAIL snp.policy.debug/);
    const allowed = await run([
      '--no-nonce',
      '--snp-report',
      d('milan-v2-gosevguest-report.bin'),
      '--vcek',
      d('milan-v2-gosevguest-vcek.der'),
      '--allow-debug',
    ]);
    assert.equal(allowed.code, 0);
    const wrongMeasurement = await run([
      '--no-nonce',
      '--snp-report',
      d('genoa-v5-report.bin'),
      '--vcek',
      d('genoa-v5-vcek.der'),
      '--measurement',
      '00'.repeat(48),
      '--now',
      '2026-06-01T00:00:00Z',
    ]);
    assert.equal(wrongMeasurement.code, 1);
    assert.equal(
      (await run(['--no-nonce', '--snp-report', d('genoa-v5-report.bin'), '--now', 'yesterday'])).code,
      2,
    );
    assert.equal((await run(['--bogus'])).code, 2);
    assert.equal((await run([])).code, 2);
  });

  it('--policy file with an snp section', async () => {
    const p = join(tmp, 'policy.json');
    writeFileSync(p, JSON.stringify({ snp: { vmpl: 1, requireSigningKey: 'VLEK' } }));
    const r = await run([
      '--no-nonce',
      '--snp-report',
      d('milan-v3-aws-vlek-report.bin'),
      '--vcek',
      d('milan-aws-vlek.der'),
      '--now',
      '2025-06-01T00:00:00Z',
      '--policy',
      p,
    ]);
    assert.equal(r.code, 0, r.out);
    writeFileSync(p, JSON.stringify({ snp: { vmpl: 0 } }));
    assert.equal(
      (
        await run([
          '--no-nonce',
          '--snp-report',
          d('milan-v3-aws-vlek-report.bin'),
          '--vcek',
          d('milan-aws-vlek.der'),
          '--now',
          '2025-06-01T00:00:00Z',
          '--policy',
          p,
        ])
      ).code,
      1,
    );
    writeFileSync(p, JSON.stringify({ snp: { vmlp: 0 } }));
    assert.equal(
      (await run(['--no-nonce', '--snp-report', d('genoa-v5-report.bin'), '--policy', p])).code,
      2,
    );
  });

  it('--response with --request/--nonce and the simulated root', async () => {
    const sim = new SimulatedSevSnpProvider({ stateDir: join(tmp, 'sim'), rsaBits: 2048, warn: false });
    const claim = claimFromExecution(
      {
        bytecodeSha256: 'ab'.repeat(32),
        fn: 'f',
        inputs: { legacy: ['1'] },
        mode: 'interp',
        nonce: Uint8Array.of(5),
        requestId: 'x',
      },
      {
        status: 'ok',
        outputs: [{ type: 'i32', value: 7 }],
        bytecodeSha256: 'ab'.repeat(32),
        mode: 'interp',
        durationMs: 0,
        cacheHit: false,
      },
    );
    const { json } = await new Attester(sim).attestExecution(claim, 'per-request');
    const resp = join(tmp, 'resp.json');
    writeFileSync(
      resp,
      JSON.stringify({
        requestId: 'x',
        result: {
          attestation: json,
          status: 'ok',
          outputValues: [{ type: 'VALUE_TYPE_INT32', int32Value: 7 }],
          inputs: ['1'],
          nonce: 'BQ==',
          simulated: true,
        },
      }),
    );
    const root = join(tmp, 'root.pem');
    writeFileSync(root, await sim.rootPem());
    const ok = await run(['--response', resp, '--nonce', '05', '--trust-simulated-root', root]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /SIMULATED evidence/);
    assert.equal((await run(['--response', resp, '--nonce', '05'])).code, 1);
    assert.equal((await run(['--response', resp, '--nonce', '06', '--trust-simulated-root', root])).code, 1);
    const env = join(tmp, 'env.json');
    writeFileSync(env, json);
    assert.equal((await run(['--envelope', env, '--allow-simulated', '--nonce', '05'])).code, 0);
    // freshness is required: no nonce is a usage error, --no-nonce says it was not checked
    const noNonce = await run(['--envelope', env, '--allow-simulated']);
    assert.equal(noNonce.code, 2);
    assert.match(noNonce.err, /no nonce: give the nonce you sent/);
    const skipped = await run(['--envelope', env, '--allow-simulated', '--no-nonce']);
    assert.equal(skipped.code, 0);
    assert.match(skipped.out, /freshness NOT checked/);
  });
});
