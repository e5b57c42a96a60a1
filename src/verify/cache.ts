/**
 * VerifierCache: an opt-in, bounded (LRU) cache of verification FACTS that do not depend on the time,
 * the policy or the trust anchors, so a client verifying many responses of one session pays for one
 * signature check per response (docs/binding.md "Verification cache").
 *
 * What is cached, each keyed by the SHA-256 of every byte it was computed from (length-prefixed):
 *  - `snp.report.signature`: "this ECDSA P-384 signature over these report bytes verifies with the key of
 *    this VCEK/VLEK (by the SHA-256 of its DER)". Only a success is kept.
 *  - `tdx.quote.signature` and `tdx.qe.report-signature`: the same for a TDX quote (with the quote's
 *    attestation key) and its QE report (with the PCK certificate's key, by its DER).
 *  - session keys (session-key mode): the session's public keys read, jwk = spki, claimSpki is P-256, the
 *    session identity and the REPORT_DATA its evidence must carry, keyed by every session field but the
 *    evidence. Only a successful read is kept.
 *
 * What is NOT cached: any verdict. Every check that depends on the verification time (certificate and
 * session-key validity, CRLs, collateral), on the policy, on the trust roots (chain to a pinned or trusted
 * simulated root), on the nonce or on the claim is evaluated again on every call, so a cached fact can
 * never outlive its validity nor be reused under another policy, nonce or trust anchor: a fact about
 * bytes is true forever. A check satisfied from the cache says so in its detail ("… (cached: verified
 * earlier at T)") and is listed in the verdict's `fields.cached`: never a silent pass.
 *
 * The certificate-chain caches below this (parsed certificates, certificate signatures, keyed the same
 * way) are process-wide and always on: see src/verify/sev-snp/chain.ts and steps/cert-cache.ts.
 */
import { createHasher } from '../util/digest.ts';
import { utf8 } from '../util/text-codec.ts';
import { VerifyError } from './errors.ts';

/** The kinds of fact kept (a kind is part of every key: facts of different kinds never collide). */
export type CachedFactKind =
  | 'snp-report-signature'
  | 'tdx-quote-signature'
  | 'tdx-qe-report-signature'
  | 'session-keys';

export interface VerifierCacheOptions {
  /** Facts kept, all kinds together (default 1024); the least recently used is dropped first. */
  maxEntries?: number;
}

export interface VerifierCacheStats {
  size: number;
  maxEntries: number;
  hits: number;
  misses: number;
  evictions: number;
}

interface Entry {
  value: unknown;
  /** Wall-clock time the fact was established (said in the verdict). */
  at: Date;
}

/** A hit: the cached value, and when it was established. */
export interface CacheHit<T> {
  value: T;
  at: Date;
}

/** SHA-256 over the length-prefixed parts (u32be length ‖ bytes, each), hex: no two part lists collide. */
export function factKey(kind: CachedFactKind, ...parts: ReadonlyArray<Uint8Array | string>): string {
  const h = createHasher('sha256');
  const len = new Uint8Array(4);
  const view = new DataView(len.buffer);
  for (const p of [kind, ...parts]) {
    const b = typeof p === 'string' ? utf8(p) : p;
    view.setUint32(0, b.length);
    h.update(len).update(b);
  }
  return `${kind}:${h.digestHex()}`;
}

export class VerifierCache {
  readonly maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(opts: VerifierCacheOptions = {}) {
    const max = opts.maxEntries ?? 1024;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new VerifyError(
        'VERIFY_BAD_INPUT',
        `VerifierCache: maxEntries must be a positive integer, got ${max}`,
      );
    this.maxEntries = max;
  }

  /** The cached fact under `key` (made by factKey), marked most recently used; undefined: a miss. */
  get<T>(key: string): CacheHit<T> | undefined {
    const e = this.#entries.get(key);
    if (!e) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return { value: e.value as T, at: e.at };
  }

  /** Keep a fact (established now); drops the least recently used beyond maxEntries. */
  set(key: string, value: unknown): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, at: new Date() });
    while (this.#entries.size > this.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
      this.#evictions++;
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  stats(): VerifierCacheStats {
    return {
      size: this.#entries.size,
      maxEntries: this.maxEntries,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    };
  }

  /** Forget every fact (the counters stay). */
  clear(): void {
    this.#entries.clear();
  }
}

/** The suffix a check satisfied from the cache carries. */
export function cachedNote(at: Date, what?: string): string {
  return ` (cached: ${what ? `${what} ` : ''}verified earlier at ${at.toISOString()})`;
}
