/** Closed-loop load for the service benches: `conc` callers, each calling again as soon as it is answered. */

export interface Result {
  /** answered calls per second */
  rps: number;
  /** latency percentiles, ms */
  p50: number;
  p99: number;
  /** answered calls */
  n: number;
  /** failed calls (the first one's message is printed) */
  errors: number;
}

export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function load(conc: number, call: () => Promise<unknown>, secs: number): Promise<Result> {
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + secs * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        try {
          await call();
          lat.push(performance.now() - s);
        } catch (e) {
          if (errors++ === 0) console.error(`# first failed call: ${String(e)}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rps: lat.length / elapsed, p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length, errors };
}
