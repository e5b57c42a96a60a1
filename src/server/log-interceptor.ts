/**
 * The RPC interceptor every call goes through: errors mapped to stable codes (errors.ts), in-flight,
 * request and latency metrics, one log line per call (health and reflection at debug level), and one
 * server span per call (a child of the caller's W3C `traceparent`; a no-op unless tracing.ts started
 * an OpenTelemetry SDK).
 */
import { performance } from 'node:perf_hooks';
import type { Interceptor } from '@connectrpc/connect';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { requestInfoKey } from './context.ts';
import { codeName, toConnectError } from './errors.ts';
import type { Logger } from './log.ts';
import type { ServerMetrics } from './metrics.ts';
import { SpanKind, SpanStatusCode, tracer } from './tracing.ts';

const headerGetter = {
  get: (h: Headers, k: string) => h.get(k) ?? undefined,
  keys: (h: Headers) => [...h.keys()],
};

export function logInterceptor(logger: Logger, metrics: ServerMetrics): Interceptor {
  return (next) => async (req) => {
    const start = performance.now();
    const method = `${req.service.typeName}/${req.method.name}`;
    const info = req.contextValues.get(requestInfoKey);
    metrics.inFlight.inc();
    let code = 'OK';
    let errorCode: string | undefined;
    let grpcCode = 0;
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headerGetter);
    const span = tracer().startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': req.service.typeName,
          'rpc.method': req.method.name,
        },
      },
      parent,
    );
    try {
      return await context.with(trace.setSpan(parent, span), () => next(req));
    } catch (e) {
      const mapped = toConnectError(e, info?.requestId ?? '');
      code = codeName(mapped.error.code);
      grpcCode = mapped.error.code;
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
      span.setAttribute('rpc.grpc.status_code', grpcCode);
      if (errorCode) {
        span.setAttribute('wasmvm.error_code', errorCode);
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
      }
      if (info?.requestId) span.setAttribute('wasmvm.request_id', info.requestId);
      if (info?.status) span.setAttribute('wasmvm.status', info.status);
      if (info?.gasUsed !== undefined) span.setAttribute('wasmvm.gas_used', Number(info.gasUsed));
      if (info?.cacheHit !== undefined) span.setAttribute('wasmvm.cache_hit', info.cacheHit);
      if (info?.attestationMode) span.setAttribute('wasmvm.attestation_mode', info.attestationMode);
      span.end();
      // Health checks and reflection are frequent and boring: debug level.
      const quiet = req.service.typeName.startsWith('grpc.');
      logger.log(quiet && code === 'OK' ? 'debug' : 'info', 'rpc', line);
    }
  };
}
