/** A small TTL cache for attestation results, keyed by kind, GPU index and guest data. */

export class TtlCache<V> {
  private readonly map = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    /** Time to live in ms; 0 disables caching. */
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 256,
  ) {}

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (this.now() >= e.expiresAt) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V): void {
    if (this.ttlMs <= 0) return;
    if (this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, { value, expiresAt: this.now() + this.ttlMs });
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}

/** Cache key of an attestation: kind, GPU index (GPU only) and the SHA-256 of the guest data (hex). */
export function cacheKey(kind: 'vm' | 'gpu', dataSha256Hex: string, gpuIndex?: number): string {
  return kind === 'gpu' ? `gpu:${gpuIndex}:${dataSha256Hex}` : `vm:${dataSha256Hex}`;
}
