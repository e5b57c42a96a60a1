// biome-ignore-all lint/suspicious/noExplicitAny: envelopes and responses edited as plain JSON
/**
 * Batched claim signing end to end (`serve --claim-signing batched`, docs/binding.md "Batched claim
 * signing"): concurrent Execute calls form batches of more than one claim; every response verifies
 * (binding.batch-inclusion, binding.session-signature over the batch root); every change of the proof, the
 * root signature, a proof from another response of the same batch, a per-claim signature presented with a
 * proof and a batch signature without one are rejected; the SessionCache accepts batched responses on
 * hits; per-claim stays the default and carries no batch.
 */
import * as assert from 'node:assert/strict';
import { type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { claimFromJson, encodeClaim } from '../../src/binding/index.ts';
import { Engine } from '../../src/engine/index.ts';
import { TeeAttester } from '../../src/server/attester.ts';
import { createWasmvmClient, SessionCache } from '../../src/server/client.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { type Verdict, VerifierCache, verifyExecution } from '../../src/verify/index.ts';
import { ARGS_A, type Sample, sample } from '../binding/responses.ts';
import { fixture, startTestServer, type TestServer } from './helpers.ts';

type Json = Record<string, any>;

let engine: Engine;
let batched: TestServer;
let perClaim: TestServer;
let batchedAttester: TeeAttester;
let dir: string;
let samples: Sample[] = [];

const env = (s: Sample): Json => JSON.parse((s.response as Json).result.attestation);
/** The response with its envelope replaced (and the proto copy of the signature kept equal to it). */
function withEnvelope(s: Sample, e: Json): Json {
  const r = structuredClone(s.response) as Json;
  r.result.attestation = JSON.stringify(e);
  r.result.claimSignature = e.signature;
  return r;
}
/** A VerifierCache warmed by the untampered responses (the second pass): a cached fact never turns a mutation into a yes. */
let activeCache: VerifierCache | undefined;
const verify = (s: Sample, response: Json = s.response as Json): Promise<Verdict> =>
  verifyExecution(undefined, {
    response,
    request: s.request,
    nonce: s.nonce,
    allowSimulated: true,
    ...(activeCache ? { cache: activeCache } : {}),
  });
const check = (v: Verdict, id: string) => v.checks.find((c) => c.id === id);

let tried = 0;
async function rejected(
  what: string,
  s: Sample,
  e: Json,
  failing = 'binding.batch-inclusion',
): Promise<void> {
  tried++;
  const v = await verify(s, withEnvelope(s, e));
  assert.equal(v.ok, false, `${what}: accepted`);
  const ids = v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id);
  assert.ok(
    ids.includes(failing) || ids.includes('binding.session-signature') || ids.includes('binding.envelope'),
    `${what}: failed for another reason: ${ids.join(', ')}`,
  );
  // never a silent pass: a batched envelope whose proof cannot be walked says so
  if (e.batch && check(v, 'binding.batch-inclusion')?.outcome === 'fail')
    assert.notEqual(check(v, 'binding.session-signature')?.outcome, 'pass', what);
}

before(async () => {
  engine = new Engine({ workers: 2 });
  dir = mkdtempSync(join(tmpdir(), 'wasmvm-claim-batch-'));
  const provider = new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false });
  batchedAttester = new TeeAttester(provider, { claimSigning: 'batched' });
  batched = await startTestServer({ engine, attester: batchedAttester });
  perClaim = await startTestServer({ engine, attester: new TeeAttester(provider) });
  // Concurrent calls: their claims finish in the same event-loop turns and share batches.
  for (let round = 0; round < 4 && !samples.some((s) => env(s).batch.size > 1); round++)
    samples = await Promise.all(
      Array.from({ length: 16 }, () => sample(batched.server.url, 'all', ARGS_A, 'interp', 'session-key')),
    );
});
after(async () => {
  await batched.close();
  await perClaim.close();
  engine.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `claim batch: tree sizes of 16 concurrent calls ${samples.map((x) => env(x).batch.size).join(',')}; ${tried} mutations tried, all rejected`,
  );
});

async function proofMutations(): Promise<void> {
  const s = samples.find((x) => env(x).batch.size > 1)!;
  const e = env(s);
  const { index, size, path } = e.batch as { index: number; size: number; path: string[] };
  // each byte of each path element
  for (let k = 0; k < path.length; k++)
    for (let b = 0; b < 32; b++) {
      const p = [...path];
      const bytes = Buffer.from(p[k]!, 'hex');
      bytes[b]! ^= 0x01;
      p[k] = bytes.toString('hex');
      await rejected(`path[${k}] byte ${b}`, s, { ...e, batch: { index, size, path: p } });
    }
  // the index and the size
  for (let i = 0; i < Math.max(size, 4) + 2; i++)
    if (i !== index) await rejected(`index ${i}`, s, { ...e, batch: { index: i, size, path } });
  for (let n = 1; n <= size + 8; n++)
    if (n !== size) await rejected(`size ${n}`, s, { ...e, batch: { index, size: n, path } });
  // path elements dropped, added, swapped
  for (let k = 0; k < path.length; k++)
    await rejected(`path[${k}] dropped`, s, {
      ...e,
      batch: { index, size, path: path.filter((_, j) => j !== k) },
    });
  await rejected('path element added', s, {
    ...e,
    batch: { index, size, path: [...path, '00'.repeat(32)] },
  });
  await rejected(
    'path reversed',
    s,
    { ...e, batch: { index, size, path: [...path].reverse() } },
    'binding.batch-inclusion',
  );
  // each byte of the root signature
  const sig = Buffer.from(e.signature, 'base64');
  for (let b = 0; b < sig.length; b++) {
    const t = Buffer.from(sig);
    t[b]! ^= 0x80;
    await rejected(`signature byte ${b}`, s, { ...e, signature: t.toString('base64') });
  }
}

