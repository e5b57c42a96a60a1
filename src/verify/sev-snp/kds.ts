/**
 * AMD Key Distribution Service (KDS): VCEK retrieval when the evidence carries none, and the ARK-signed CRL.
 *   VCEK  https://kdsintf.amd.com/vcek/v1/{Milan|Genoa}/{hwid: 64-byte chip id hex}?blSPL=&teeSPL=&snpSPL=&ucodeSPL=
 *   Turin https://kdsintf.amd.com/vcek/v1/Turin/{hwid: first 8 bytes of chip id hex}?fmcSPL=&blSPL=&teeSPL=&snpSPL=&ucodeSPL=
 *   CRL   https://kdsintf.amd.com/{vcek|vlek}/v1/{product}/crl
 * Runs in Node and in browsers: the network is `fetch` (injectable; global fetch by default) and the cache is
 * whatever `KdsCache` the caller passes (none by default). In Node, `fileKdsCache` (./kds-cache.ts, Node-only)
 * keeps answers on disk under ~/.cache/wasmvm-tee/kds; the CLI wires it in. Cached answers are used until
 * their own expiry (a CRL's nextUpdate, a certificate's notAfter; `wasmvm-tee collateral prune` deletes
 * expired ones): online, an expired cached answer is fetched again; offline, it is still returned (the
 * verifier checks validity at its own time). HTTP 429 is retried with backoff (Retry-After honoured,
 * capped); `offline` never touches the network (cache only).
 */
import { WasmvmTeeError } from '../../util/errors.ts';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { SnpProduct, TcbParts } from '../../formats/index.ts';
import { toHex } from '../../formats/index.ts';
import { fromUtf8 } from '../../util/text-codec.ts';
import { Certificate } from '../x509.ts';

export const KDS_BASE = 'https://kdsintf.amd.com';

export type FetchLike = (
  url: string,
  init?: {
    method?: string;
    headers?: Record<string, string>;
    body?: Uint8Array<ArrayBuffer>;
    signal?: AbortSignal;
  },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

/**
 * Where KDS answers are kept between verifications, keyed by URL. `get` answers undefined for a miss (an
 * error reading counts as a miss); `set` may throw (the fetch then fails with that error, as a full disk would).
 */
export interface KdsCache {
  get(url: string): Promise<Uint8Array | undefined>;
  set(url: string, body: Uint8Array): Promise<void>;
}

export interface KdsOptions {
  fetch?: FetchLike;
  /** Cache of answers (Node: `fileKdsCache()` from ./kds-cache.ts, the CLI's default); none by default. */
  cache?: KdsCache;
  /** Never use the network: cache only. */
  offline?: boolean;
  baseUrl?: string;
  /** Attempts on HTTP 429/5xx (default 4). */
  attempts?: number;
  /** Base backoff in ms (default 500); doubled per attempt, Retry-After (seconds) wins when larger, capped at 30 s. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Test hook: the current time (ms) against which cached answers expire. */
  clock?: () => number;
}

/** Codes of KdsError: why AMD KDS did not deliver. */
export type KdsErrorCode = 'KDS_OFFLINE' | 'KDS_UNAVAILABLE' | 'KDS_NETWORK' | 'KDS_THROTTLED' | 'KDS_HTTP';

export class KdsError extends WasmvmTeeError<KdsErrorCode> {}

export function kdsVcekUrl(product: SnpProduct, chipId: Uint8Array, tcb: TcbParts, base = KDS_BASE): string {
  const hex = toHex;
  if (product === 'Turin') {
    const q = `fmcSPL=${tcb.fmcSPL ?? 0}&blSPL=${tcb.blSPL}&teeSPL=${tcb.teeSPL}&snpSPL=${tcb.snpSPL}&ucodeSPL=${tcb.ucodeSPL}`;
    return `${base}/vcek/v1/Turin/${hex(chipId.subarray(0, 8))}?${q}`;
  }
  const q = `blSPL=${tcb.blSPL}&teeSPL=${tcb.teeSPL}&snpSPL=${tcb.snpSPL}&ucodeSPL=${tcb.ucodeSPL}`;
  return `${base}/vcek/v1/${product}/${hex(chipId)}?${q}`;
}

export function kdsCrlUrl(product: SnpProduct, key: 'vcek' | 'vlek' = 'vcek', base = KDS_BASE): string {
  return `${base}/${key}/v1/${product}/crl`;
}

/**
 * When a KDS answer stops being current: a CRL's nextUpdate, a certificate's notAfter (the earliest,
 * for a PEM cert_chain). Undefined when the body is none of these.
 */
export function kdsBodyExpiry(body: Uint8Array): Date | undefined {
  if (body[0] === 0x30) {
    try {
      return new x509.X509Crl(Uint8Array.from(body)).nextUpdate;
    } catch {
      // not a CRL
    }
    try {
      return Certificate.parse(body).notAfter;
    } catch {
      return undefined;
    }
  }
  const pems = fromUtf8(body).match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (!pems) return undefined;
  try {
    return new Date(Math.min(...pems.map((p) => Certificate.parse(p).notAfter.getTime())));
  } catch {
    return undefined;
  }
}

/** GET a KDS URL (cache → network with backoff). */
export async function kdsGet(url: string, opts: KdsOptions = {}): Promise<Uint8Array> {
  const cache = opts.cache;
  if (cache) {
    let cached: Uint8Array | undefined;
    try {
      cached = await cache.get(url);
    } catch {
      cached = undefined; // unreadable: not cached
    }
    if (cached) {
      const exp = kdsBodyExpiry(cached);
      // offline: whatever is cached (the verifier checks validity at its time); online: only while current
      if (opts.offline || (exp !== undefined && exp.getTime() > (opts.clock?.() ?? Date.now())))
        return cached;
    }
  }
  if (opts.offline) throw new KdsError('KDS_OFFLINE', `offline mode and ${url} is not in the cache`);
  const doFetch = opts.fetch ?? (globalThis.fetch as unknown as FetchLike | undefined);
  if (!doFetch) throw new KdsError('KDS_UNAVAILABLE', 'no fetch implementation');
  const attempts = opts.attempts ?? 4;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last = '';
  for (let i = 0; i < attempts; i++) {
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await doFetch(url, { headers: { accept: 'application/octet-stream' } });
    } catch (e) {
      throw new KdsError('KDS_NETWORK', `GET ${url}: ${(e as Error).message}`);
    }
    if (res.status === 200) {
      const body = new Uint8Array(await res.arrayBuffer());
      if (cache) await cache.set(url, body);
      return body;
    }
    last = `HTTP ${res.status}`;
    if (res.status !== 429 && res.status < 500) break;
    if (i + 1 < attempts) {
      const ra = Number(res.headers.get('retry-after'));
      const backoff = (opts.backoffMs ?? 500) * 2 ** i;
      await sleep(Math.min(30_000, Math.max(backoff, Number.isFinite(ra) ? ra * 1000 : 0)));
    }
  }
  throw new KdsError(last === 'HTTP 429' ? 'KDS_THROTTLED' : 'KDS_HTTP', `GET ${url}: ${last}`);
}

