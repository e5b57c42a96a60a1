import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { help, main } from '../../../src/cli/verify-nras.ts';
import { DATA, NONCE_1GPU, NONCE_8GPU } from './helpers.ts';

const d = (n: string) => fileURLToPath(new URL(n, DATA));

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const fetch = (async () => {
    throw new Error('no network in tests');
  }) as typeof globalThis.fetch;
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), fetch });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const NRAS = ['--jwks', d('nras-jwks-2026-06-29.json'), '--now', '2026-06-29T02:10:00Z'];

describe('wasmvm-tee verify --nras-response / --gpu-evidence', () => {
  it('exit 0 for the real 1- and 8-GPU responses; --json prints the verdict', async () => {
    const r = await run([
      '--nras-response',
      d('nras-v3-h100-1gpu.response.json'),
      '--nonce',
      NONCE_1GPU,
      ...NRAS,
    ]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /VERIFIED nvidia-nras/);
    const j = await run([
      '--nras-response',
      d('nras-v3-h100-8gpu.response.json'),
      '--nonce',
      NONCE_8GPU,
      ...NRAS,
      '--json',
    ]);
    assert.equal(j.code, 0);
    const v = JSON.parse(j.out);
    assert.equal(v.ok, true);
    assert.equal(v.parts.length, 8);
  });

  it('exit 1 for a wrong nonce, a late clock, a failing policy; exit 2 for usage errors', async () => {
    assert.equal(
      (await run(['--nras-response', d('nras-v3-h100-1gpu.response.json'), '--nonce', NONCE_8GPU, ...NRAS]))
        .code,
      1,
    );
    assert.equal(
      (
        await run([
          '--nras-response',
          d('nras-v3-h100-1gpu.response.json'),
          '--nonce',
          NONCE_1GPU,
          '--jwks',
          d('nras-jwks-2026-06-29.json'),
        ])
      ).code,
      1,
      'real clock: the recorded tokens have expired',
    );
    const dir = mkdtempSync(join(tmpdir(), 'nv-cli-'));
    const pol = join(dir, 'p.json');
    writeFileSync(
      pol,
      JSON.stringify({ nvidia: { 'overall-claims': { 'x-nvidia-overall-att-result': true }, gpuCount: 2 } }),
    );
    assert.equal(
      (
        await run([
          '--nras-response',
          d('nras-v3-h100-1gpu.response.json'),
          '--nonce',
          NONCE_1GPU,
          ...NRAS,
          '--policy',
          pol,
        ])
      ).code,
      1,
    );
    assert.equal((await run(['--nras-response', d('nras-v3-h100-1gpu.response.json')])).code, 2);
    assert.equal(
      (await run(['--nras-response', d('nras-v3-h100-1gpu.response.json'), '--nonce', 'abcd', ...NRAS])).code,
      2,
    );
    assert.equal((await run(['--bogus'])).code, 2);
    const pin = 'fd32837f954e2c45db073105166dfe6985ae0480bb113fba63b091a75affe896';
    const args1 = ['--nras-response', d('nras-v3-h100-1gpu.response.json'), '--nonce', NONCE_1GPU, ...NRAS];
    assert.equal((await run([...args1, '--pin-nras-ca', pin])).code, 0);
    // --pin-nras-ca adds to the pinned NRAS CA: another CA does not remove NVIDIA's.
    assert.equal((await run([...args1, '--pin-nras-ca', '11'.repeat(32)])).code, 0);
    assert.equal((await run([...args1, '--pin-nras-ca', 'xyz'])).code, 2);
    assert.equal((await run([])).code, 2);
    assert.equal((await run(['--nras-response', '/nonexistent.json', '--nonce', NONCE_1GPU])).code, 2);
    // no --nras-jwks: NVIDIA's pinned keys, no network (the verdict says so)
    const base = ['--nras-response', d('nras-v3-h100-1gpu.response.json'), '--nonce', NONCE_1GPU];
    const pinned = await run([...base, '--now', '2026-06-29T02:10:00Z']);
    assert.equal(pinned.code, 0, pinned.out + pinned.err);
    assert.match(pinned.out, /network: no network used \(offline\)/);
    assert.match(pinned.out, /PASS nvidia.nras.keys: 32 pinned NVIDIA key/);
    // --online: the JWKS is fetched from NRAS; without network that is a rejection with the reason
    const net = await run([...base, '--now', '2026-06-29T02:10:00Z', '--online', '--json']);
    assert.equal(net.code, 1);
    assert.match(net.out, /cannot fetch/);
    assert.equal(JSON.parse(net.out).fields.network.used, true);
    assert.match(help, /--gpu-evidence/);
  });

  it('--gpu-evidence: nvattest file and NRAS request body, with --nonce or --no-nonce', async () => {
    const r = await run([
      '--gpu-evidence',
      d('nvat-multi-gpu-hopper-evidence.json'),
      '--now',
      '2026-06-29T02:10:00Z',
      '--no-nonce',
    ]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SKIP nvidia.nonce/);
    assert.match(r.out, /SKIP nvidia.freshness: freshness NOT checked/);
    const rj = await run([
      '--gpu-evidence',
      d('nvat-multi-gpu-hopper-evidence.json'),
      '--now',
      '2026-06-29T02:10:00Z',
      '--no-nonce',
      '--json',
    ]);
    assert.equal(JSON.parse(rj.out).fields.freshness, 'not checked');
    const b = await run([
      '--gpu-evidence',
      d('nras-v3-h100-8gpu.request.json'),
      '--nonce',
      NONCE_8GPU,
      '--json',
    ]);
    assert.equal(b.code, 0);
    assert.equal(JSON.parse(b.out).parts.length, 8);
    assert.equal(
      (await run(['--gpu-evidence', d('nras-v3-h100-8gpu.request.json'), '--nonce', NONCE_1GPU])).code,
      1,
    );
    assert.equal((await run(['--gpu-evidence', d('nras-jwks-2026-06-29.json'), '--no-nonce'])).code, 2);
    // --ocsp uses the network: only with --online
    assert.equal(
      (await run(['--gpu-evidence', d('nvat-hopper-evidence.json'), '--ocsp', '--no-nonce'])).code,
      2,
    );
    const o = await run([
      '--gpu-evidence',
      d('nvat-hopper-evidence.json'),
      '--ocsp',
      '--online',
      '--no-nonce',
    ]);
    assert.equal(o.code, 1, 'no network: OCSP cannot succeed, revocation fails instead of passing');
    assert.match(o.out, /network: network used/);
    assert.match(o.out, /FAIL nvidia.chain.revocation/);
  });

  it('--gpu-evidence requires --nonce or --no-nonce (freshness by default)', async () => {
    const none = await run(['--gpu-evidence', d('nvat-multi-gpu-hopper-evidence.json')]);
    assert.equal(none.code, 2);
    assert.match(none.err, /no nonce: give the nonce the GPU evidence was requested for \(--nonce HEX/);
    assert.match(none.err, /--no-nonce to skip/);
    assert.equal(none.out, '');
    const both = await run([
      '--gpu-evidence',
      d('nvat-multi-gpu-hopper-evidence.json'),
      '--nonce',
      NONCE_1GPU,
      '--no-nonce',
    ]);
    assert.equal(both.code, 2);
    assert.match(both.err, /--nonce and --no-nonce: give one/);
    const nras = await run(['--nras-response', d('nras-jwks-2026-06-29.json'), '--no-nonce']);
    assert.equal(nras.code, 2);
    assert.match(nras.err, /--no-nonce: not with --nras-response/);
  });
});