async function crossMutations(): Promise<void> {
  const s = samples.find((x) => env(x).batch.size > 1)!;
  const e = env(s);
  const sameBatch = samples.filter((x) => x !== s && env(x).signature === e.signature);
  assert.ok(sameBatch.length > 0);
  for (const o of sameBatch) await rejected('proof of a batch sibling', s, { ...e, batch: env(o).batch });
  const other =
    samples.find((x) => env(x).signature !== e.signature) ??
    (await sample(batched.server.url, 'all', ARGS_A, 'interp', 'session-key'));
  assert.notEqual(env(other).signature, e.signature);
  await rejected('proof and signature of another batch', s, {
    ...e,
    batch: env(other).batch,
    signature: env(other).signature,
  });
  await rejected('signature of another batch', s, { ...e, signature: env(other).signature });
}

describe('batched claim signing, end to end', () => {
  it('concurrent Execute calls form batches of more than one claim; each response verifies', async () => {
    const sizes = samples.map((s) => env(s).batch.size as number);
    assert.ok(
      sizes.some((n) => n > 1),
      `no batch of more than one claim formed: ${sizes}`,
    );
    for (const s of samples) {
      const e = env(s);
      assert.equal(e.v, 3);
      assert.ok(e.batch.index < e.batch.size);
      const v = await verify(s);
      assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => c.outcome !== 'pass')));
      assert.equal(check(v, 'binding.batch-inclusion')?.outcome, 'pass');
      assert.match(check(v, 'binding.session-signature')!.detail, /claim batch root signed \(ES256\)/);
      assert.deepEqual(
        { index: (v.fields!.claimBatch as Json).index, size: (v.fields!.claimBatch as Json).size },
        { index: e.batch.index, size: e.batch.size },
      );
    }
    // responses of one batch carry the same root signature and distinct indexes
    const bySig = new Map<string, number[]>();
    for (const s of samples)
      bySig.set(env(s).signature, [...(bySig.get(env(s).signature) ?? []), env(s).batch.index]);
    for (const idx of bySig.values()) assert.equal(new Set(idx).size, idx.length);
  });

  it('every change of the proof, the index, the size or the root signature is rejected', proofMutations);

  it('a proof from another response of the same batch, or of another batch, is rejected', crossMutations);

  it('the same mutations against a warm VerifierCache are rejected too', async () => {
    activeCache = new VerifierCache();
    try {
      for (const x of samples) assert.equal((await verify(x)).ok, true);
      assert.deepEqual((await verify(samples[0]!)).fields?.cached, ['binding.session-signature']);
      await proofMutations();
      await crossMutations();
    } finally {
      activeCache = undefined;
    }
  });

  it('a per-claim signature presented as a batch, and a batch signature as a single claim, are rejected', async () => {
    const s = samples[0]!;
    const e = env(s);
    // the genuine session claim key (a test seam: the Attester's current session)
    const key = await ((batchedAttester.attester as any).current as Promise<{ claimKey: KeyObject }>);
    const perClaimSig = sign('sha256', encodeClaim(claimFromJson(e.claim)), {
      key: key.claimKey,
      dsaEncoding: 'ieee-p1363',
    }).toString('base64');
    // control: the same claim signed per claim by the same key, without a proof, verifies
    const { batch: _drop, ...single } = e;
    const control = await verify(s, withEnvelope(s, { ...single, signature: perClaimSig }));
    assert.equal(control.ok, true, JSON.stringify(control.checks.filter((c) => c.outcome !== 'pass')));
    assert.equal(check(control, 'binding.batch-inclusion'), undefined);
    // a per-claim signature with a proof (any proof, also that of a batch of one)
    await rejected('per-claim signature with its proof', s, { ...e, signature: perClaimSig });
    await rejected('per-claim signature as a batch of one', s, {
      ...e,
      signature: perClaimSig,
      batch: { index: 0, size: 1, path: [] },
    });
    // the batch signature without the proof
    await rejected('batch signature without a proof', s, single, 'binding.session-signature');
  });

  it('the SessionCache accepts batched responses (full, then cache hits)', async () => {
    const cache = new SessionCache({ verify: { allowSimulated: true } });
    const client = createWasmvmClient({ baseUrl: batched.server.url });
    const arith = fixture('arith.wasm');
    const rs = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        cache.execute(client, { bytecode: arith, fn: 'add', args: [String(i), '1'] }),
      ),
    );
    for (const r of rs) assert.equal(r.verdict.ok, true, JSON.stringify(r.verdict));
    const more = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        cache.execute(client, { bytecode: arith, fn: 'add', args: [String(i), '2'] }),
      ),
    );
    for (const r of more) {
      assert.equal(r.verdict.ok, true, JSON.stringify(r.verdict));
      assert.equal(r.cacheHit, true);
    }
  });

  it('per-claim stays the default: no batch member, the signature over encodeClaim', async () => {
    const s = await sample(perClaim.server.url, 'all', ARGS_A, 'interp', 'session-key');
    const e = env(s);
    assert.equal(e.batch, undefined);
    assert.equal(batchedAttester.attester.claimSigning, 'batched');
    const v = await verify(s);
    assert.equal(v.ok, true);
    assert.equal(check(v, 'binding.batch-inclusion'), undefined);
    assert.match(check(v, 'binding.session-signature')!.detail, /^claim signed \(ES256\)/);
    // per-request attestation on a batched server is unaffected
    const pr = await sample(batched.server.url, 'all', ARGS_A, 'interp', 'per-request');
    assert.equal(env(pr).batch, undefined);
    assert.equal(env(pr).mode, 'per-request');
  });
});
