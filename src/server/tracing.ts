/**
 * OpenTelemetry traces, optional, configured by the standard environment variables.
 *
 * The server's code creates spans through `@opentelemetry/api` only (a no-op until an SDK is
 * registered). `startTracing()` registers the SDK (NodeTracerProvider, batch processor, OTLP/HTTP
 * exporter: the optional dependencies @opentelemetry/sdk-trace-node, exporter-trace-otlp-http,
 * resources) when the environment asks for traces:
 *
 * - `OTEL_TRACES_EXPORTER=otlp`, or `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 *   set (and `OTEL_TRACES_EXPORTER` not `none`); `OTEL_SDK_DISABLED=true` turns it all off;
 * - the exporter reads `OTEL_EXPORTER_OTLP_*` (endpoint, headers, timeout, compression), the sampler
 *   `OTEL_TRACES_SAMPLER` / `_ARG`, the resource `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`.
 *
 * Spans carry no guest data (no bytecode, function names, inputs or outputs): method, gRPC code, the
 * stable error code, request id, status, mode, gas used, cache hit and attestation mode.
 */
import { type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { VERSION } from '../version.ts';
import type { Logger } from './log.ts';

export const TRACER_NAME = 'wasmvm-tee';

/** The tracer the server's spans come from (no-op unless startTracing registered an SDK). */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME, VERSION);
}

export { type Span, SpanKind, SpanStatusCode };

/** Whether the standard environment variables ask for traces. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.includes('none')) return false;
  if (exporters.includes('otlp')) return true;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** A running SDK: `shutdown()` flushes the spans still buffered. */
export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Register the OpenTelemetry SDK when the environment asks for traces; undefined otherwise. Missing
 * optional packages are a warning (the server runs without traces), never a failure.
 */
export async function startTracing(
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined;
  let sdk: typeof import('@opentelemetry/sdk-trace-node');
  let otlp: typeof import('@opentelemetry/exporter-trace-otlp-http');
  let res: typeof import('@opentelemetry/resources');
  try {
    [sdk, otlp, res] = await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  } catch (e) {
    logger.log(
      'warn',
      'traces requested by OTEL_* but the OpenTelemetry SDK is not installed: serving without',
      {
        error: (e as Error).message,
        install:
          'npm install @opentelemetry/sdk-trace-node @opentelemetry/exporter-trace-otlp-http @opentelemetry/resources',
      },
    );
    return undefined;
  }
  const resource = res
    .defaultResource()
    .merge(res.resourceFromAttributes({ 'service.name': 'wasmvm-tee', 'service.version': VERSION }))
    .merge(res.detectResources({ detectors: [res.envDetector] }));
  const exporter = new otlp.OTLPTraceExporter();
  const provider = new sdk.NodeTracerProvider({
    resource,
    spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
  });
  provider.register();
  logger.log('info', 'OpenTelemetry traces on (OTLP/HTTP)', {
    endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'default',
  });
  return {
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
    },
  };
}
