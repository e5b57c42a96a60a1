/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges, histograms with labels.
 * Served on `/metrics` of the same port (HTTP/1.1 or HTTP/2 GET), see docs/server.md.
 */

type Labels = Record<string, string>;

function labelKey(names: readonly string[], labels: Labels): string {
  return names.map((n) => labels[n] ?? '').join('\u0000');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function renderLabels(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function fmt(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  return Number.isInteger(n) ? String(n) : n.toPrecision(9).replace(/\.?0+$/, '');
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(this.labelNames, labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(this.labelNames, labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0 && this.labelNames.length === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values)
      lines.push(`${this.name}${renderLabels(this.labelNames, k.split('\u0000'))} ${fmt(v)}`);
    return lines.join('\n');
  }
}

export class Gauge implements Metric {
  private value = 0;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
  set(v: number): void {
    this.value = v;
  }
  get(): number {
    return this.value;
  }
  render(): string {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name} ${fmt(this.value)}`,
    ].join('\n');
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
    readonly labelNames: readonly string[] = [],
  ) {}
  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(this.labelNames, labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  count(labels: Labels = {}): number {
    return this.series.get(labelKey(this.labelNames, labels))?.count ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const values = k.split('\u0000');
      const names = this.labelNames;
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket${renderLabels(names, values, ['le', fmt(b)])} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${renderLabels(names, values, ['le', '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${renderLabels(names, values)} ${fmt(s.sum)}`);
      lines.push(`${this.name}_count${renderLabels(names, values)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const GAS_BUCKETS = [1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/** The service's metrics (names are stable: dashboards depend on them). */
export class ServerMetrics {
  readonly requests = new Counter('wasmvm_requests_total', 'RPCs handled, by method and gRPC code.', [
    'method',
    'code',
  ]);
  readonly latency = new Histogram(
    'wasmvm_request_duration_seconds',
    'RPC latency, by method.',
    LATENCY_BUCKETS,
    ['method'],
  );
  readonly executions = new Counter('wasmvm_executions_total', 'Executions by result status.', ['status']);
  readonly gasUsed = new Histogram('wasmvm_gas_used', 'Gas used per metered execution.', GAS_BUCKETS);
  readonly gasTotal = new Counter('wasmvm_gas_used_total', 'Gas used by all metered executions.');
  readonly cache = new Counter('wasmvm_compile_cache_total', 'Compile cache lookups, by result (hit|miss).', [
    'result',
  ]);
  readonly attestLatency = new Histogram(
    'wasmvm_attestation_duration_seconds',
    'Attestation latency (evidence or signature), by mode.',
    LATENCY_BUCKETS,
    ['mode'],
  );
  readonly inFlight = new Gauge('wasmvm_requests_in_flight', 'RPCs in progress.');
  readonly executing = new Gauge('wasmvm_executions_in_flight', 'Executions holding a concurrency slot.');
  readonly queued = new Gauge('wasmvm_executions_queued', 'Executions waiting for a concurrency slot.');
  readonly rejected = new Counter('wasmvm_rejected_total', 'Requests rejected by a limit, by reason.', [
    'reason',
  ]);

  private readonly all: Metric[] = [
    this.requests,
    this.latency,
    this.executions,
    this.gasUsed,
    this.gasTotal,
    this.cache,
    this.attestLatency,
    this.inFlight,
    this.executing,
    this.queued,
    this.rejected,
  ];

  render(): string {
    const mem = process.memoryUsage();
    const extra = [
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${mem.rss}`,
    ].join('\n');
    return `${this.all.map((m) => m.render()).join('\n')}\n${extra}\n`;
  }
}