export async function fetchVcek(
  product: SnpProduct,
  chipId: Uint8Array,
  tcb: TcbParts,
  opts: KdsOptions = {},
): Promise<Uint8Array> {
  return kdsGet(kdsVcekUrl(product, chipId, tcb, opts.baseUrl), opts);
}

export interface CrlResult {
  ok: boolean;
  detail: string;
}

/**
 * Check that `subject` (an ASK/ASVK) is not revoked by `crlDer`, after verifying the CRL's signature with the ARK
 * (RSA-PSS SHA-384) and its validity at `now`.
 */
export async function checkCrl(
  crlDer: Uint8Array,
  ark: x509.X509Certificate,
  subject: x509.X509Certificate,
  now: Date,
  opts: { allowStale?: boolean } = {},
): Promise<CrlResult> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(Uint8Array.from(crlDer));
  } catch (e) {
    return { ok: false, detail: `cannot parse the CRL: ${(e as Error).message}` };
  }
  let sigOk = false;
  try {
    sigOk = await crl.verify({ publicKey: ark });
  } catch (e) {
    return { ok: false, detail: `CRL signature check failed: ${(e as Error).message}` };
  }
  if (!sigOk) return { ok: false, detail: 'the CRL is not signed by the ARK' };
  if (crl.issuer !== ark.subject) return { ok: false, detail: `CRL issuer ${crl.issuer} is not the ARK` };
  if (crl.thisUpdate.getTime() > now.getTime()) return { ok: false, detail: 'the CRL is not yet valid' };
  const entry = crl.entries.find((e) => e.serialNumber.toLowerCase() === subject.serialNumber.toLowerCase());
  if (entry)
    return {
      ok: false,
      detail: `certificate serial ${subject.serialNumber} is REVOKED (${entry.revocationDate.toISOString()})`,
    };
  const stale = crl.nextUpdate !== undefined && crl.nextUpdate.getTime() < now.getTime();
  if (stale && !opts.allowStale)
    return {
      ok: false,
      detail: `the CRL is stale: nextUpdate ${crl.nextUpdate!.toISOString()} is before ${now.toISOString()} (get a fresh CRL, or accept it with --allow-stale-crl / allowStaleCrl)`,
    };
  return {
    ok: true,
    detail: `not revoked (CRL of ${crl.thisUpdate.toISOString()}, ${crl.entries.length} entries)${stale ? ` (CRL past its nextUpdate ${crl.nextUpdate!.toISOString()}: ALLOWED by allowStaleCrl)` : ''}`,
  };
}
