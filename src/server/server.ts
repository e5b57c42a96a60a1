/**
 * The server: ONE port serving gRPC (HTTP/2, h2c or TLS), gRPC-Web and Connect (HTTP/1.1 or HTTP/2),
 * plus `GET /metrics` (Prometheus), `GET /healthz` and the playground page at `/` (playground.ts) on the
 * same port.
 *
 * startServer composes the parts, each in its own file: defaults.ts, listener.ts (the socket, h2c/HTTP1.1
 * sniffing, TLS), http-body.ts (body quota and deadline), log-interceptor.ts (error mapping, metrics,
 * logs), service.ts (the RPCs), health.ts, reflection.ts, shutdown.ts (graceful drain).
 */

import { setMaxListeners } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as os from 'node:os';
import type { DescService } from '@bufbuild/protobuf';
import { type ConnectRouter, createContextValues } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { AttestationMode } from '../binding/index.ts';
import { Health } from '../gen/grpc/health/v1/health_pb.ts';
import { WASMVMTeeService } from '../gen/wasmvm/v1/wasmvm_pb.ts';
import type { Backend } from './backend.ts';
import { ConnectionGuard, type ConnectionLimits, clientKey, defaultConnectionLimits } from './connections.ts';
import { type RequestInfo, requestInfoKey, type ServiceConfig } from './context.ts';
import { DEFAULTS } from './defaults.ts';
import { HealthState, registerHealth, ServingStatus } from './health.ts';
import {
  drainInsteadOfReset,
  type NodeReq,
  type NodeRes,
  rejectTooLarge,
  tooLargeConnectUnary,
} from './http-body.ts';
import { type ClientQuota, Limiter } from './limiter.ts';
import { createListener, listen, type RequestHandler } from './listener.ts';
import { createLogger, type Logger, type LogLevel } from './log.ts';
import { logInterceptor } from './log-interceptor.ts';
import { ServerMetrics } from './metrics.ts';
import { createPlayground, type Playground } from './playground.ts';
import { registerReflection } from './reflection.ts';
import { registerWasmvmService } from './service.ts';
import { gracefulClose } from './shutdown.ts';

export { DEFAULTS };

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
  /** ExecuteSealed's replay window, ± ms of the server clock (default 300 000). */
  sealedReplayWindowMs?: number;
  /**
   * The playground page at `/` (playground.ts): the folder of the built page (default dist/playground),
   * or false for none.
   */
  playground?: string | false;
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

/** The service's configuration from the options and the defaults. */
function serviceConfig(opts: ServerOptions): ServiceConfig {
  const config: ServiceConfig = {
    maxBytecodeBytes: opts.maxBytecodeBytes ?? DEFAULTS.maxBytecodeBytes,
    maxMessageBytes: opts.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
    timeoutMs: opts.timeoutMs ?? DEFAULTS.timeoutMs,
    defaultAttestationMode: opts.attestationMode ?? DEFAULTS.attestationMode,
    maxNonceBytes: DEFAULTS.maxNonceBytes,
  };
  if (opts.maxMemoryPages !== undefined) config.maxMemoryPages = opts.maxMemoryPages;
  if (opts.sealedReplayWindowMs !== undefined) config.sealedReplayWindowMs = opts.sealedReplayWindowMs;
  return config;
}

/** Admission: executions at once, waiting, and per client. */
function createLimiter(opts: ServerOptions): Limiter {
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
  return new Limiter(maxConcurrency, opts.maxQueue ?? DEFAULTS.maxQueue, perClient);
}

/** Every HTTP request: /metrics and /healthz, an oversized Connect unary call, else the RPC layer. */
function httpHandler(
  rpc: (req: NodeReq, res: NodeRes) => void,
  parts: {
    config: ServiceConfig;
    metrics: ServerMetrics;
    health: HealthState;
    guard: ConnectionGuard;
    logger: Logger;
    metricsPath: string;
    playground: Playground | undefined;
  },
): RequestHandler {
  const { config, metrics, health, guard, logger, metricsPath, playground } = parts;
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'GET' && path === metricsPath) {
      metrics.render().then(
        (body) => {
          (res as ServerResponse).writeHead(200, { 'content-type': metrics.contentType });
          res.end(body);
        },
        (e: unknown) => {
          logger.log('error', 'metrics failed', { error: String(e) });
          (res as ServerResponse).writeHead(500, { 'content-type': 'text/plain' });
          res.end('metrics unavailable\n');
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      const ok = health.get('') === ServingStatus.SERVING;
      (res as ServerResponse).writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'SERVING\n' : 'NOT_SERVING\n');
      return;
    }
    if (playground?.handle(req.method, path, res)) return;
    if (req.httpVersionMajor === 1 && tooLargeConnectUnary(req, config.maxMessageBytes)) {
      rejectTooLarge(req, res as ServerResponse, config.maxMessageBytes, metrics, logger);
      return;
    }
    drainInsteadOfReset(req, res, config.maxMessageBytes, guard);
    rpc(req, res);
  };
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(opts.logLevel ?? 'info');
  const metrics = new ServerMetrics();
  const config = serviceConfig(opts);
  const limiter = createLimiter(opts);
  const guard = new ConnectionGuard(
    { ...defaultConnectionLimits(config.maxMessageBytes), ...(opts.connections ?? {}) },
    (reason) => metrics.rejected.inc({ reason }),
  );
  const services: DescService[] = [WASMVMTeeService, Health];
  const health = new HealthState(services.map((s) => s.typeName));
  const shutdown = new AbortController();
  // Every in-flight call links its signal to this one: no listener limit.
  setMaxListeners(0, shutdown.signal);
  let draining = false;

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
  const rpc = connectNodeAdapter({
    routes,
    readMaxBytes: config.maxMessageBytes,
    // Responses go out uncompressed unless the operator sets a threshold: an Execute response is
    // ~15 KB of mostly base64/DER (the session's evidence) that gzip shrinks little, and compressing it
    // cost more CPU per call than the rest of the handler (bench/service, docs/server.md). Compressed
    // requests are still accepted.
    compressMinBytes: opts.compressMinBytes ?? Number.MAX_SAFE_INTEGER,
    interceptors: [logInterceptor(logger, metrics)],
    shutdownSignal: shutdown.signal,
    contextValues: (req) =>
      createContextValues().set(requestInfoKey, {
        client: clientKey(req.socket as Socket),
      } satisfies RequestInfo),
  });
  const handler = httpHandler(rpc as (req: NodeReq, res: NodeRes) => void, {
    config,
    metrics,
    health,
    guard,
    logger,
    metricsPath: opts.metricsPath ?? DEFAULTS.metricsPath,
    playground: opts.playground === false ? undefined : createPlayground(opts.playground),
  });
  const listener = createListener(
    {
      ...(opts.tls ? { tls: opts.tls } : {}),
      maxMessageBytes: config.maxMessageBytes,
      timeoutMs: config.timeoutMs,
    },
    handler,
    guard,
  );
  const host = opts.host ?? DEFAULTS.host;
  await listen(listener.server, opts.port ?? DEFAULTS.port, host);
  const { port, address } = listener.server.address() as AddressInfo;
  const displayHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `${opts.tls ? 'https' : 'http'}://${displayHost}:${port}`;
  const close = gracefulClose({
    listener,
    metrics,
    health,
    logger,
    backend: opts.backend,
    shutdown,
    startDraining: () => {
      draining = true;
    },
    shutdownTimeoutMs: opts.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs,
  });
  return { port, host, address, url, metrics, health, logger, config, close };
}
