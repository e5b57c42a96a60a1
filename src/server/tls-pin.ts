/**
 * Attested TLS, client side (docs/sealed-execution.md, "Two channels: HPKE end-to-end vs attested TLS").
 *
 * The server's TLS certificate is self-signed inside the TEE, so no CA vouches for it: what vouches for
 * it is the session attestation, whose REPORT_DATA binds the SHA-256 of its SubjectPublicKeyInfo. The
 * client therefore replaces certificate-chain verification with a pin that it learns from the verified
 * attestation:
 *
 * 1. Every TLS connection of the client is made here (`createConnection`, given to http2.connect), and
 *    HTTP/2 writes through a gate: nothing reaches the socket until the handshake finished (in it the
 *    server proved it holds the private key of the certificate it sent) and the peer certificate's SPKI
 *    hash passed the check below. (Destroying the TLS socket itself from 'secureConnect' is not an
 *    option: Node's HTTP/2 session set-up, listening for the same event, asserts on a closed socket.)
 * 2. Until a pin is set, the `interceptor` lets through only GetAttestation (it carries nothing but our
 *    nonce); every other call fails with TLS_KEY_NOT_ATTESTED before it is sent.
 * 3. `pin(hash)` (after the attestation verified) checks every open connection and refuses, closing it,
 *    a connection whose peer key differs (TLS_KEY_MISMATCH: e.g. a TLS-terminating proxy with another
 *    certificate). Every later connection is checked when its handshake ends and fails with
 *    TLS_KEY_MISMATCH before any byte (not even the HTTP/2 preface) is written.
 *
 * Node's `checkServerIdentity` is not used: it is only called when the chain verified (never for a
 * self-signed certificate with rejectUnauthorized: false) and not on resumed TLS sessions. HTTP/1.1 is
 * not supported: an HTTP/1.1 client request may write its first bytes as soon as the handshake ends,
 * before a JavaScript listener runs (and https.Agent pools sockets outside our control).
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { Interceptor } from '@connectrpc/connect';
import { ClientError } from './errors.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** SHA-256 of the DER SubjectPublicKeyInfo of a TLS socket's peer certificate (undefined: none). */
export function peerSpkiSha256(sock: tls.TLSSocket): Uint8Array | undefined {
  const cert: X509Certificate | undefined = sock.getPeerX509Certificate();
  if (!cert) return undefined;
  return new Uint8Array(
    createHash('sha256')
      .update(cert.publicKey.export({ format: 'der', type: 'spki' }))
      .digest(),
  );
}

/** The methods allowed on a connection whose key is not yet pinned (they carry no user data). */
const BEFORE_PIN = new Set(['GetAttestation']);

export class AttestedTlsPin {
  private pinned?: Uint8Array;
  /** Open connections and their peer's SPKI hash (undefined until the handshake finished). */
  private readonly sockets = new Map<tls.TLSSocket, Uint8Array | undefined>();
  /** The SPKI hashes of peers refused so far (hex), for error messages and tests. */
  readonly refused: string[] = [];

  /** The pinned SPKI hash (hex), or undefined before pin(). */
  get pinnedSpkiSha256(): string | undefined {
    return this.pinned ? hex(this.pinned) : undefined;
  }

  /** The SPKI hashes (hex) of the peers of the open, handshaken connections. */
  peers(): string[] {
    return [...this.sockets.values()].filter((h): h is Uint8Array => h !== undefined).map(hex);
  }

