/**
 * Round trips through the public CLI (issue 13 item 7): every `--json` output of `exec --server` and
 * `attest` verifies again with `verify`, for every value type (NaN payloads, -0.0); a sample of the
 * mutation suite through `verify --response` (exit 1); bad input exits 2 naming the field; freshness is
 * required unless --no-nonce; `exec --server --no-verify` says it did not verify.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main as attestMain } from '../../src/cli/attest.ts';
import { main as execMain } from '../../src/cli/exec.ts';
import { main as verifyMain } from '../../src/cli/verify.ts';
import { Engine } from '../../src/engine/index.ts';
import { simulatedAttester, startTestServer, type TestServer } from '../server/helpers.ts';
import { ARGS_A, sample } from './responses.ts';

const WASM = fileURLToPath(new URL('./fixtures/values.wasm', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-cli-rt-'));

/** Run a CLI main with console.log / console.error captured. */
async function capture(f: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const log = console.log;
  const error = console.error;
  let out = '';
  let err = '';
  console.log = (...a: unknown[]) => {
    out += `${a.join(' ')}\n`;
  };
  console.error = (...a: unknown[]) => {
    err += `${a.join(' ')}\n`;
  };
  try {
    const code = await f();
    return { code, out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

async function verify(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await verifyMain(args, {
    out: (s) => {
      out += `${s}\n`;
    },
    err: (s) => {
      err += `${s}\n`;
    },
  });
  return { code, out, err };
}

let n = 0;
function file(o: unknown): string {
  const f = join(tmp, `f${n++}.json`);
  writeFileSync(f, typeof o === 'string' ? o : JSON.stringify(o));
  return f;
}

describe('CLI round trips and mutations through verify --response', () => {
  let ts: TestServer;
  let root = '';
  const tally = { tried: 0, rejected: 0 };
  before(async () => {
    const sim = simulatedAttester();
    ts = await startTestServer(
      { engine: new Engine({ workers: 1 }), attester: sim.attester },
      {},
      sim.cleanup,
    );
    root = join(tmp, 'root.pem');
    writeFileSync(root, await sim.provider.rootPem());
  });
  after(async () => {
    await ts.close();
    rmSync(tmp, { recursive: true, force: true });
    console.log(
      `mutation suite (CLI verify --response): ${tally.tried} mutations tried, ${tally.rejected} rejected`,
    );
  });

  const args = [
    '--arg',
    'i32:-7',
    '--arg',
    'i64:-9223372036854775808',
    '--arg',
    'f32:nan:0x200001',
    '--arg',
    'f64:-0',
  ];

  for (const att of ['per-request', 'session-key'] as const) {
    it(`exec --server --json (${att}) verifies again with verify --response; edits are rejected`, async () => {
      const r = await capture(() =>
        execMain([
          '--server',
          ts.server.url,
          '--wasm',
          WASM,
          '--fn',
          'all',
          ...args,
          '--attestation',
          att,
          '--gas',
          '1000000',
          '--trust-simulated-root',
          root,
          '--json',
        ]),
      );
      assert.equal(r.code, 0, r.out + r.err);
      const out = JSON.parse(r.out) as Record<string, unknown> & { outputs: Array<Record<string, unknown>> };
      assert.equal(out.verified, true);
      assert.deepEqual(out.outputs, [
        { type: 'i32', value: -7 },
        { type: 'i64', value: '-9223372036854775808' },
        { type: 'f32', bits: '0x7fa00001', value: 'nan:0x200001' },
        { type: 'f64', bits: '0x8000000000000000', value: '-0' },
      ]);
      const f = file(out);
      const ok = await verify([
        '--response',
        f,
        '--nonce',
        out.nonce as string,
        '--trust-simulated-root',
        root,
      ]);
      assert.equal(ok.code, 0, ok.out + ok.err);
      assert.match(ok.out, /not attested, not checked: verified, verdict/);
      // freshness: required, or explicitly skipped
      const noNonce = await verify(['--response', f, '--trust-simulated-root', root]);
      assert.equal(noNonce.code, 2);
      assert.match(noNonce.err, /--no-nonce/);
      const skipped = await verify(['--response', f, '--no-nonce', '--trust-simulated-root', root]);
      assert.equal(skipped.code, 0, skipped.out);
      assert.match(skipped.out, /freshness NOT checked/);
      // a sample of edits (every kind the issue found accepted), each exit 1
      const env = JSON.parse(out.attestation as string) as Record<string, Record<string, unknown>>;
      const edits: Array<[string, (o: typeof out) => void]> = [
        ['f32 rendering', (o) => (o.outputs[2]!.value = 'nan')],
        ['f32 bits', (o) => (o.outputs[2]!.bits = '0x7fa00002')],
        ['f64 rendering', (o) => (o.outputs[3]!.value = '0')],
        ['i32 value', (o) => (o.outputs[0]!.value = -8)],
        ['i64 value', (o) => (o.outputs[1]!.value = '-9223372036854775807')],
        ['output dropped', (o) => o.outputs.pop()],
        ['outputs reordered', (o) => o.outputs.reverse()],
        ['exitCode added', (o) => (o.exitCode = 0)],
        ['trapMessage added', (o) => (o.trapMessage = 'boom')],
        ['costTableVersion', (o) => (o.costTableVersion = 'other')],
        ['bytecodeSha256', (o) => (o.bytecodeSha256 = `${'0'.repeat(63)}1`)],
        ['mode', (o) => (o.mode = 'multipass')],
        [
          'attestationMode',
          (o) => (o.attestationMode = att === 'per-request' ? 'session-key' : 'per-request'),
        ],
        ['nonce', (o) => (o.nonce = '00')],
        ['inputs', (o) => ((o.inputs as string[])[0] = '-8')],
        ['gasUsed', (o) => (o.gasUsed = '1')],
        ['simulated', (o) => (o.simulated = false)],
        ['status', (o) => (o.status = 'unreachable')],
        [
          'evidence simulated flag',
          (o) => {
            const e = structuredClone(env);
            const ev = (e.evidence ??
              (e.session as Record<string, Record<string, unknown>>).evidence) as Record<string, unknown>;
            ev.simulated = false;
            o.attestation = JSON.stringify(e);
          },
        ],
      ];
      for (const [name, edit] of edits) {
        const o = structuredClone(out);
        edit(o);
        tally.tried++;
        const v = await verify([
          '--response',
          file(o),
          '--nonce',
          out.nonce as string,
          '--trust-simulated-root',
          root,
        ]);
        assert.equal(v.code, 1, `${name}: ${v.out}${v.err}`);
        tally.rejected++;
      }
      // bad input: exit 2, the field named
      for (const [o, re] of [
        ['{"status":', /not JSON/],
        [{ ...out, surprise: 1 }, /response\.surprise: unknown field/],
        [
          { ...out, attestation: JSON.stringify({ ...env, v: 2 }) },
          /attestation\.v: unsupported envelope version 2/,
        ],
        [
          { ...out, attestation: JSON.stringify({ ...env, claim: { ...env.claim, v: 2 } }) },
          /claim\.v: unsupported claim version 2/,
        ],
      ] as const) {
        const v = await verify([
          '--response',
          file(o),
          '--nonce',
          out.nonce as string,
          '--trust-simulated-root',
          root,
        ]);
        assert.equal(v.code, 2, v.out + v.err);
        assert.match(v.err, re);
      }
    });
  }

  it('proto JSON responses through verify --response --request, and a sample of edits', async () => {
    const s = await sample(ts.server.url, 'all', ARGS_A, 'singlepass', 'session-key');
    const resp = file(s.response);
    const req = file(s.request);
    const ok = await verify(['--response', resp, '--request', req, '--trust-simulated-root', root]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /claim nonce = the client nonce \(from the request\)/);
    const res = s.response.result as Record<string, unknown> & {
      outputValues: Array<Record<string, unknown>>;
    };
    const edits: Array<(r: typeof res) => void> = [
      (r) => (r.outputValues[0]!.int32Value = -8),
      (r) => (r.outputValues[2]!.float32Value = 1),
      (r) => (r.outputValues[3]!.float64Value = 1),
      (r) => (r.simulated = false),
      (r) => (r.exitCode = 1),
      (r) => (r.claimSignature = Buffer.alloc(64).toString('base64')),
      (r) => ((r.evidence as Record<string, unknown>).report = Buffer.alloc(1184).toString('base64')),
    ];
    for (const edit of edits) {
      const r = structuredClone(res);
      edit(r);
      tally.tried++;
      const v = await verify([
        '--response',
        file({ ...s.response, result: r }),
        '--request',
        req,
        '--trust-simulated-root',
        root,
      ]);
      assert.equal(v.code, 1, v.out + v.err);
      tally.rejected++;
    }
    // the request that asked for GPU evidence (rewritten), a response without any: rejected
    const gpuReq = structuredClone(s.request) as { runtimeConfig: Record<string, unknown> };
    gpuReq.runtimeConfig.includeGpuEvidence = true;
    const v = await verify(['--response', resp, '--request', file(gpuReq), '--trust-simulated-root', root]);
    assert.equal(v.code, 1);
    assert.match(v.out, /GPU evidence requested/);
  });

  it('exec --server --no-verify: "verified": false and NOT VERIFIED (skipped)', async () => {
    const base = ['--server', ts.server.url, '--wasm', WASM, '--fn', 'all', ...args, '--no-verify'];
    const j = await capture(() => execMain([...base, '--json']));
    assert.equal(j.code, 0, j.err);
    const out = JSON.parse(j.out) as { verified: boolean };
    assert.equal(out.verified, false);
    const t = await capture(() => execMain(base));
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /NOT VERIFIED \(skipped\)/);
  });

  it('attest --json verifies again with verify --evidence (nonce required); local exec --json is refused clearly', async () => {
    const state = join(tmp, 'attest-state');
    const a = await capture(() =>
      attestMain(['--provider', 'simulated', '--state-dir', state, '--nonce', 'abcd', '--json']),
    );
    assert.equal(a.code, 0, a.err);
    const f = file(a.out);
    const rootFile = file('');
    // the root 'attest --print-simulated-root' prints, read from the same state directory
    const { SimulatedSevSnpProvider } = await import('../../src/tee/index.ts');
    writeFileSync(rootFile, await new SimulatedSevSnpProvider({ stateDir: state, warn: false }).rootPem());
    const ok = await verify(['--evidence', f, '--nonce', 'abcd', '--trust-simulated-root', rootFile]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.equal(
      (await verify(['--evidence', f, '--nonce', 'abce', '--trust-simulated-root', rootFile])).code,
      1,
    );
    const noNonce = await verify(['--evidence', f, '--trust-simulated-root', rootFile]);
    assert.equal(noNonce.code, 2);
    const skipped = await verify(['--evidence', f, '--no-nonce', '--trust-simulated-root', rootFile]);
    assert.equal(skipped.code, 0, skipped.out + skipped.err);
    assert.match(skipped.out, /freshness NOT checked/);
    // local exec --json: nothing attested it
    const local = await capture(() => execMain(['--wasm', WASM, '--fn', 'all', ...args, '--json']));
    assert.equal(local.code, 0, local.err);
    const v = await verify(['--response', file(local.out), '--no-nonce']);
    assert.equal(v.code, 2);
    assert.match(v.err, /local 'wasmvm-tee exec --json' output: nothing attested it/);
  });
});
