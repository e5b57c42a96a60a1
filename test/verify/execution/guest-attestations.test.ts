/**
 * Claim field 20 end to end: a guest attests the VM and a GPU through wasmtime_attestation on an
 * in-process server (simulated SEV-SNP and GPU); the response shows the receipts
 * (`result.guestAttestations`), the claim binds them, and the verifier's `response.guest-attestations`
 * rejects every edit, addition, removal, reordering and swap — in the proto response and through the
 * real CLI (`exec --server --json` → `verify --response`).
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toJson } from '@bufbuild/protobuf';
import { Engine } from '../../../src/engine/index.ts';
import {
  WASMVMExecutionRequestSchema,
  WASMVMExecutionResponseSchema,
} from '../../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import { serviceHostSetup } from '../../../src/host/index.ts';
import { createWasmvmClient, executeAndVerify } from '../../../src/server/client.ts';
import { type Verdict, verifyExecution } from '../../../src/verify/index.ts';
import { runCli } from '../../cli/run-in-process.ts';
import { type AttestingHost, attestingGuest, attestingHost } from '../../host/attesting-guest.ts';
import { simulatedAttester, startTestServer, type TestServer } from '../../server/helpers.ts';

type Json = Record<string, unknown>;
interface Sample {
  request: Json;
  response: Json;
  nonce: string;
}

const failed = (v: Verdict): string[] => [
  ...v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
  ...(v.parts ?? []).flatMap(failed),
];

const receiptsOf = (resp: Json) => (resp.result as Json).guestAttestations as Json[];

function verify(s: Sample, response: Json): Promise<Verdict> {
  return verifyExecution(undefined, { response, request: s.request, nonce: s.nonce, allowSimulated: true });
}

/** A copy of the response with `edit` applied to its result. */
function edited(resp: Json, edit: (result: Json) => void): Json {
  const c = structuredClone(resp);
  edit(c.result as Json);
  return c;
}

/** Another value of the same JSON type (a leaf edit). */
function bump(x: unknown): unknown {
  if (typeof x === 'boolean') return !x;
  if (typeof x === 'number') return x + 1;
  if (typeof x === 'string' && /^[0-9a-f]{64}$/.test(x))
    return `${x.slice(0, 63)}${x[63] === '0' ? '1' : '0'}`;
  return `${String(x)}x`;
}