  /**
   * http2.connect's `createConnection`: a TLS connection (ALPN h2) without chain verification — the
   * peer key is checked against the pin instead. HTTP/2 gets a stream that passes nothing to the socket
   * (not even the connection preface) until the handshake finished and the peer key passed; on a
   * mismatch the stream fails with TLS_KEY_MISMATCH, so no request byte ever reaches that peer.
   */
  readonly createConnection = (authority: URL): Duplex => {
    const host = authority.hostname.replace(/^\[|\]$/g, '');
    const port = Number(authority.port || 443);
    const sock = tls.connect({
      host,
      port,
      ALPNProtocols: ['h2'],
      ...(isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: false,
    });
    this.sockets.set(sock, undefined);
    sock.once('close', () => this.sockets.delete(sock));
    return new GatedStream(sock, () => {
      const h = peerSpkiSha256(sock);
      if (this.sockets.has(sock)) this.sockets.set(sock, h);
      if (this.pinned && !(h && same(h, this.pinned))) return this.mismatch(h);
      return undefined;
    });
  };

  /**
   * Only GetAttestation before pin(); once pinned, every call (connections are checked as they open).
   */
  readonly interceptor: Interceptor = (next) => async (req) => {
    if (!this.pinned && !BEFORE_PIN.has(req.method.name))
      throw new ClientError(
        'TLS_KEY_NOT_ATTESTED',
        `refusing to send ${req.method.name}: the server's TLS key is not verified yet (fetch and verify the attestation first)`,
      );
    return next(req);
  };

  /**
   * Pin the attested SPKI hash: every open connection must have it (a mismatching one is closed and
   * TLS_KEY_MISMATCH thrown); later connections are checked when they open.
   */
  pin(spkiSha256: Uint8Array): void {
    if (!(spkiSha256 instanceof Uint8Array) || spkiSha256.length !== 32)
      throw new ClientError('TLS_KEY_NOT_ATTESTED', 'the attested TLS key hash is not 32 bytes');
    if (this.pinned && !same(this.pinned, spkiSha256))
      throw new ClientError(
        'TLS_KEY_MISMATCH',
        `the server attests TLS key ${hex(spkiSha256)}, but this client is pinned to ${hex(this.pinned)} (the server restarted? make a new client)`,
      );
    // A connection still handshaking is checked on 'secureConnect', once the pin is set.
    let bad: Uint8Array | undefined;
    for (const [sock, h] of this.sockets) {
      if (h !== undefined && !same(h, spkiSha256)) {
        bad = h;
        sock.destroy();
        this.sockets.delete(sock);
      }
    }
    // Not pinned: the attestation came over a connection that does not end at the attested key.
    if (bad) throw this.mismatch(bad, spkiSha256);
    this.pinned = new Uint8Array(spkiSha256);
  }

  private mismatch(peer: Uint8Array | undefined, want = this.pinned): ClientError {
    const p = peer ? hex(peer) : '(no certificate)';
    this.refused.push(p);
    return new ClientError(
      'TLS_KEY_MISMATCH',
      `the TLS peer's key (SPKI SHA-256 ${p}) is not the attested TLS key ${want ? hex(want) : '?'}: refusing the connection (a TLS-terminating proxy or another server is in between)`,
    );
  }
}

/**
 * A duplex over a TLS socket that holds every write until the handshake finished and `check` passed;
 * when `check` returns an error the stream (and the socket) are destroyed with it.
 */
class GatedStream extends Duplex {
  private open = false;
  private readonly held: Array<() => void> = [];

  constructor(
    private readonly sock: tls.TLSSocket,
    check: () => Error | undefined,
  ) {
    super();
    sock.once('secureConnect', () => {
      const err = check();
      if (err) {
        this.destroy(err);
        return;
      }
      this.open = true;
      for (const w of this.held.splice(0)) w();
    });
    sock.on('data', (d: Buffer) => {
      if (!this.push(d)) sock.pause();
    });
    sock.once('end', () => this.push(null));
    sock.once('error', (e) => this.destroy(e));
    sock.once('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (e?: Error | null) => void): void {
    const go = () => this.sock.write(chunk, encoding, cb);
    if (this.open) go();
    else this.held.push(go);
  }

  override _read(): void {
    this.sock.resume();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.sock.end(cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.held.length = 0;
    this.sock.destroy();
    cb(err);
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
