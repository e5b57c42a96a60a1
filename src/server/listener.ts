/**
 * The listening socket. Plain text: Node's h2c server cannot fall back to HTTP/1.1, so a TCP listener
 * sniffs the first bytes of each connection: the HTTP/2 preface ("PRI * HTTP/2.0") goes to the HTTP/2
 * server, anything else to an HTTP/1.1 server; both use the same request handler. TLS:
 * `http2.createSecureServer({ allowHTTP1: true })` negotiates h2 or http/1.1 by ALPN. Connections are
 * admitted, timed and capped by the ConnectionGuard (connections.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as http from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import * as http2 from 'node:http2';
import type { Socket } from 'node:net';
import * as net from 'node:net';
import type { ConnectionGuard } from './connections.ts';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export type RequestHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => void;

export interface Listener {
  server: net.Server;
  /** Open connections and HTTP/2 sessions (shutdown closes them once drained). */
  sockets: Set<Socket>;
  sessions: Set<http2.Http2Session>;
}

export interface ListenerOptions {
  tls?: { cert: string | Buffer; key: string | Buffer };
  maxMessageBytes: number;
  /** The server-side execution deadline (an HTTP/1.1 socket is not timed out during a call). */
  timeoutMs: number;
}

export function createListener(
  opts: ListenerOptions,
  handler: RequestHandler,
  guard: ConnectionGuard,
): Listener {
  const lim = guard.limits;
  // HTTP/2 session memory (MiB): Node's default (10) kills a session (ENHANCE_YOUR_CALM) that holds
  // one large message in flight; allow a few maximum-size messages at once.
  const h2Options: http2.ServerOptions = {
    maxSessionMemory: Math.max(32, Math.ceil((4 * opts.maxMessageBytes) / (1024 * 1024))),
    // flow control: what a peer may send before the server reads it is bounded by these windows
    settings: { maxConcurrentStreams: lim.maxStreamsPerSession, initialWindowSize: lim.streamWindowBytes },
  };
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.Http2Session>();
  const onSession = (s: http2.ServerHttp2Session) => {
    guard.watchSession(s);
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  };
  if (opts.tls) {
    const secure = http2.createSecureServer(
      {
        cert: opts.tls.cert,
        key: opts.tls.key,
        allowHTTP1: true,
        handshakeTimeout: lim.headersTimeoutMs,
        ...h2Options,
      },
      handler,
    );
    secure.on('connection', (sock: Socket) => {
      if (!guard.admit(sock)) sock.destroy();
    });
    secure.on('session', onSession);
    secure.on('secureConnection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    secure.maxConnections = lim.maxConnections;
    return { server: secure, sockets, sessions };
  }
  const h2 = http2.createServer(h2Options, handler);
  // headers/request timeouts are checked every second (Node's default: every 30 s)
  const h1 = http.createServer({ connectionsCheckingInterval: 1_000 }, handler);
  h1.keepAliveTimeout = 5_000;
  h1.headersTimeout = lim.headersTimeoutMs;
  h1.requestTimeout = lim.headersTimeoutMs + lim.bodyTimeoutMs;
  h1.timeout = Math.max(lim.idleTimeoutMs, opts.timeoutMs + lim.bodyTimeoutMs); // not during a call
  h2.on('session', onSession);
  const server = net.createServer((sock: Socket) => {
    if (!guard.admit(sock)) {
      sock.destroy();
      return;
    }
    // the first bytes (HTTP/2 preface or HTTP/1.1 request line) must come within headersTimeoutMs
    const decided = guard.headersDeadline(sock);
    sockets.add(sock);
    // RPCs are small request/response exchanges: Nagle + delayed ACK would add ~40 ms to each.
    sock.setNoDelay(true);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const n = Math.min(buf.length, H2_PREFACE.length);
      const isH2 = buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && buf.length < H2_PREFACE.length) return; // need more bytes to decide
      sock.removeListener('data', onData);
      decided();
      sock.pause();
      sock.unshift(buf);
      // Both servers take the socket itself. Node's HTTP/2 session reads the native handle but first
      // feeds it what is buffered in the socket (the unshifted bytes; Node >= 15.x, nodejs/node#35475):
      // no JS stream in between (a replaying Duplex made every HTTP/2 frame cross JSStreamSocket).
      if (isH2) h2.emit('connection', sock);
      else {
        h1.emit('connection', sock);
        sock.resume();
      }
    };
    sock.on('data', onData);
  });
  server.maxConnections = lim.maxConnections;
  return { server, sockets, sessions };
}

/** Listen on host:port; resolves once bound, rejects on a bind error (EADDRINUSE, EACCES, …). */
export async function listen(server: net.Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
