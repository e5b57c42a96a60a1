// biome-ignore-all lint/suspicious/noExplicitAny: envelopes and requests edited as plain JSON
/**
 * SessionCache: the first response of a replica's session is verified in full, later ones by the
 * cached attested claim key; a tampered signature, output or a second replica's session are never
 * accepted from the cache; transport failures are retried and reported.
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { Engine } from '../../src/engine/index.ts';
import { createWasmvmClient, SessionCache, type WasmvmClient } from '../../src/server/client.ts';
import { fixture, simulatedAttester, startTestServer, type TestServer } from './helpers.ts';

const arith = fixture('arith.wasm');
let engine: Engine;
const servers: TestServer[] = [];
const clients: WasmvmClient[] = [];

before(async () => {
  engine = new Engine({ workers: 2 });
  for (let i = 0; i < 2; i++) {
    const sim = simulatedAttester();
    const ts = await startTestServer({ engine, attester: sim.attester }, {}, sim.cleanup);
    servers.push(ts);
    clients.push(createWasmvmClient({ baseUrl: ts.server.url }));
  }
});
after(async () => {
  for (const s of servers) await s.close();
  engine.close();
});

/** A client whose Execute answers are edited by `edit` (a man in the middle / a lying replica). */
function tampering(c: WasmvmClient, edit: (attestation: Record<string, any>) => void): WasmvmClient {
  return {
    ...c,
    execute: async (
      req: Parameters<WasmvmClient['execute']>[0],
      opts?: Parameters<WasmvmClient['execute']>[1],
    ) => {
      const res = await c.execute(req, opts);
      const env = JSON.parse(res.result!.attestation);
      edit(env);
      res.result!.attestation = JSON.stringify(env);
      return res;
    },
  } as WasmvmClient;
}

test('first response verified in full, then from the cache; two replicas, two sessions', async () => {
  const cache = new SessionCache({ verify: { allowSimulated: true } });
  const a1 = await cache.execute(clients[0]!, { bytecode: arith, fn: 'add', args: ['2', '3'] });
  assert.equal(a1.verdict.ok, true, JSON.stringify(a1.verdict));
  assert.equal(a1.cacheHit, false);
  const a2 = await cache.execute(clients[0]!, { bytecode: arith, fn: 'add', args: ['4', '3'] });
  assert.equal(a2.verdict.ok, true);
  assert.equal(a2.cacheHit, true);
  assert.equal(a2.session?.id, a1.session?.id);
  assert.deepEqual(a2.outputs, [{ type: 'i32', value: 7 }]);
  const b = await cache.execute(clients[1]!, { bytecode: arith, fn: 'add', args: ['1', '1'] });
  assert.equal(b.cacheHit, false);
  assert.notEqual(b.session?.id, a1.session?.id);
  assert.equal(cache.sessions().length, 2);
});

test('simulated evidence is not cached as verified without explicit trust', async () => {
  const cache = new SessionCache();
  for (let i = 0; i < 2; i++) {
    const r = await cache.execute(clients[0]!, { bytecode: arith, fn: 'add', args: ['2', '3'] });
    assert.equal(r.verdict.ok, false);
    assert.equal(r.cacheHit, false);
  }
  assert.equal(cache.sessions().length, 0);
});

test('a cached session never accepts a bad signature or a changed output', async () => {
  const cache = new SessionCache({ verify: { allowSimulated: true } });
  assert.equal(
    (await cache.execute(clients[0]!, { bytecode: arith, fn: 'add', args: ['2', '3'] })).verdict.ok,
    true,
  );
  const badSig = tampering(clients[0]!, (env) => {
    const sig = Buffer.from(env.signature, 'base64');
    sig[5]! ^= 1;
    env.signature = sig.toString('base64');
  });
  const r1 = await cache.execute(badSig, { bytecode: arith, fn: 'add', args: ['2', '3'] });
  assert.equal(r1.cacheHit, true);
  assert.equal(r1.verdict.ok, false);
  assert.equal(r1.verdict.checks.find((c) => c.id === 'binding.session-signature')?.outcome, 'fail');
  const badOut = tampering(clients[0]!, (env) => {
    env.claim.outputs = [{ type: 'i32', value: '6' }];
  });
  const r2 = await cache.execute(badOut, { bytecode: arith, fn: 'add', args: ['2', '3'] });
  assert.equal(r2.verdict.ok, false);
  // a session that claims another server build than the one verified (and pinned) is not the cached one
  const badBuild = tampering(clients[0]!, (env) => {
    env.session.serverBuildSha256 = 'ab'.repeat(32);
  });
  const r4 = await cache.execute(badBuild, { bytecode: arith, fn: 'add', args: ['2', '3'] });
  assert.equal(r4.cacheHit, true);
  assert.equal(r4.verdict.ok, false);
  assert.match(
    r4.verdict.checks.find((c) => c.id === 'binding.session-signature')?.detail ?? '',
    /server build is not the session's/,
  );
  // another replica's session presented with this one's keys: unknown session, verified in full, fails
  const foreign = tampering(clients[1]!, (env) => {
    env.signature = Buffer.alloc(64).toString('base64');
  });
  const r3 = await cache.execute(foreign, { bytecode: arith, fn: 'add', args: ['2', '3'] });
  assert.equal(r3.cacheHit, false);
  assert.equal(r3.verdict.ok, false);
});

test('transport failures are retried with a fresh nonce and reported; others are not retried', async () => {
  const cache = new SessionCache({ verify: { allowSimulated: true }, retries: 2, backoffMs: 1 });
  let calls = 0;
  const nonces = new Set<string>();
  const flaky = {
    ...clients[0]!,
    execute: async (req: any, opts?: any) => {
      calls++;
      nonces.add(Buffer.from(req.execution.nonce).toString('hex'));
      if (calls < 3) throw new ConnectError('connection reset', Code.Unavailable);
      return clients[0]!.execute(req, opts);
    },
  } as WasmvmClient;
  const r = await cache.execute(flaky, { bytecode: arith, fn: 'add', args: ['2', '3'] });
  assert.equal(r.verdict.ok, true);
  assert.equal(r.retried.length, 2);
  assert.match(r.retried[0]!, /Unavailable: connection reset/);
  assert.equal(nonces.size, 3);
  const never = {
    ...clients[0]!,
    execute: async () => {
      throw new ConnectError('down', Code.Unavailable);
    },
  } as WasmvmClient;
  await assert.rejects(
    cache.execute(never, { bytecode: arith, fn: 'add', args: ['1', '1'] }),
    /after 3 attempt\(s\): Unavailable: down/,
  );
  let bad = 0;
  const invalid = {
    ...clients[0]!,
    execute: async () => {
      bad++;
      throw new ConnectError('no', Code.InvalidArgument);
    },
  } as WasmvmClient;
  await assert.rejects(
    cache.execute(invalid, { bytecode: arith, fn: 'add', args: ['1', '1'] }),
    /InvalidArgument/,
  );
  assert.equal(bad, 1);
});
