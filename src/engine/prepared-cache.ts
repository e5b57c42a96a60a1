/**
 * Prepared modules (validated, checked against the static limits, instrumented) cached by the input's
 * SHA-256 and the options that change the output; large modules are prepared in a worker thread that
 * the deadline terminates.
 */
import { availableParallelism } from 'node:os';
import type { EngineOptions } from './options.ts';
import { type PreparedModule, prepareModule } from './prepare.ts';
import { PreparePool } from './prepare-pool.ts';
import type { ShaCache } from './sha-cache.ts';
import type { Limits } from './types.ts';

export type Prepared = PreparedModule;

/** Limits that change what prepare() produces or accepts (part of its cache key). */
const STATIC_KEYS: (keyof Limits)[] = [
  'maxMemoryPages',
  'maxTableElements',
  'maxTables',
  'maxTotalTableElements',
  'maxMemories',
  'maxGlobals',
  'maxDataSegments',
  'maxDataBytes',
  'maxElementSegments',
  'maxElementItems',
  'maxFunctions',
  'maxFunctionBodyBytes',
  'maxLocals',
  'maxBrTableTargets',
  'maxNestingDepth',
  'maxCompileCost',
];

/** Modules at least this large are prepared (validated, instrumented, hashed) in a worker thread. */
/**
 * The static limits' part of the cache key, by limits object (an Engine's own limits are one frozen object:
 * no JSON per request; a request's own limits are a fresh object each time and cost one stringify).
 */
const staticKeys = new WeakMap<Limits, string>();

const PREPARE_INLINE_BYTES = 32 * 1024;

/** The prepared-module cache of one Engine (LRU, bounded by `compileCacheBytes`), with its preparation threads. */
export class PreparedCache {
  private readonly prepared = new Map<string, Prepared>();
  private preparedBytes = 0;
  private preparePool?: PreparePool;

  constructor(
    private readonly options: EngineOptions,
    private readonly shas: ShaCache,
  ) {}

  /**
   * Validate + static limits + instrument (cached by the original bytes' hash and the options). Modules of
   * PREPARE_INLINE_BYTES or more are prepared (and hashed, on a SHA-cache miss) in a worker thread, which
   * the deadline terminates. Returns the module and the input's SHA-256, or 'timeout'.
   */
  async prepare(
    bytes: Uint8Array,
    metered: boolean,
    canonicalizeNaN: boolean,
    limits: Limits,
    deadline: number,
  ): Promise<{ prep: Prepared; sha: string } | 'timeout'> {
    const large = bytes.length >= PREPARE_INLINE_BYTES;
    let sha = large ? this.shas.lookup(bytes) : this.shas.sha256(bytes);
    let staticKey = staticKeys.get(limits);
    if (staticKey === undefined) {
      staticKey = JSON.stringify(limits, STATIC_KEYS);
      staticKeys.set(limits, staticKey);
    }
    const cacheKey = (h: string) =>
      `${h}:${metered ? 1 : 0}:${canonicalizeNaN ? 1 : 0}:${staticKey}:${metered ? limits.maxStackHeight : 0}`;
    if (sha) {
      const ck = cacheKey(sha);
      const hit = this.prepared.get(ck);
      if (hit) {
        this.prepared.delete(ck);
        this.prepared.set(ck, hit);
        return { prep: hit, sha };
      }
    }
    const input = { bytes, metered, canonicalizeNaN, limits, hashInput: !sha };
    let p: Prepared;
    if (large) {
      this.preparePool ??= new PreparePool(
        Math.max(1, Math.min(2, availableParallelism())),
        Math.max(128, this.options.workerHeapMb || 128) * 2,
      );
      const r = await this.preparePool.run(input, deadline);
      if (r === 'timeout') return 'timeout';
      p = r;
      if (!sha) {
        sha = p.inputSha256!;
        this.shas.remember(bytes, sha);
      }
    } else p = prepareModule(input);
    const budget = this.options.compileCacheBytes ?? 256 * 1024 * 1024;
    if (p.size <= budget) {
      this.prepared.set(cacheKey(sha!), p);
      this.preparedBytes += p.size;
      for (const [k, v] of this.prepared) {
        if (this.preparedBytes <= budget) break;
        this.prepared.delete(k);
        this.preparedBytes -= v.size;
      }
    }
    return { prep: p, sha: sha! };
  }

  /** Stops the preparation threads (a later prepare() starts new ones). */
  close(): void {
    this.preparePool?.close();
    this.preparePool = undefined;
  }
}
