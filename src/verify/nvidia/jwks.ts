/**
 * NRAS signing keys. A pinned JWKS file, or fetched from NRAS with a cache and ONE refetch when a
 * token names a kid the cached set does not have (NRAS rotates keys every few days).
 */

import type { JSONWebKeySet } from 'jose';
import { JwksError } from './errors.ts';

export const NRAS_JWKS_URL = 'https://nras.attestation.nvidia.com/.well-known/jwks.json';

export interface JwksSource {
  /** The current key set (cached). */
  get(): Promise<JSONWebKeySet>;
  /** Fetch again (called at most once per verification, on an unknown kid). Absent for pinned sets. */
  refresh?(): Promise<JSONWebKeySet>;
  readonly description: string;
}

export { JwksError };

export function isJwks(x: unknown): x is JSONWebKeySet {
  return typeof x === 'object' && x !== null && Array.isArray((x as { keys?: unknown }).keys);
}

/** A fixed key set (a pinned JWKS file). */
export function pinnedJwks(set: JSONWebKeySet, description = 'pinned JWKS'): JwksSource {
  if (!isJwks(set)) throw new JwksError('JWKS must be an object with a "keys" array');
  return { get: async () => set, description };
}

export interface FetchedJwksOptions {
  url?: string;
  fetch?: typeof fetch;
  /** Cache lifetime (default 1 hour). */
  ttlMs?: number;
  /** Clock for the cache (tests). */
  clock?: () => number;
  /** Minimum time between two refetches triggered by unknown kids (default 60 s): bounds the fetches a
   * stream of tokens with made-up kids can cause. */
  minRefreshIntervalMs?: number;
}

/** JWKS fetched over HTTPS with an in-memory cache. */
export function fetchedJwks(opts: FetchedJwksOptions = {}): JwksSource & { fetches: number } {
  const url = opts.url ?? NRAS_JWKS_URL;
  const ttl = opts.ttlMs ?? 3_600_000;
  const clock = opts.clock ?? Date.now;
  const minInterval = opts.minRefreshIntervalMs ?? 60_000;
  let cache: { set: JSONWebKeySet; at: number } | undefined;
  const fetchNow = async (): Promise<JSONWebKeySet> => {
    src.fetches++;
    let res: Response;
    try {
      res = await (opts.fetch ?? fetch)(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(15_000),
      });
    } catch (e) {
      throw new JwksError(`cannot fetch ${url}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!res.ok) throw new JwksError(`${url} answered HTTP ${res.status}`);
    const set = (await res.json()) as unknown;
    if (!isJwks(set)) throw new JwksError(`${url} did not return a JWKS`);
    cache = { set, at: clock() };
    return set;
  };
  const src = {
    fetches: 0,
    description: `JWKS from ${url}`,
    /** Refetch on an unknown kid, unless the cached set is younger than minRefreshIntervalMs. */
    async refresh(): Promise<JSONWebKeySet> {
      if (cache && clock() - cache.at < minInterval) return cache.set;
      return fetchNow();
    },
    async get(): Promise<JSONWebKeySet> {
      if (cache && clock() - cache.at < ttl) return cache.set;
      return fetchNow();
    },
  };
  return src;
}
