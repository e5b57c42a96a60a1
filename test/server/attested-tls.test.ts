/**
 * Attested TLS end to end over real TLS on loopback (docs/sealed-execution.md, "Two channels"): the
 * server's TLS key is made in the (simulated) TEE and bound into the session REPORT_DATA (session-key/v5);
 * the client verifies the attestation, pins the key, and then talks only to that key. A TLS-terminating
 * proxy with another certificate in front of the real server is refused with TLS_KEY_MISMATCH, and sees
 * no request of ours in the clear; an operator-supplied key is refused unless allowed.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tls from 'node:tls';
import { ConnectError } from '@connectrpc/connect';
import { sessionKeyDataFromJson, sessionKeyReportData } from '../../src/binding/index.ts';
import { Engine } from '../../src/engine/index.ts';
import {
  generateAttestedTlsCredentials,
  operatorTlsBinding,
  type TlsCredentials,
} from '../../src/server/attested-tls.ts';
import { TeeAttester } from '../../src/server/attester.ts';
import {
  AttestedTlsPin,
  attestForSealing,
  attestTls,
  createWasmvmClient,
  executeAndVerify,
  executeSealedAndVerify,
} from '../../src/server/client.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { verifySessionAttestation } from '../../src/verify/index.ts';
import { fixture, startTestServer, type TestServer } from './helpers.ts';

const arith = fixture('arith.wasm');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A TLS-terminating proxy: its own certificate towards the client, TLS to the real server behind. */
class TerminatingProxy {
  readonly plaintextFromClient: Buffer[] = [];
  private readonly server: tls.Server;
  private readonly sockets = new Set<tls.TLSSocket>();
  port = 0;
  constructor(creds: TlsCredentials, target: { port: number }) {
    this.server = tls.createServer({ cert: creds.cert, key: creds.key, ALPNProtocols: ['h2'] }, (c) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: target.port,
        ALPNProtocols: ['h2'],
        rejectUnauthorized: false,
      });
      this.sockets.add(c).add(s);
      c.on('data', (d: Buffer) => {
        this.plaintextFromClient.push(Buffer.from(d));
        s.write(d);
      });
      s.on('data', (d: Buffer) => c.write(d));
      const end = () => {
        c.destroy();
        s.destroy();
      };
      c.on('close', end).on('error', end);
      s.on('close', end).on('error', end);
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }
  plaintext(): Buffer {
    return Buffer.concat(this.plaintextFromClient);
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function errorCode(e: unknown): string | undefined {
  const own = (e as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = (e as { cause?: { code?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  return ConnectError.from(e).metadata.get('wasmvm-error-code') ?? undefined;
}

describe('attested TLS', () => {
  let dir: string;
  let engine: Engine;
  let creds: TlsCredentials;
  let ts: TestServer;
  let other: TlsCredentials;
  let proxy: TerminatingProxy;
  const sim = () => new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-attested-tls-'));
    engine = new Engine({ workers: 1 });
    creds = await generateAttestedTlsCredentials();
    ts = await startTestServer(
      { engine, attester: new TeeAttester(sim(), { tlsKey: creds }) },
      { tls: { cert: creds.cert, key: creds.key } },
    );
    other = await generateAttestedTlsCredentials();
    proxy = new TerminatingProxy(other, { port: Number(new URL(ts.server.url).port) });
    await proxy.listen();
  });
  after(async () => {
    await proxy.close();
    await ts.close();
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the generated key: P-256, self-signed, its SPKI hash is what the session binds (v5)', async () => {
    const c = new (await import('node:crypto')).X509Certificate(creds.cert);
    assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(c.verify(c.publicKey), 'self-signed');
    assert.equal(creds.origin, 'tee-generated');
    assert.equal(creds.spkiSha256.length, 32);
    const client = createWasmvmClient({ baseUrl: ts.server.url, insecureSkipVerify: true });
    const nonce = new Uint8Array(32).fill(9);
    const s = JSON.parse((await client.getAttestation({ nonce })).attestation);
    assert.deepEqual(s.tls, { spkiSha256: hex(creds.spkiSha256), origin: 'tee-generated' });
    const v = await verifySessionAttestation(s, { nonce, allowSimulated: true });
    assert.ok(v.ok, JSON.stringify(v, null, 1));
    assert.deepEqual(v.fields?.tls, s.tls);
    assert.equal(v.checks.find((x) => x.id === 'binding.session-tls-key')?.outcome, 'pass');
    // the TLS key is inside REPORT_DATA: another hash, or dropping it, no longer matches the evidence
    for (const edited of [
      { ...s, tls: { ...s.tls, spkiSha256: hex(other.spkiSha256) } },
      { ...s, tls: { ...s.tls, origin: 'operator-supplied' } },
      (({ tls: _t, ...rest }) => rest)(s),
    ]) {
      const w = await verifySessionAttestation(edited, { nonce, allowSimulated: true });
      assert.equal(w.ok, false);
      assert.equal(w.checks.find((x) => x.id === 'binding.session-key')?.outcome, 'fail');
    }
    // a malformed hash fails the shape check, naming the field
    const bad = await verifySessionAttestation(
      { ...s, tls: { ...s.tls, spkiSha256: 'AB'.repeat(32) } },
      { nonce, allowSimulated: true },
    );
    assert.equal(bad.ok, false);
    assert.match(JSON.stringify(bad.checks), /session\.tls\.spkiSha256/);
    assert.equal(sessionKeyReportData(sessionKeyDataFromJson(s), nonce).length, 64);
  });

  it('accepted: attest, pin, then plain and sealed calls over the pinned connection', async () => {
    const pin = new AttestedTlsPin();
    const client = createWasmvmClient({ baseUrl: ts.server.url, attestedTls: pin });
    // nothing but GetAttestation before the key is pinned
    await assert.rejects(
      executeAndVerify(client, { bytecode: arith, fn: 'add', args: ['1', '2'] }, { allowSimulated: true }),
      (e: unknown) => errorCode(e) === 'TLS_KEY_NOT_ATTESTED',
    );
    const a = await attestTls(client, pin, { allowSimulated: true });
    assert.equal(a.tlsSpkiSha256, hex(creds.spkiSha256));
    assert.equal(pin.pinnedSpkiSha256, hex(creds.spkiSha256));
    assert.deepEqual(pin.peers(), [hex(creds.spkiSha256)]);
    const r = await executeAndVerify(
      client,
      { bytecode: arith, fn: 'add', args: ['20', '22'] },
      { allowSimulated: true },
    );
    assert.equal(r.verified, true);
    assert.deepEqual(r.outputs, [{ type: 'i32', value: 42 }]);
    // sealed over attested TLS: attestForSealing pins too (one GetAttestation)
    const pin2 = new AttestedTlsPin();
    const c2 = createWasmvmClient({ baseUrl: ts.server.url, attestedTls: pin2, protocol: 'connect' });
    const session = await attestForSealing(c2, { allowSimulated: true, attestedTls: pin2 });
    assert.equal(session.tlsSpkiSha256, hex(creds.spkiSha256));
    const sr = await executeSealedAndVerify(
      c2,
      { bytecode: arith, fn: 'add', args: ['5', '6'] },
      { session, allowSimulated: true },
    );
    assert.equal(sr.verified, true);
    assert.deepEqual(sr.outputs, [{ type: 'i32', value: 11 }]);
  });

  it('refused: a TLS-terminating proxy with another key (TLS_KEY_MISMATCH); it sees no request', async () => {
    const url = `https://127.0.0.1:${proxy.port}`;
    // The proxy relays the real server's attestation, which verifies; the peer key does not match it.
    const pin = new AttestedTlsPin();
    const client = createWasmvmClient({ baseUrl: url, attestedTls: pin });
    await assert.rejects(
      attestTls(client, pin, { allowSimulated: true }),
      (e: unknown) => errorCode(e) === 'TLS_KEY_MISMATCH' && /not the attested TLS key/.test(String(e)),
    );
    assert.equal(pin.pinnedSpkiSha256, undefined);
    assert.deepEqual(pin.refused, [hex(other.spkiSha256)]);
    await assert.rejects(
      executeAndVerify(client, { bytecode: arith, fn: 'add', args: ['777', '1'] }, { allowSimulated: true }),
      (e: unknown) => errorCode(e) === 'TLS_KEY_NOT_ATTESTED',
    );
    // A client pinned to the right key (attested directly) whose connection is later diverted to the
    // proxy: the handshake is refused before any request byte is written.
    const good = new AttestedTlsPin();
    await attestTls(createWasmvmClient({ baseUrl: ts.server.url, attestedTls: good }), good, {
      allowSimulated: true,
    });
    const diverted = new AttestedTlsPin();
    diverted.pin(creds.spkiSha256);
    const before = proxy.plaintext().length;
    await assert.rejects(
      executeAndVerify(
        createWasmvmClient({ baseUrl: url, attestedTls: diverted }),
        { bytecode: arith, fn: 'add', args: ['31337', '1'] },
        { allowSimulated: true },
      ),
      (e: unknown) => errorCode(e) === 'TLS_KEY_MISMATCH',
    );
    const seen = proxy.plaintext().subarray(before);
    assert.equal(seen.indexOf('31337'), -1);
    assert.equal(seen.indexOf(Buffer.from(arith.subarray(8, 40))), -1);
    // control: the proxy does see our plaintext when the client trusts its certificate (the capture works)
    const trusting = createWasmvmClient({ baseUrl: url, ca: other.cert });
    await executeAndVerify(
      trusting,
      { bytecode: arith, fn: 'add', args: ['31337', '1'], bytecodeEncoding: 'raw' },
      { allowSimulated: true },
    );
    assert.notEqual(proxy.plaintext().indexOf('31337'), -1);
  });

  it('an operator-supplied key is bound as such: refused by default, accepted when allowed', async () => {
    const op = await generateAttestedTlsCredentials();
    const binding = operatorTlsBinding(op.cert, op.key);
    assert.equal(binding.origin, 'operator-supplied');
    assert.equal(hex(binding.spkiSha256), hex(op.spkiSha256));
    assert.throws(() => operatorTlsBinding(op.cert, other.key), { code: 'INVALID_CONFIG' });
    const s = await startTestServer(
      { engine, attester: new TeeAttester(sim(), { tlsKey: binding }) },
      { tls: { cert: op.cert, key: op.key } },
    );
    try {
      const pin = new AttestedTlsPin();
      const c = createWasmvmClient({ baseUrl: s.server.url, attestedTls: pin });
      await assert.rejects(
        attestTls(c, pin, { allowSimulated: true }),
        (e: unknown) => errorCode(e) === 'TLS_KEY_NOT_ATTESTED' && /operator-supplied/.test(String(e)),
      );
      const a = await attestTls(c, pin, { allowSimulated: true, allowOperatorTlsKey: true });
      assert.equal(a.tlsSpkiSha256, hex(op.spkiSha256));
    } finally {
      await s.close();
    }
  });

  it('a server that binds no TLS key: TLS_KEY_NOT_ATTESTED, nothing but GetAttestation sent', async () => {
    const s = await startTestServer(
      { engine, attester: new TeeAttester(sim()) },
      { tls: { cert: creds.cert, key: creds.key } },
    );
    try {
      const pin = new AttestedTlsPin();
      const c = createWasmvmClient({ baseUrl: s.server.url, attestedTls: pin });
      await assert.rejects(
        attestTls(c, pin, { allowSimulated: true }),
        (e: unknown) => errorCode(e) === 'TLS_KEY_NOT_ATTESTED',
      );
      assert.throws(() => createWasmvmClient({ baseUrl: 'http://127.0.0.1:1', attestedTls: pin }), {
        code: 'TLS_KEY_NOT_ATTESTED',
      });
    } finally {
      await s.close();
    }
  });
});
