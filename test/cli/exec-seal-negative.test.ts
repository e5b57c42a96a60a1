/**
 * `exec --server … --seal` against a hostile host, through the CLI (docs/sealed-execution.md §3, §7): an
 * HTTP/2 frame-level proxy (h2c) between the CLI and the server edits one bit of the sealed request
 * (server: SEAL_OPEN_FAILED), of the sealed response (client: SEALED_RESPONSE_TAMPERED), holds the
 * request until the sealing key expired (SEAL_KEY_EXPIRED), and replays the CLI's captured sealed request
 * on its own connection (SEAL_REPLAY). Each failure exits non-zero with its distinct code.
 */
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { ConnectError } from '@connectrpc/connect';
import { Engine } from '../../src/engine/index.ts';
import { SealedExecutionRequestSchema } from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import { TeeAttester } from '../../src/server/attester.ts';
import { createWasmvmClient } from '../../src/server/client.ts';
import { createLogger } from '../../src/server/log.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { runCli } from './run-in-process.ts';

const WASM = fileURLToPath(new URL('../server/fixtures/arith.wasm', import.meta.url));
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const DATA = 0;

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}
type Hook = (f: Frame) => Promise<void> | void;

/** Splits a byte stream into HTTP/2 frames (after an optional preface) and hands each to a hook. */
function framer(preface: boolean, hook: Hook, out: (b: Buffer) => void): (d: Buffer) => void {
  let buf = Buffer.alloc(0);
  let needPreface = preface;
  let chain = Promise.resolve();
  return (d) => {
    buf = Buffer.concat([buf, d]);
    if (needPreface) {
      if (buf.length < PREFACE.length) return;
      const p = buf.subarray(0, PREFACE.length);
      buf = buf.subarray(PREFACE.length);
      needPreface = false;
      chain = chain.then(() => out(Buffer.from(p)));
    }
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const f: Frame = {
        type: buf[3]!,
        flags: buf[4]!,
        stream: buf.readUInt32BE(5),
        payload: Buffer.from(buf.subarray(9, 9 + len)),
      };
      buf = buf.subarray(9 + len);
      chain = chain.then(async () => {
        await hook(f);
        const h = Buffer.alloc(9);
        h.writeUIntBE(f.payload.length, 0, 3);
        h[3] = f.type;
        h[4] = f.flags;
        h.writeUInt32BE(f.stream, 5);
        out(Buffer.concat([h, f.payload]));
      });
    }
  };
}

class FrameProxy {
  onClient: Hook = () => {};
  onServer: Hook = () => {};
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(target: number) {
    this.server = createServer((c) => {
      const s = connect(target, '127.0.0.1');
      this.sockets.add(c).add(s);
      c.on(
        'data',
        framer(
          true,
          (f) => this.onClient(f),
          (b) => s.write(b),
        ),
      );
      s.on(
        'data',
        framer(
          false,
          (f) => this.onServer(f),
          (b) => c.write(b),
        ),
      );
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
  reset(): void {
    this.onClient = () => {};
    this.onServer = () => {};
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** The client's sealed request is the only client DATA frame past 1 KiB (GetAttestation's is ~40 bytes). */
const isSealedRequest = (f: Frame) => f.type === DATA && f.payload.length > 1000;

describe('exec --seal through a hostile host (CLI)', () => {
  let dir: string;
  let engine: Engine;
  let server: RunningServer;
  let proxy: FrameProxy;
  const exec = () =>
    runCli([
      'exec',
      '--server',
      `http://127.0.0.1:${proxy.port}`,
      '--wasm',
      WASM,
      '--fn',
      'add',
      '--arg',
      '20',
      '--arg',
      '22',
      '--seal',
      '--allow-simulated',
    ]);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-seal-neg-'));
    const provider = new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false });
    engine = new Engine({ workers: 1 });
    server = await startServer({
      backend: { engine, attester: new TeeAttester(provider, { sessionKeyLifetimeMs: 10_000 }) },
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('silent'),
      shutdownTimeoutMs: 2000,
    });
    proxy = new FrameProxy(Number(new URL(server.url).port));
    await proxy.listen();
  });
  after(async () => {
    await proxy.close();
    await server.close();
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('control: through the proxy, untouched, the sealed call verifies (exit 0)', async () => {
    proxy.reset();
    const r = await exec();
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /outputs: i32:42/);
  });

  it('one bit of the sealed request edited: the server refuses SEAL_OPEN_FAILED (exit 3)', async () => {
    proxy.reset();
    let edited = 0;
    proxy.onClient = (f) => {
      if (isSealedRequest(f)) {
        f.payload[f.payload.length - 1]! ^= 0x01; // the AEAD tag, last field of the message
        edited++;
      }
    };
    const r = await exec();
    assert.equal(edited, 1);
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.err, /server error SEAL_OPEN_FAILED/);
  });

  it('one bit of the sealed response edited: the client refuses SEALED_RESPONSE_TAMPERED (exit 3)', async () => {
    proxy.reset();
    let sent = false;
    let edited = 0;
    proxy.onClient = (f) => {
      if (isSealedRequest(f)) sent = true;
    };
    proxy.onServer = (f) => {
      // the first response DATA frame after our sealed request: past key id, digest and enc, in the ciphertext
      if (sent && edited === 0 && f.type === DATA && f.payload.length > 400) {
        f.payload[300]! ^= 0x01;
        edited++;
      }
    };
    const r = await exec();
    assert.equal(edited, 1);
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.err, /SEALED_RESPONSE_TAMPERED/);
  });

  it('the sealed request held until the key rotated: SEAL_KEY_EXPIRED (exit 3, fetch again)', async () => {
    proxy.reset();
    proxy.onClient = async (f) => {
      if (isSealedRequest(f)) await new Promise((r) => setTimeout(r, 10_500));
    };
    const r = await exec();
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.err, /server error SEAL_KEY_EXPIRED: .*fetch the attestation again/);
  });

  it("the CLI's sealed request replayed by the host on its own connection: SEAL_REPLAY", async () => {
    proxy.reset();
    let captured: Buffer | undefined;
    proxy.onClient = (f) => {
      if (isSealedRequest(f)) captured = Buffer.from(f.payload);
    };
    const r = await exec();
    assert.equal(r.code, 0, r.out + r.err);
    assert.ok(captured);
    // gRPC message: 1 flag byte, 4 length bytes, then SealedExecutionRequest
    const len = captured.readUInt32BE(1);
    const req = fromBinary(SealedExecutionRequestSchema, captured.subarray(5, 5 + len));
    const replay = createWasmvmClient({ baseUrl: server.url });
    await assert.rejects(
      replay.executeSealed(req),
      (e: unknown) => ConnectError.from(e).metadata.get('wasmvm-error-code') === 'SEAL_REPLAY',
    );
  });
});
