/**
 * `wasmvm-tee verify --azure-evidence`: exit codes (0 verified, 1 rejected, 2 usage/input), the nonce
 * options, --pcr-policy, --json, and the TDX collateral switch, on the real vectors.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main as verify } from '../../src/cli/verify.ts';
import { main as azureMain } from '../../src/cli/verify-azure.ts';

const D = (p: string) => fileURLToPath(new URL(`../data/azure/${p}`, import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-azure-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  // verify delegates --azure-evidence to verify-azure.ts; its main takes an io to capture the output
  const code = await azureMain(argv, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('verify --azure-evidence', () => {
  const v1 = D('trustee/az-snp-vtpm/evidence-v1.json');
  it('verifies trustee v1 with --nonce-text / --nonce (exit 0), JSON verdict', async () => {
    const a = await run(['--azure-evidence', v1, '--nonce-text', 'challenge']);
    assert.equal(a.code, 0, a.err);
    assert.match(a.out, /^VERIFIED: azure-sev-snp/);
    const b = await run([
      '--azure-evidence',
      v1,
      '--nonce',
      Buffer.from('challenge').toString('hex'),
      '--json',
    ]);
    assert.equal(b.code, 0);
    const j = JSON.parse(b.out);
    assert.equal(j.ok, true);
    assert.equal(j.kind, 'azure-sev-snp');
  });
  it('wrong nonce: exit 1; no nonce option: exit 2; --no-nonce: skip named', async () => {
    assert.equal((await run(['--azure-evidence', v1, '--nonce', '00'])).code, 1);
    assert.equal((await run(['--azure-evidence', v1])).code, 2);
    const s = await run(['--azure-evidence', v1, '--no-nonce']);
    assert.equal(s.code, 0);
    assert.match(s.out, /SKIP azure\.quote\.nonce: freshness NOT checked/);
  });
  it('--pcr-policy: a matching PCR passes, another fails (exit 1), a bad policy is exit 2', async () => {
    const good = join(tmp, 'good.json');
    const bad = join(tmp, 'bad.json');
    const typo = join(tmp, 'typo.json');
    writeFileSync(
      good,
      JSON.stringify({ pcrs: { 0: 'e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced' } }),
    );
    writeFileSync(bad, JSON.stringify({ pcrs: { 0: '11'.repeat(32) } }));
    writeFileSync(typo, JSON.stringify({ pcr: {} }));
    const v0 = D('trustee/az-snp-vtpm/evidence-v0.json');
    assert.equal(
      (await run(['--azure-evidence', v0, '--nonce-text', 'challenge', '--pcr-policy', good])).code,
      0,
    );
    assert.equal(
      (await run(['--azure-evidence', v0, '--nonce-text', 'challenge', '--pcr-policy', bad])).code,
      1,
    );
    assert.equal(
      (await run(['--azure-evidence', v0, '--nonce-text', 'challenge', '--pcr-policy', typo])).code,
      2,
    );
  });
  it('TDX: without collateral exit 1 unless --allow-missing-tdx-collateral (then TCB status NOT checked)', async () => {
    const td = D('trustee/az-tdx-vtpm/evidence-v0.json');
    assert.equal((await run(['--azure-evidence', td, '--nonce-text', 'challenge'])).code, 1);
    const ok = await run([
      '--azure-evidence',
      td,
      '--nonce-text',
      'challenge',
      '--allow-missing-tdx-collateral',
    ]);
    assert.equal(ok.code, 0);
    assert.match(ok.out, /SKIP azure\.tdx\.tcb-status: TCB status NOT checked/);
  });
  it('input that is not Azure evidence: exit 2 with the reason', async () => {
    const f = join(tmp, 'x.json');
    writeFileSync(f, '{"hello":1}');
    const r = await run(['--azure-evidence', f, '--no-nonce']);
    assert.equal(r.code, 2);
    assert.match(r.err, /AZURE_EVIDENCE/);
    writeFileSync(f, 'not json');
    assert.equal((await run(['--azure-evidence', f, '--no-nonce'])).code, 2);
  });
  it('verify dispatches --azure-evidence (and its --help)', async () => {
    const { helpFor } = await import('../../src/cli/verify.ts');
    assert.match(await helpFor(['--azure-evidence', 'x']), /--pcr-policy FILE/);
    assert.equal(typeof verify, 'function');
  });
});
