/**
 * What the service's handlers share: the service configuration, its dependencies, and the per-request
 * facts the logging interceptor reads (RequestInfo under requestInfoKey).
 */
import { createContextKey } from '@connectrpc/connect';
import type { AttestationMode } from '../binding/index.ts';
import type { Backend } from './backend.ts';
import type { Limiter } from './limiter.ts';
import type { ServerMetrics } from './metrics.ts';

/** Per-request facts the logging interceptor reads (set by the handlers). */
export interface RequestInfo {
  requestId?: string;
  gasUsed?: bigint;
  status?: string;
  cacheHit?: boolean;
  attestationMode?: AttestationMode;
  /** The client's quota key (its address; set by the server). */
  client?: string;
}
export const requestInfoKey = createContextKey<RequestInfo | undefined>(undefined, {
  description: 'wasmvm request info',
});

export interface ServiceConfig {
  maxBytecodeBytes: number;
  maxMessageBytes: number;
  timeoutMs: number;
  maxMemoryPages?: number;
  defaultAttestationMode: AttestationMode;
  maxNonceBytes: number;
  /** ExecuteSealed's replay window (± ms of the server clock; default 5 minutes). */
  sealedReplayWindowMs?: number;
}

export interface ServiceDeps {
  backend: Backend;
  config: ServiceConfig;
  limiter: Limiter;
  metrics: ServerMetrics;
  /** Set while shutting down: new Execute calls get SHUTTING_DOWN. */
  isDraining: () => boolean;
}
