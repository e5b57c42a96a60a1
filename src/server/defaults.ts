/**
 * The server's defaults, in a module of their own: constants only, light to load (`serve --help` prints
 * them without loading the RPC stack, the engine or the TEE providers). A second entry of the server room
 * beside index.ts (docs/architecture.md: a room's `defaults.ts` imports nothing at run time).
 */
import * as os from 'node:os';
import type { AttestationMode } from '../binding/index.ts';

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

/** Log levels, least to most severe ('silent' logs nothing). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

export interface ConnectionLimits {
  /** A new connection must send its HTTP/2 preface or HTTP/1.1 request headers within this, ms. */
  headersTimeoutMs: number;
  /** A connection (or HTTP/2 session) with nothing in flight is closed after this long idle, ms. */
  idleTimeoutMs: number;
  /** A request's whole body must arrive within this, ms (slow senders are cut). */
  bodyTimeoutMs: number;
  /** Open connections in all, and per client address. */
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS of each session. */
  maxStreamsPerSession: number;
  /** HTTP/2 flow-control windows: per stream (SETTINGS_INITIAL_WINDOW_SIZE) and per session, bytes. */
  streamWindowBytes: number;
  sessionWindowBytes: number;
  /** Request-body bytes one client address (and all clients) may hold in the server at once. */
  maxBodyBytesPerClient: number;
  maxBodyBytesTotal: number;
}

export function defaultConnectionLimits(maxMessageBytes: number): ConnectionLimits {
  return {
    headersTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
    bodyTimeoutMs: 30_000,
    maxConnections: 1024,
    maxConnectionsPerClient: 64,
    maxStreamsPerSession: 32,
    streamWindowBytes: 1024 * 1024,
    sessionWindowBytes: 4 * 1024 * 1024,
    maxBodyBytesPerClient: 2 * maxMessageBytes,
    maxBodyBytesTotal: Math.max(8 * maxMessageBytes, 256 * 1024 * 1024),
  };
}
