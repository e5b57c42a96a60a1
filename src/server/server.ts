/**
 * The server: ONE port serving gRPC (HTTP/2, h2c or TLS), gRPC-Web and Connect (HTTP/1.1 or HTTP/2),
 * plus `GET /metrics` (Prometheus) and `GET /healthz` on the same port.
 *
 * Plain-text: Node's h2c server cannot fall back to HTTP/1.1, so a TCP listener sniffs the first
 * bytes of each connection: the HTTP/2 preface ("PRI * HTTP/2.0") goes to the HTTP/2 server,
 * anything else to an HTTP/1.1 server; both use the same request handler.
 * TLS: `http2.createSecureServer({ allowHTTP1: true })` negotiates h2 or http/1.1 by ALPN.
 */

import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as http from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import * as http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import * as net from 'node:net';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { DescService } from '@bufbuild/protobuf';
import { type ConnectRouter, createContextValues, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { AttestationMode } from '../binding/index.ts';
import { Health } from '../gen/grpc/health/v1/health_pb.ts';
import { WASMVMTeeService } from '../gen/wasmvm/v1/wasmvm_pb.ts';
import type { Backend } from './backend.ts';
import { ConnectionGuard, type ConnectionLimits, clientKey, defaultConnectionLimits } from './connections.ts';
import { type RequestInfo, requestInfoKey, type ServiceConfig } from './context.ts';
import { codeName, connectError, toConnectError } from './errors.ts';
import { HealthState, registerHealth, ServingStatus } from './health.ts';
import { type ClientQuota, Limiter } from './limiter.ts';
import { createLogger, type Logger, type LogLevel } from './log.ts';
import { ServerMetrics } from './metrics.ts';
import { registerReflection } from './reflection.ts';
import { registerWasmvmService } from './service.ts';

export interface ServerOptions {
  backend: Backend;
  /** TCP port; 0 = ephemeral. Default 50051. */
  port?: number;
  /** Bind address. Default '0.0.0.0'. */
  host?: string;
  /** TLS certificate and key (PEM). Without them the server speaks plain text (h2c + HTTP/1.1). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Maximum request message size, bytes (default 32 MiB). */
  maxMessageBytes?: number;
  /** Maximum bytecode size, bytes (default 16 MiB). */
  maxBytecodeBytes?: number;
  /** Executions at once (default 2 × CPUs, at least 4) and waiting (default 256). */
  maxConcurrency?: number;
  maxQueue?: number;
  /** Server-side execution deadline, ms (default 10 000). Clients can set shorter deadlines. */
  timeoutMs?: number;
  /** Maximum guest linear memory, 64 KiB pages (default: the engine's). */
  maxMemoryPages?: number;
  /** Default attestation mode (default 'session-key'). */
  attestationMode?: AttestationMode;
  /** Compress responses (gzip/brotli, when the client accepts it) of at least this many bytes; default: never. */
  compressMinBytes?: number;
  /** Drain time on shutdown before remaining calls are cut, ms (default 30 000). */
  shutdownTimeoutMs?: number;
  logLevel?: LogLevel;
  logger?: Logger;
  /** Log (debug level) guest data? Never by default. */
  metricsPath?: string;
  /** Per-client execution quotas (default: half of maxConcurrency running, 16 queued). */
  perClient?: Partial<ClientQuota>;
  /** Connection timeouts, caps and HTTP/2 windows (defaults: connections.ts, docs/server.md). */
  connections?: Partial<ConnectionLimits>;
}

export interface RunningServer {
  readonly port: number;
  readonly host: string;
  /** The address as bound (listener.address()): e.g. 0.0.0.0, ::, 127.0.0.1. */
  readonly address: string;
  /** e.g. http://127.0.0.1:50051 (https with TLS). */
  readonly url: string;
  readonly metrics: ServerMetrics;
  readonly health: HealthState;
  readonly logger: Logger;
  readonly config: ServiceConfig;
  /** Graceful: stop accepting, drain in-flight calls (up to shutdownTimeoutMs), close the engine. */
  close(): Promise<void>;
}

export const DEFAULTS = {
  port: 50051,
  host: '0.0.0.0',
  maxMessageBytes: 32 * 1024 * 1024,
  maxBytecodeBytes: 16 * 1024 * 1024,
  maxConcurrency: Math.max(4, 2 * (os.availableParallelism?.() ?? os.cpus().length)),
  maxQueue: 256,
  timeoutMs: 10_000,
  attestationMode: 'session-key' as AttestationMode,
  shutdownTimeoutMs: 30_000,
  metricsPath: '/metrics',
  maxNonceBytes: 64,
};

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

type NodeReq = IncomingMessage | Http2ServerRequest;

/**
 * When the RPC layer stops reading a body early (message too large), its async iterator would destroy
 * the request, i.e. reset the connection (HTTP/1.1) or the stream (HTTP/2) while the client is still
 * uploading, and the client would see a reset instead of the error. Iterate without destroying, and discard the rest of
 * the body once the response is sent (up to 16× the limit; bigger uploads are cut).
 */
function drainInsteadOfReset(req: NodeReq, res: NodeRes, max: number, guard: ConnectionGuard): void {
  // Body guard: the bytes a client holds in the server are accounted (per client and in total, released
  // when the response is over), and the whole body must arrive within bodyTimeoutMs. Past either, reading
  // fails with BODY_QUOTA / BODY_TIMEOUT (the RPC layer answers with that code) and the rest is cut.
  const client = clientKey(req.socket as Socket);
  let held = 0;
  let cut = false;
  let timer: NodeJS.Timeout | undefined;
  // The timer only fails a read that is still waiting for the body (the RPC layer may stop reading at the
  // end of its message without seeing the stream's end).
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (req.complete) return;
      reject(
        connectError(
          'BODY_TIMEOUT',
          `request body not received within ${guard.limits.bodyTimeoutMs} ms (limits: docs/server.md)`,
        ),
      );
    }, guard.limits.bodyTimeoutMs);
  });
  timedOut.catch(() => {});
  req.once('end', () => clearTimeout(timer));
  // (an HTTP/2 compatibility response emits 'close' only when cut short, 'finish' when complete)
  const over = () => {
    clearTimeout(timer);
    guard.release(client, held);
    held = 0;
    // a cut request's unread rest is discarded (its stream reset), so it cannot hold flow-control windows
    if (cut && !req.complete) req.destroy();
  };
  res.once('finish', over);
  res.once('close', over);
  (req as unknown as { [Symbol.asyncIterator]: () => AsyncIterator<Buffer> })[Symbol.asyncIterator] = () => {
    const it = req.iterator({ destroyOnReturn: false });
    return {
      next: async () => {
        const r = await Promise.race([it.next(), timedOut]).catch((e: unknown) => {
          cut = true;
          guard.bodyTimedOut();
          throw e;
        });
        if (!r.done) {
          const n = (r.value as Buffer).length;
          // the first 64 KiB of a body are always admitted (health checks and small calls never starve)
          if (!guard.take(client, n, held + n <= 64 * 1024)) {
            cut = true;
            throw connectError(
              'BODY_QUOTA',
              `request bodies of this client (or of all clients) exceed the server's quota of ${guard.limits.maxBodyBytesPerClient} bytes in flight; retry later`,
            );
          }
          held += n;
        }
        return r as IteratorResult<Buffer>;
      },
      return: (v?: unknown) => it.return!(v) as Promise<IteratorResult<Buffer>>,
    };
  };
  res.once('finish', () => {
    if (req.complete || cut) return;
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > 16 * max) req.destroy();
    });
    req.resume();
  });
}

