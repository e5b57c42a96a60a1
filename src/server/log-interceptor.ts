/**
 * The RPC interceptor every call goes through: errors mapped to stable codes (errors.ts), in-flight,
 * request and latency metrics, and one log line per call (health and reflection at debug level).
 */
import { performance } from 'node:perf_hooks';
import type { Interceptor } from '@connectrpc/connect';
import { requestInfoKey } from './context.ts';
import { codeName, toConnectError } from './errors.ts';
import type { Logger } from './log.ts';
import type { ServerMetrics } from './metrics.ts';

export function logInterceptor(logger: Logger, metrics: ServerMetrics): Interceptor {
  return (next) => async (req) => {
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
}