describe('verify: guest attestation receipts (claim field 20)', () => {
  let host: AttestingHost;
  let engine: Engine;
  let ts: TestServer;
  let guest: Uint8Array;
  const samples: Record<string, Sample> = {};

  async function sample(attestationMode: 'per-request' | 'session-key'): Promise<Sample> {
    const nonce = new Uint8Array(randomBytes(16));
    host.clearCache();
    const r = await executeAndVerify(
      createWasmvmClient({ baseUrl: ts.server.url }),
      { bytecode: guest, fn: '_start', args: [], attestationMode, nonce },
      { allowSimulated: true },
    );
    assert.ok(r.verdict.ok, JSON.stringify(failed(r.verdict)));
    return {
      request: toJson(WASMVMExecutionRequestSchema, r.request) as Json,
      response: toJson(WASMVMExecutionResponseSchema, r.response) as Json,
      nonce: Buffer.from(nonce).toString('hex'),
    };
  }

  before(async () => {
    host = await attestingHost();
    guest = await attestingGuest();
    engine = new Engine({ workers: 1, hostHandler: host.handler });
    const sim = simulatedAttester();
    ts = await startTestServer(
      {
        engine,
        attester: sim.attester,
        hostSetup: (modules, context) =>
          serviceHostSetup(
            modules.map((module) => ({ module, name: '' })),
            { context },
          ),
      },
      {},
      sim.cleanup,
    );
    samples['per-request'] = await sample('per-request');
    samples['session-key'] = await sample('session-key');
  });
  after(async () => {
    await ts.close();
    await engine.close();
    host.cleanup();
  });

  it('the response shows the receipts, the claim binds them, the verdict lists them', async () => {
    for (const [att, s] of Object.entries(samples)) {
      const shown = receiptsOf(s.response);
      assert.deepEqual(
        shown.map((r) => [r.kind, r.gpuIndex, r.outcome, r.cached ?? false]),
        [
          ['vm', undefined, 'ok', false],
          ['gpu', 0, 'ok', false],
          ['gpu', 5, 'evidence_failed', false],
          ['vm', undefined, 'ok', true],
          ['vm', undefined, 'ok', false],
        ],
        att,
      );
      const env = JSON.parse((s.response.result as Json).attestation as string) as Json;
      const claimed = (env.claim as Json).guestAttestations as { receipts: Json[]; truncated: boolean };
      assert.equal(claimed.truncated, false);
      // proto JSON leaves out `cached: false`; otherwise the very same objects
      assert.deepEqual(
        shown,
        claimed.receipts.map((r) => {
          const { cached, ...rest } = r;
          return cached ? r : rest;
        }),
      );
      const v = await verify(s, s.response);
      assert.ok(v.ok, JSON.stringify(failed(v)));
      assert.equal(v.checks.find((c) => c.id === 'response.guest-attestations')?.outcome, 'pass');
      assert.deepEqual(v.fields?.guestAttestations, claimed);
    }
    // fresh evidence per execution: two responses' receipts differ
    const a = receiptsOf(samples['per-request']!.response);
    const b = receiptsOf(samples['session-key']!.response);
    assert.notEqual(a[4]!.evidenceSha256, b[4]!.evidenceSha256);
  });

  it('a guest without attestation calls: no field 20, no receipts shown', async () => {
    // (module (func (export "g"))): no imports, no attestation calls
    const nonce = new Uint8Array(randomBytes(16));
    const r = await executeAndVerify(
      createWasmvmClient({ baseUrl: ts.server.url }),
      {
        bytecode: new Uint8Array([
          0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 0x67, 0, 0, 10, 4, 1,
          2, 0, 0x0b,
        ]),
        fn: 'g',
        args: [],
        nonce,
      },
      { allowSimulated: true },
    );
    assert.ok(r.verdict.ok, JSON.stringify(failed(r.verdict)));
    assert.equal(r.claim?.guestAttestations, undefined);
    assert.deepEqual(r.response.result?.guestAttestations, []);
    assert.equal(JSON.parse(r.response.result!.attestation).claim.guestAttestations, undefined);
  });

  it('more calls than a claim keeps: 64 receipts, truncated, verified', async () => {
    const nonce = new Uint8Array(randomBytes(16));
    const r = await executeAndVerify(
      createWasmvmClient({ baseUrl: ts.server.url }),
      { bytecode: guest, fn: 'many', args: [], nonce },
      { allowSimulated: true },
    );
    assert.ok(r.verdict.ok, JSON.stringify(failed(r.verdict)));
    assert.deepEqual(r.outputs, [{ type: 'i32', value: 70 }]);
    assert.equal(r.claim?.guestAttestations?.truncated, true);
    assert.equal(r.claim?.guestAttestations?.receipts.length, 64);
    assert.equal(r.response.result?.guestAttestations.length, 64);
  });

  it('every leaf of every receipt edited, receipts added, dropped, reordered or swapped: rejected', async () => {
    let tried = 0;
    const [s1, s2] = [samples['per-request']!, samples['session-key']!];
    for (const s of [s1, s2]) {
      const other = s === s1 ? s2 : s1;
      const n = receiptsOf(s.response).length;
      const edits: Array<[string, (r: Json) => void]> = [];
      for (let i = 0; i < n; i++) {
        const shown = receiptsOf(s.response)[i]!;
        // every leaf the receipt has, and the plain fields proto JSON leaves out at their default
        const keys = new Set([...Object.keys(shown), 'kind', 'outcome', 'cached']);
        for (const k of keys)
          edits.push([
            `[${i}].${k}`,
            (r) => {
              const x = (r.guestAttestations as Json[])[i]!;
              x[k] = x[k] === undefined ? (k === 'cached' ? true : 'x') : bump(x[k]);
            },
          ]);
        for (const k of Object.keys(shown).filter((k) => k !== 'cached'))
          edits.push([`[${i}].${k} removed`, (r) => delete (r.guestAttestations as Json[])[i]![k]]);
        // an optional field the receipt does not have, added
        for (const k of ['gpuIndex', 'teeType', 'simulated', 'dataSha256', 'evidenceSha256'].filter(
          (k) => !(k in shown),
        ))
          edits.push([
            `[${i}].${k} added`,
            (r) => {
              (r.guestAttestations as Json[])[i]![k] =
                k === 'gpuIndex'
                  ? 0
                  : k === 'simulated'
                    ? true
                    : k === 'teeType'
                      ? 'AMD SEV-SNP'
                      : 'ab'.repeat(32);
            },
          ]);
        edits.push([`[${i}] dropped`, (r) => (r.guestAttestations as Json[]).splice(i, 1)]);
        edits.push([
          `[${i}] duplicated`,
          (r) =>
            (r.guestAttestations as Json[]).splice(
              i,
              0,
              structuredClone((r.guestAttestations as Json[])[i]!),
            ),
        ]);
        // (a failed call without evidence is the same receipt in both: nothing to swap)
        if (JSON.stringify(shown) !== JSON.stringify(receiptsOf(other.response)[i]))
          edits.push([
            `[${i}] swapped with the other response's`,
            (r) => ((r.guestAttestations as Json[])[i] = structuredClone(receiptsOf(other.response)[i]!)),
          ]);
      }
      edits.push([
        'one added at the end',
        (r) => (r.guestAttestations as Json[]).push({ kind: 'vm', outcome: 'ok' }),
      ]);
      edits.push(['reordered (reversed)', (r) => (r.guestAttestations as Json[]).reverse()]);
      edits.push([
        'first two exchanged',
        (r) => {
          const l = r.guestAttestations as Json[];
          [l[0], l[1]] = [l[1]!, l[0]!];
        },
      ]);
      edits.push([
        'all from the other response',
        (r) => (r.guestAttestations = structuredClone(receiptsOf(other.response))),
      ]);
      edits.push(['an unknown key', (r) => ((r.guestAttestations as Json[])[0]!.surprise = 1)]);
      for (const [what, edit] of edits) {
        tried++;
        const v = await verify(s, edited(s.response, edit));
        assert.equal(v.ok, false, `${what} accepted`);
        assert.ok(failed(v).includes('response.guest-attestations'), `${what}: ${failed(v).join()}`);
      }
      // not shown at all: fine (the claim is authoritative; the verdict still lists them)
      const hidden = await verify(
        s,
        edited(s.response, (r) => delete r.guestAttestations),
      );
      assert.ok(hidden.ok, JSON.stringify(failed(hidden)));
      assert.match(
        hidden.checks.find((c) => c.id === 'response.guest-attestations')?.detail ?? '',
        /not shown; the claim attests 5 receipt/,
      );
      assert.equal((hidden.fields?.guestAttestations as { receipts: unknown[] }).receipts.length, 5);
    }
    assert.ok(tried > 100, `only ${tried} edits`);
  });

  it('an edit inside the claim is caught by the binding (REPORT_DATA / the signature)', async () => {
    for (const s of Object.values(samples)) {
      for (const edit of [
        (g: Json) => ((g.receipts as Json[])[0]!.outcome = 'policy_rejected'),
        (g: Json) => (g.truncated = true),
        (g: Json) => (g.receipts as Json[]).pop(),
      ]) {
        const c = structuredClone(s.response);
        const res = c.result as Json;
        const env = JSON.parse(res.attestation as string) as Json;
        edit((env.claim as Json).guestAttestations as Json);
        res.attestation = JSON.stringify(env);
        delete res.claim; // the structured copy would differ too: show only the envelope
        delete res.guestAttestations;
        const v = await verify(s, c);
        assert.equal(v.ok, false);
      }
    }
  });

  it('CLI: exec --server --json shows the receipts; verify --response round-trips and rejects edits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmvm-receipts-cli-'));
    const run = runCli;
    try {
      const wasmFile = join(dir, 'guest.wasm');
      writeFileSync(wasmFile, guest);
      const base = [
        'exec',
        '--server',
        ts.server.url,
        '--wasm',
        wasmFile,
        '--fn',
        '_start',
        '--allow-simulated',
      ];
      host.clearCache();
      const human = await run(base);
      assert.equal(human.code, 0, human.err + human.out);
      assert.match(human.out, /guest attestations \(attested in the claim\): 5\n/);
      assert.match(human.out, /#3 gpu 5 NVIDIA GPU evidence_failed data sha256:/);
      assert.match(
        human.out,
        /#4 vm AMD SEV-SNP \[simulated\] ok evidence sha256:[0-9a-f]{64} data sha256:ba7816bf[0-9a-f]{56} \(cached\)/,
      );
      host.clearCache();
      const e = await run([...base, '--json']);
      assert.equal(e.code, 0, e.err + e.out);
      const j = JSON.parse(e.out) as Json;
      const g = j.guestAttestations as { receipts: Json[]; truncated: boolean };
      assert.equal(g.truncated, false);
      assert.deepEqual(
        g.receipts.map((r) => [r.kind, r.outcome, r.cached]),
        [
          ['vm', 'ok', false],
          ['gpu', 'ok', false],
          ['gpu', 'evidence_failed', false],
          ['vm', 'ok', true],
          ['vm', 'ok', false],
        ],
      );
      const f = join(dir, 'r.json');
      const verifyIt = async (o: Json, json = false) => {
        writeFileSync(f, JSON.stringify(o));
        return run([
          'verify',
          '--response',
          f,
          '--nonce',
          j.nonce as string,
          '--allow-simulated',
          ...(json ? ['--json'] : []),
        ]);
      };
      const ok = await verifyIt(j);
      assert.equal(ok.code, 0, ok.out + ok.err);
      assert.match(ok.out, /PASS response\.guest-attestations/);
      assert.match(
        ok.out,
        /guest attestations \(in the claim\): 5\n {2}#1 vm AMD SEV-SNP \[simulated\] ok evidence sha256:/,
      );
      const okJson = await verifyIt(j, true);
      assert.equal(okJson.code, 0);
      assert.deepEqual((JSON.parse(okJson.out) as { fields: Json }).fields.guestAttestations, g);
      let tried = 0;
      for (const [i, r] of g.receipts.entries())
        for (const k of Object.keys(r)) {
          const c = structuredClone(j);
          const x = (c.guestAttestations as { receipts: Json[] }).receipts[i]!;
          x[k] = bump(x[k]);
          const v = await verifyIt(c);
          assert.equal(v.code, 1, `[${i}].${k}`);
          assert.match(v.out, /FAIL response\.guest-attestations/, `[${i}].${k}`);
          tried++;
        }
      assert.ok(tried >= 30, `only ${tried}`);
      for (const edit of [
        (c: Json) => ((c.guestAttestations as Json).truncated = true),
        (c: Json) => (c.guestAttestations as { receipts: Json[] }).receipts.reverse(),
        (c: Json) => (c.guestAttestations as { receipts: Json[] }).receipts.pop(),
        (c: Json) => delete (c.guestAttestations as { receipts: Json[] }).receipts[0]!.cached,
      ]) {
        const c = structuredClone(j);
        edit(c);
        const v = await verifyIt(c);
        assert.equal(v.code, 1);
        assert.match(v.out, /FAIL response\.guest-attestations/);
      }
      const hidden = structuredClone(j);
      delete hidden.guestAttestations;
      assert.equal((await verifyIt(hidden)).code, 0, 'not shown: the claim is authoritative');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
