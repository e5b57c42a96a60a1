/**
 * grpc.health.v1.Health: Check and Watch. "" is the whole server; each registered service has its
 * own status. Shutdown sets everything NOT_SERVING (load balancers drain first).
 */
import { create } from '@bufbuild/protobuf';
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  Health,
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from '../gen/grpc/health/v1/health_pb.ts';

export { Status as ServingStatus };

export class HealthState {
  private readonly statuses = new Map<string, Status>();
  private readonly watchers = new Set<() => void>();

  constructor(services: readonly string[]) {
    this.statuses.set('', Status.SERVING);
    for (const s of services) this.statuses.set(s, Status.SERVING);
  }

  get(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  set(service: string, status: Status): void {
    this.statuses.set(service, status);
    for (const w of this.watchers) w();
  }

  /** Every service (and the server) to `status`. */
  setAll(status: Status): void {
    for (const k of this.statuses.keys()) this.statuses.set(k, status);
    for (const w of this.watchers) w();
  }

  /** Shutdown: everything NOT_SERVING, then Watch streams end (after sending it). */
  end(): void {
    this.ended = true;
    this.setAll(Status.NOT_SERVING);
  }
  ended = false;

  subscribe(fn: () => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }
}

export function registerHealth(router: ConnectRouter, state: HealthState): void {
  router.service(Health, {
    check(req: HealthCheckRequest): HealthCheckResponse {
      const status = state.get(req.service);
      if (status === undefined) throw new ConnectError(`unknown service '${req.service}'`, Code.NotFound);
      return create(HealthCheckResponseSchema, { status });
    },
    async *watch(req: HealthCheckRequest, ctx: HandlerContext): AsyncGenerator<HealthCheckResponse> {
      let last: Status | undefined;
      let wake: (() => void) | undefined;
      const unsubscribe = state.subscribe(() => wake?.());
      const onAbort = () => wake?.();
      ctx.signal.addEventListener('abort', onAbort);
      try {
        while (!ctx.signal.aborted) {
          const now = state.get(req.service) ?? Status.SERVICE_UNKNOWN;
          if (now !== last) {
            last = now;
            yield create(HealthCheckResponseSchema, { status: now });
          }
          if (state.ended) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      } finally {
        unsubscribe();
        ctx.signal.removeEventListener('abort', onAbort);
      }
    },
  });
}
