/**
 * Sealed execution's key lifecycle: the sealing key rotates with the session (its lifetime); a request
 * sealed to an expired key id is refused by the server with a "fetch the attestation again" error, the
 * client refuses to seal to a key it knows expired, an unknown key id is refused, and the verifier
 * rejects a result whose claim was issued outside the sealing key's window.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConnectError } from '@connectrpc/connect';
import { Engine } from '../../src/engine/index.ts';
import { TeeAttester } from '../../src/server/attester.ts';
import {
  attestForSealing,
  createWasmvmClient,
  executeSealedAndVerify,
  type WasmvmClient,
} from '../../src/server/client.ts';
import { sealedChecks } from '../../src/server/sealed-client.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { fixture, startTestServer, type TestServer } from './helpers.ts';

const arith = fixture('arith.wasm');
const LIFETIME = 60_000;
let offset = 0;
const clock = () => Date.now() + offset;
let engine: Engine;
let ts: TestServer;
let client: WasmvmClient;

before(async () => {
  engine = new Engine({ workers: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'wasmvm-sealed-life-'));
  const provider = new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false });
  const attester = new TeeAttester(provider, { sessionKeyLifetimeMs: LIFETIME, now: clock });
  ts = await startTestServer({ engine, attester }, {}, () => rmSync(dir, { recursive: true, force: true }));
  client = createWasmvmClient({ baseUrl: ts.server.url });
});
after(async () => {
  await ts.close();
  engine.close();
});

const code = (e: unknown) =>
  ConnectError.from(e).metadata.get('wasmvm-error-code') ?? (e as { code?: string }).code;
const input = { bytecode: arith, fn: 'add', args: ['2', '3'] };

test('sealed key rotation: an expired key id is refused, the client is told to refetch', async () => {
  const s1 = await attestForSealing(client, { allowSimulated: true });
  const ok = await executeSealedAndVerify(client, input, { session: s1, allowSimulated: true });
  assert.equal(ok.verified, true, JSON.stringify(ok.verdict));
  offset += LIFETIME + 1000;
  // The client knows the key expired (its own clock): it refuses to seal.
  await assert.rejects(
    executeSealedAndVerify(client, input, { session: s1, allowSimulated: true, now: clock }),
    (e) => code(e) === 'SEAL_KEY_EXPIRED' && /fetch the attestation again/.test(String(e)),
  );
  // A client that does not know (its clock behind): the server refuses the expired key id.
  await assert.rejects(
    executeSealedAndVerify(client, input, { session: s1, allowSimulated: true, now: () => s1.notAfter - 1 }),
    (e) =>
      code(e) === 'SEAL_KEY_EXPIRED' &&
      /expired at .*fetch the attestation again \(GetAttestation\)/.test(String(e)) &&
      String(e).includes(s1.keyId),
  );
  // Refetch: a new key id, and sealing works again.
  const s2 = await attestForSealing(client, { allowSimulated: true });
  assert.notEqual(s2.keyId, s1.keyId);
  assert.notDeepEqual(s2.publicKey, s1.publicKey);
  const r = await executeSealedAndVerify(client, input, { session: s2, allowSimulated: true, now: clock });
  assert.equal(r.verified, true, JSON.stringify(r.verdict));
  assert.deepEqual(r.outputs, [{ type: 'i32', value: 5 }]);
});

test('sealed: an unknown key id is refused (SEAL_UNKNOWN_KEY)', async () => {
  const s = await attestForSealing(client, { allowSimulated: true });
  await assert.rejects(
    executeSealedAndVerify(client, input, {
      session: { ...s, keyId: 'not-a-key-id' },
      allowSimulated: true,
      now: clock,
    }),
    (e) => code(e) === 'SEAL_UNKNOWN_KEY' && /fetch the attestation/.test(String(e)),
  );
});

test('verifier: a result issued outside the sealing key window is rejected', async () => {
  const s = await attestForSealing(client, { allowSimulated: true });
  const r = await executeSealedAndVerify(client, input, { session: s, allowSimulated: true, now: clock });
  assert.equal(r.verified, true);
  const good = sealedChecks(r.claim, r.sealedRequestSha256, s);
  assert.ok(
    good.every((c) => c.outcome === 'pass'),
    JSON.stringify(good),
  );
  const expired = sealedChecks(r.claim, r.sealedRequestSha256, {
    ...s,
    notAfter: Number(r.claim!.issuedAt) - 1,
  });
  const kv = expired.find((c) => c.id === 'sealed.key-validity');
  assert.equal(kv?.outcome, 'fail');
  assert.match(kv!.detail, /sealed under an expired key/);
  const other = sealedChecks(r.claim, '00'.repeat(32), s).find((c) => c.id === 'sealed.request');
  assert.equal(other?.outcome, 'fail');
  const otherSession = sealedChecks(r.claim, r.sealedRequestSha256, { ...s, identity: 'ff'.repeat(64) });
  assert.equal(otherSession.find((c) => c.id === 'sealed.session')?.outcome, 'fail');
});

test('a request opened just before the key rotates is attested by the session it was sealed to', async () => {
  // The engine call takes the clock past the session's end: the key rotates between open and attest.
  let skew = 0;
  const now = () => Date.now() + skew;
  const dir = mkdtempSync(join(tmpdir(), 'wasmvm-sealed-rot-'));
  const provider = new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false });
  const attester = new TeeAttester(provider, { sessionKeyLifetimeMs: LIFETIME, now });
  const slow = {
    async execute(req: Parameters<Engine['execute']>[0]) {
      const r = await engine.execute(req);
      skew += LIFETIME + 1000;
      return r;
    },
    close() {},
  };
  const s = await startTestServer({ engine: slow, attester }, {}, () =>
    rmSync(dir, { recursive: true, force: true }),
  );
  try {
    const c = createWasmvmClient({ baseUrl: s.server.url });
    const session = await attestForSealing(c, { allowSimulated: true });
    const r = await executeSealedAndVerify(c, input, {
      session,
      allowSimulated: true,
      // the verifier's clock: just inside the window's 5-minute skew
      extra: { now: new Date(session.notAfter + 1000) },
    });
    assert.equal(r.verified, true, JSON.stringify(r.verdict));
    assert.equal(r.claim?.session, session.identity);
    assert.equal(Number(r.claim?.issuedAt), session.notAfter, 'issuedAt clamped into the window');
    // the session did rotate meanwhile
    const next = await attestForSealing(c, { allowSimulated: true, extra: { now: new Date(now()) } });
    assert.notEqual(next.keyId, session.keyId);
  } finally {
    await s.close();
  }
});