/** A Connect unary call (not gRPC/gRPC-Web) over HTTP/1.1 whose declared body exceeds the limit. */
function tooLargeConnectUnary(req: NodeReq, max: number): boolean {
  const len = Number(req.headers['content-length'] ?? Number.NaN);
  const ct = String(req.headers['content-type'] ?? '');
  return req.method === 'POST' && len > max && !ct.startsWith('application/grpc');
}

/**
 * Answer an oversized Connect unary request over HTTP/1.1 with RESOURCE_EXHAUSTED after discarding its
 * body (up to 16× the limit): answering before the upload ends makes HTTP/1.1 clients see a reset
 * connection instead of the error. Bigger uploads are cut.
 */
function rejectTooLarge(
  req: NodeReq,
  res: ServerResponse,
  max: number,
  metrics: ServerMetrics,
  logger: Logger,
): void {
  const start = performance.now();
  const path = (req.url ?? '').split('?')[0]!.replace(/^\//, '');
  let seen = 0;
  const respond = () => {
    const body = JSON.stringify({
      code: 'resource_exhausted',
      message: `[MESSAGE_TOO_LARGE] request message is ${req.headers['content-length']} bytes, the limit is ${max}`,
      details: [],
    });
    res.writeHead(429, { 'content-type': 'application/json', 'wasmvm-error-code': 'MESSAGE_TOO_LARGE' });
    res.end(body);
    metrics.requests.inc({ method: path, code: 'RESOURCE_EXHAUSTED' });
    metrics.rejected.inc({ reason: 'message_size' });
    logger.log('info', 'rpc', {
      method: path,
      code: 'RESOURCE_EXHAUSTED',
      errorCode: 'MESSAGE_TOO_LARGE',
      durationMs: Math.round((performance.now() - start) * 1000) / 1000,
    });
  };
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > 16 * max) req.destroy();
  });
  req.on('end', respond);
}
type NodeRes = ServerResponse | Http2ServerResponse;

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(opts.logLevel ?? 'info');
  const metrics = new ServerMetrics();
  const config: ServiceConfig = {
    maxBytecodeBytes: opts.maxBytecodeBytes ?? DEFAULTS.maxBytecodeBytes,
    maxMessageBytes: opts.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
    timeoutMs: opts.timeoutMs ?? DEFAULTS.timeoutMs,
    defaultAttestationMode: opts.attestationMode ?? DEFAULTS.attestationMode,
    maxNonceBytes: DEFAULTS.maxNonceBytes,
  };
  if (opts.maxMemoryPages !== undefined) config.maxMemoryPages = opts.maxMemoryPages;
  const maxConcurrency = opts.maxConcurrency ?? DEFAULTS.maxConcurrency;
  // A client may by default keep half of the engine's worker threads busy (the engine's default is
  // min(4, CPUs) per mode): another client then always finds a free worker, not just a free slot.
  const perClient = {
    maxConcurrency: Math.max(
      1,
      Math.floor(Math.min(maxConcurrency, Math.min(4, os.availableParallelism?.() ?? 4)) / 2),
    ),
    ...(opts.perClient ?? {}),
  };
  const limiter = new Limiter(maxConcurrency, opts.maxQueue ?? DEFAULTS.maxQueue, perClient);
  const guard = new ConnectionGuard(
    { ...defaultConnectionLimits(config.maxMessageBytes), ...(opts.connections ?? {}) },
    (reason) => metrics.rejected.inc({ reason }),
  );
  const lim = guard.limits;
  const services: DescService[] = [WASMVMTeeService, Health];
  const health = new HealthState(services.map((s) => s.typeName));
  const shutdown = new AbortController();
  // Every in-flight call links its signal to this one: no listener limit.
  setMaxListeners(0, shutdown.signal);
  let draining = false;

  const logInterceptor: Interceptor = (next) => async (req) => {
    const start = performance.now();
    const method = `${req.service.typeName}/${req.method.name}`;
    const info = req.contextValues.get(requestInfoKey);
    metrics.inFlight.inc();
    let code = 'OK';
    let errorCode: string | undefined;
    try {
      return await next(req);
    } catch (e) {
      const mapped = toConnectError(e, info?.requestId ?? '');
      code = codeName(mapped.error.code);
      errorCode = mapped.code;
      if (mapped.code === 'INTERNAL')
        logger.log('error', 'internal error', {
          requestId: info?.requestId,
          method,
          error: String((e as Error)?.stack ?? e),
        });
      throw mapped.error;
    } finally {
      metrics.inFlight.dec();
      const seconds = (performance.now() - start) / 1000;
      metrics.requests.inc({ method, code });
      metrics.latency.observe(seconds, { method });
      const line: Record<string, unknown> = { method, code, durationMs: Math.round(seconds * 1e6) / 1000 };
      if (info?.requestId) line.requestId = info.requestId;
      if (errorCode) line.errorCode = errorCode;
      if (info?.status) line.status = info.status;
      if (info?.gasUsed !== undefined) line.gasUsed = info.gasUsed;
      if (info?.cacheHit !== undefined) line.cacheHit = info.cacheHit;
      if (info?.attestationMode) line.attestation = info.attestationMode;
      // Health checks and reflection are frequent and boring: debug level.
      const quiet = req.service.typeName.startsWith('grpc.');
      logger.log(quiet && code === 'OK' ? 'debug' : 'info', 'rpc', line);
    }
  };

  const routes = (router: ConnectRouter) => {
    registerWasmvmService(router, {
      backend: opts.backend,
      config,
      limiter,
      metrics,
      isDraining: () => draining,
    });
    registerHealth(router, health);
    registerReflection(router, services);
  };

  const connectHandler = connectNodeAdapter({
    routes,
    readMaxBytes: config.maxMessageBytes,
    // Responses go out uncompressed unless the operator sets a threshold: an Execute response is
    // ~15 KB of mostly base64/DER (the session's evidence) that gzip shrinks little, and compressing it
    // cost more CPU per call than the rest of the handler (bench/service, docs/server.md). Compressed
    // requests are still accepted.
    compressMinBytes: opts.compressMinBytes ?? Number.MAX_SAFE_INTEGER,
    interceptors: [logInterceptor],
    shutdownSignal: shutdown.signal,
    contextValues: (req) =>
      createContextValues().set(requestInfoKey, {
        client: clientKey(req.socket as Socket),
      } satisfies RequestInfo),
  });

  const metricsPath = opts.metricsPath ?? DEFAULTS.metricsPath;
  const handler = (req: NodeReq, res: NodeRes): void => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === metricsPath) {
      const body = metrics.render();
      (res as ServerResponse).writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      const ok = health.get('') === ServingStatus.SERVING;
      (res as ServerResponse).writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'SERVING\n' : 'NOT_SERVING\n');
      return;
    }
    if (req.httpVersionMajor === 1 && tooLargeConnectUnary(req, config.maxMessageBytes)) {
      rejectTooLarge(req, res as ServerResponse, config.maxMessageBytes, metrics, logger);
      return;
    }
    drainInsteadOfReset(req, res, config.maxMessageBytes, guard);
    connectHandler(req as never, res as never);
  };

  // HTTP/2 session memory (MiB): Node's default (10) kills a session (ENHANCE_YOUR_CALM) that holds
  // one large message in flight; allow a few maximum-size messages at once.
  const h2Options: http2.ServerOptions = {
    maxSessionMemory: Math.max(32, Math.ceil((4 * config.maxMessageBytes) / (1024 * 1024))),
    // flow control: what a peer may send before the server reads it is bounded by these windows
    settings: { maxConcurrentStreams: lim.maxStreamsPerSession, initialWindowSize: lim.streamWindowBytes },
  };
  // Track connections so that shutdown can close them once drained.
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.Http2Session>();
  let listener: net.Server;
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
    secure.on('session', (s: http2.ServerHttp2Session) => {
      guard.watchSession(s);
      sessions.add(s);
      s.on('close', () => sessions.delete(s));
    });
    secure.on('secureConnection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    listener = secure;
  } else {
    const h2 = http2.createServer(h2Options, handler);
    // headers/request timeouts are checked every second (Node's default: every 30 s)
    const h1 = http.createServer({ connectionsCheckingInterval: 1_000 }, handler);
    h1.keepAliveTimeout = 5_000;
    h1.headersTimeout = lim.headersTimeoutMs;
    h1.requestTimeout = lim.headersTimeoutMs + lim.bodyTimeoutMs;
    h1.timeout = Math.max(lim.idleTimeoutMs, config.timeoutMs + lim.bodyTimeoutMs); // not during a call
    h2.on('session', (s: http2.ServerHttp2Session) => {
      guard.watchSession(s);
      sessions.add(s);
      s.on('close', () => sessions.delete(s));
    });
    listener = net.createServer((sock: Socket) => {
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
  }

  listener.maxConnections = lim.maxConnections;
  const host = opts.host ?? DEFAULTS.host;
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(opts.port ?? DEFAULTS.port, host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const { port, address } = listener.address() as AddressInfo;
  const displayHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `${opts.tls ? 'https' : 'http'}://${displayHost}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      logger.log('info', 'shutting down: draining in-flight calls', { inFlight: metrics.inFlight.get() });
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      // Ask HTTP/2 clients to stop sending new streams (GOAWAY); in-flight streams continue.
      for (const s of sessions) if (!s.closed) s.close();
      const deadline = Date.now() + (opts.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs);
      // Health Watch streams end after sending NOT_SERVING; unary calls drain.
      health.end();
      while (metrics.inFlight.get() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (metrics.inFlight.get() > 0) {
        logger.log('warn', 'drain timeout: cutting remaining calls', { inFlight: metrics.inFlight.get() });
        shutdown.abort(); // aborts every handler's signal: executions are stopped
        await new Promise((r) => setTimeout(r, 100));
      }
      // The handlers are done, but their responses may still be on their way out: HTTP/2 sessions
      // close by themselves once their streams end (GOAWAY above); HTTP/1.1 connections get a moment to
      // flush. Whatever is left at the deadline is cut.
      const sessionsClosed = Promise.all(
        [...sessions].map((s) => (s.closed ? undefined : new Promise((r) => s.once('close', r)))),
      );
      // The drain timer is cleared as soon as the sessions are closed: a pending timer would keep
      // the process alive for the whole shutdown timeout.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        sessionsClosed,
        new Promise((r) => {
          timer = setTimeout(r, Math.max(0, deadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(200, deadline - Date.now()))));
      for (const s of sessions) s.destroy();
      for (const sock of sockets) sock.destroy();
      await closed;
      await opts.backend.engine.close?.();
      await opts.backend.attester.close?.();
      logger.log('info', 'server stopped');
    })();
    return closing;
  };

  return { port, host, address, url, metrics, health, logger, config, close };
}
