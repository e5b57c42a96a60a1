/**
 * Graceful shutdown: stop accepting, GOAWAY to HTTP/2 clients, end health watches, drain in-flight calls
 * up to the shutdown timeout, then abort what is left, let responses flush, cut the remaining
 * connections, and close the engine and the attester.
 */
import type { Backend } from './backend.ts';
import type { HealthState } from './health.ts';
import type { Listener } from './listener.ts';
import type { Logger } from './log.ts';
import type { ServerMetrics } from './metrics.ts';

export interface ShutdownParts {
  listener: Listener;
  metrics: ServerMetrics;
  health: HealthState;
  logger: Logger;
  backend: Backend;
  /** Aborted when the drain times out: every handler's signal is linked to it. */
  shutdown: AbortController;
  /** Called first: the service answers new calls with SHUTTING_DOWN. */
  startDraining: () => void;
  shutdownTimeoutMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A close() that runs the shutdown once (later calls get the same promise). */
export function gracefulClose(p: ShutdownParts): () => Promise<void> {
  let closing: Promise<void> | undefined;
  const { listener, metrics, logger } = p;
  return () => {
    closing ??= (async () => {
      p.startDraining();
      logger.log('info', 'shutting down: draining in-flight calls', { inFlight: metrics.inFlight.get() });
      const closed = new Promise<void>((resolve) => listener.server.close(() => resolve()));
      // Ask HTTP/2 clients to stop sending new streams (GOAWAY); in-flight streams continue.
      for (const s of listener.sessions) if (!s.closed) s.close();
      const deadline = Date.now() + p.shutdownTimeoutMs;
      // Health Watch streams end after sending NOT_SERVING; unary calls drain.
      p.health.end();
      while (metrics.inFlight.get() > 0 && Date.now() < deadline) await sleep(20);
      if (metrics.inFlight.get() > 0) {
        logger.log('warn', 'drain timeout: cutting remaining calls', { inFlight: metrics.inFlight.get() });
        p.shutdown.abort(); // aborts every handler's signal: executions are stopped
        await sleep(100);
      }
      // The handlers are done, but their responses may still be on their way out: HTTP/2 sessions
      // close by themselves once their streams end (GOAWAY above); HTTP/1.1 connections get a moment to
      // flush. Whatever is left at the deadline is cut.
      const sessionsClosed = Promise.all(
        [...listener.sessions].map((s) => (s.closed ? undefined : new Promise((r) => s.once('close', r)))),
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
      await sleep(Math.max(0, Math.min(200, deadline - Date.now())));
      for (const s of listener.sessions) s.destroy();
      for (const sock of listener.sockets) sock.destroy();
      await closed;
      await p.backend.engine.close?.();
      await p.backend.attester.close?.();
      logger.log('info', 'server stopped');
    })();
    return closing;
  };
}
