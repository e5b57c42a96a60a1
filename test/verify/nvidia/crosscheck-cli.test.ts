/**
 * verify --nras-response R --gpu-evidence E: the recorded NRAS answer (nras-v3-h100-*.response.json)
 * and the local verification of the evidence NRAS was sent (the matching .request.json), cross-checked
 * GPU by GPU as a named check (nvidia.crosscheck.*).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../../src/cli/verify-nras.ts';
import type { Verdict } from '../../../src/verify/index.ts';
import { DATA, NONCE_1GPU, NONCE_8GPU } from './helpers.ts';

const d = (n: string) => fileURLToPath(new URL(n, DATA));

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const fetch = (async () => {
    throw new Error('no network in tests');
  }) as typeof globalThis.fetch;
  const code = await main([...argv, '--json'], { out: (s) => out.push(s), err: (s) => err.push(s), fetch });
  return { code, v: JSON.parse(out.join('\n')) as Verdict, err: err.join('\n') };
}

const NRAS = ['--jwks', d('nras-jwks-2026-06-29.json'), '--now', '2026-06-29T02:10:00Z'];
const cross = (v: Verdict) => (v.parts ?? []).filter((p) => p.kind === 'nvidia-nras-crosscheck');
const outcome = (v: Verdict, id: string) => v.checks.find((c) => c.id === id)?.outcome;

describe('NRAS ↔ local cross-check in verify', () => {
  it('1 GPU: versions, ueid and hwmodel agree; the measurement result is named "not checked" and fails by default', async () => {
    const args = [
      '--nras-response',
      d('nras-v3-h100-1gpu.response.json'),
      '--gpu-evidence',
      d('nras-v3-h100-1gpu.request.json'),
      '--nonce',
      NONCE_1GPU,
      ...NRAS,
    ];
    const r = await run(args);
    assert.equal(r.v.kind, 'nvidia-nras+local');
    const [x] = cross(r.v);
    assert.ok(x);
    for (const id of ['driver-version', 'vbios-version', 'ueid', 'hwmodel'])
      assert.equal(outcome(x, `nvidia.crosscheck.${id}`), 'pass', id);
    assert.equal(outcome(x, 'nvidia.crosscheck.measres'), 'skip');
    assert.equal(r.code, 1);
    assert.equal(outcome(r.v, 'nvidia.crosscheck.gpu-count'), 'pass');
    const ok = await run([...args, '--allow-not-checked', 'nvidia.crosscheck.measres']);
    assert.equal(ok.code, 0, JSON.stringify(ok.v.checks));
  });

  it('8 GPUs are paired by ueid; evidence of other GPUs is a mismatch', async () => {
    const r = await run([
      '--nras-response',
      d('nras-v3-h100-8gpu.response.json'),
      '--gpu-evidence',
      d('nras-v3-h100-8gpu.request.json'),
      '--nonce',
      NONCE_8GPU,
      ...NRAS,
      '--allow-not-checked',
      'nvidia.crosscheck.measres',
    ]);
    assert.equal(cross(r.v).length, 8);
    assert.equal(r.code, 0, JSON.stringify(r.v.checks));
    // the 1-GPU answer against the 8-GPU evidence (and its nonce): one pair, counts differ
    const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-xc-'));
    const body = JSON.parse(readFileSync(d('nras-v3-h100-8gpu.request.json'), 'utf8')) as {
      nonce: string;
      evidence_list: unknown[];
    };
    const one = join(tmp, 'other-gpu.json');
    // one GPU of the 8-GPU machine, presented as the evidence behind the 1-GPU answer
    writeFileSync(
      one,
      JSON.stringify({ ...body, nonce: NONCE_1GPU, evidence_list: body.evidence_list.slice(0, 1) }),
    );
    const m = await run([
      '--nras-response',
      d('nras-v3-h100-1gpu.response.json'),
      '--gpu-evidence',
      one,
      '--nonce',
      NONCE_1GPU,
      ...NRAS,
      '--allow-not-checked',
      'nvidia.crosscheck.measres',
    ]);
    assert.equal(m.code, 1);
    const [x] = cross(m.v);
    assert.equal(outcome(x!, 'nvidia.crosscheck.ueid'), 'fail');
    assert.match(
      x!.checks.find((c) => c.id === 'nvidia.crosscheck.ueid')!.detail,
      /^NRAS_CROSSCHECK_MISMATCH/,
    );
  });
});
