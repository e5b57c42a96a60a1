/**
 * The service's Prometheus metrics, on prom-client (the Node.js Prometheus client): the service's own
 * counters, gauges and histograms in one registry per server, and Node's default process metrics
 * (`process_*`, `nodejs_*`: CPU, memory, heap, event-loop lag, GC, handles) collected once per process.
 * Served on `/metrics` of the same port (HTTP/1.1 or HTTP/2 GET); the names are listed in docs/server.md.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const GAS_BUCKETS = [1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/** Node's default process metrics: one registry per process (its collectors are process-wide). */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** A gauge whose value the server also reads back synchronously (in-flight calls during shutdown). */
class LocalGauge {
  private value = 0;
  constructor(private readonly gauge: Gauge) {}
  inc(): void {
    this.gauge.set(++this.value);
  }
  dec(): void {
    this.gauge.set(--this.value);
  }
  set(v: number): void {
    this.value = v;
    this.gauge.set(v);
  }
  get(): number {
    return this.value;
  }
}

type Labels = Record<string, string>;

/** Counter with the call shape the service uses: inc(labels?, by?). */
class LabeledCounter {
  constructor(private readonly counter: Counter) {}
  inc(labels: Labels = {}, by = 1): void {
    this.counter.inc(labels, by);
  }
}

/** Histogram with the call shape the service uses: observe(value, labels?). */
class LabeledHistogram {
  constructor(private readonly histogram: Histogram) {}
  observe(value: number, labels: Labels = {}): void {
    this.histogram.observe(labels, value);
  }
}

/** The service's metrics (names are stable: dashboards and the HPA depend on them). */
export class ServerMetrics {
  readonly registry = new Registry();
  private counter(name: string, help: string, labelNames: string[] = []): LabeledCounter {
    return new LabeledCounter(new Counter({ name, help, labelNames, registers: [this.registry] }));
  }
  private histogram(name: string, help: string, buckets: number[], labelNames: string[] = []) {
    return new LabeledHistogram(
      new Histogram({ name, help, buckets, labelNames, registers: [this.registry] }),
    );
  }
  private gauge(name: string, help: string): LocalGauge {
    return new LocalGauge(new Gauge({ name, help, registers: [this.registry] }));
  }

  readonly requests = this.counter('wasmvm_requests_total', 'RPCs handled, by method and gRPC code.', [
    'method',
    'code',
  ]);
  readonly latency = this.histogram(
    'wasmvm_request_duration_seconds',
    'RPC latency, by method.',
    LATENCY_BUCKETS,
    ['method'],
  );
  readonly executions = this.counter('wasmvm_executions_total', 'Executions by result status.', ['status']);
  readonly queueWait = this.histogram(
    'wasmvm_queue_wait_seconds',
    'Time an execution waited for a concurrency slot (admitted ones), by mode.',
    LATENCY_BUCKETS,
    ['mode'],
  );
  readonly executeLatency = this.histogram(
    'wasmvm_execute_duration_seconds',
    'Engine time of an execution (compile or cache lookup, instantiate, run), by mode and status.',
    LATENCY_BUCKETS,
    ['mode', 'status'],
  );
  readonly attestLatency = this.histogram(
    'wasmvm_attestation_duration_seconds',
    'Attestation latency (evidence or signature), by mode.',
    LATENCY_BUCKETS,
    ['mode'],
  );
  readonly gasUsed = this.histogram('wasmvm_gas_used', 'Gas used per metered execution.', GAS_BUCKETS);
  readonly gasTotal = this.counter('wasmvm_gas_used_total', 'Gas used by all metered executions.');
  readonly cache = this.counter(
    'wasmvm_compile_cache_total',
    'Compile cache lookups, by result (hit|miss).',
    ['result'],
  );
  readonly inFlight = this.gauge('wasmvm_requests_in_flight', 'RPCs in progress.');
  readonly executing = this.gauge('wasmvm_executions_in_flight', 'Executions holding a concurrency slot.');
  readonly queued = this.gauge('wasmvm_executions_queued', 'Executions waiting for a concurrency slot.');
  readonly rejected = this.counter('wasmvm_rejected_total', 'Requests rejected by a limit, by reason.', [
    'reason',
  ]);

  readonly sealed = this.counter(
    'wasmvm_sealed_executions_total',
    'Sealed executions (ExecuteSealed), by outcome: sealed (a sealed answer: result or request error) or the stable code it was refused with. No content.',
    ['outcome'],
  );

  /** The Prometheus text exposition (format 0.0.4): the service's metrics, then the process's. */
  async render(): Promise<string> {
    return (await this.registry.metrics()) + (await processMetrics().metrics());
  }

  /** The exposition's content type. */
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
}
