/**
 * AMD Key Distribution Service (KDS): VCEK retrieval when the evidence carries none, and the ARK-signed CRL.
 *   VCEK  https://kdsintf.amd.com/vcek/v1/{Milan|Genoa}/{hwid: 64-byte chip id hex}?blSPL=&teeSPL=&snpSPL=&ucodeSPL=
 *   Turin https://kdsintf.amd.com/vcek/v1/Turin/{hwid: first 8 bytes of chip id hex}?fmcSPL=&blSPL=&teeSPL=&snpSPL=&ucodeSPL=
 *   CRL   https://kdsintf.amd.com/{vcek|vlek}/v1/{product}/crl
 * Responses are cached on disk (by URL) until their own expiry (a CRL's nextUpdate, a certificate's
 * notAfter; `wasmvm-tee collateral prune` deletes expired ones): online, an expired cached answer is
 * fetched again; offline, it is still returned (the verifier checks validity at its own time).
 * HTTP 429 is retried with backoff (Retry-After honoured, capped); `offline` never touches the network
 * (cache only). `fetch` is injectable (tests; there is no network here).
 */
import { WasmvmTeeError } from '../../util/errors.ts';
import 'reflect-metadata';
import { createHash, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { SnpProduct, TcbParts } from '../../formats/index.ts';
import { toHex } from '../../formats/index.ts';

export const KDS_BASE = 'https://kdsintf.amd.com';

export type FetchLike = (
  url: string,
  init?: { headers?: Record<string, string>; signal?: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

export interface KdsOptions {
  fetch?: FetchLike;
  /** Cache directory (default `$WASMVM_TEE_KDS_CACHE` or ~/.cache/wasmvm-tee/kds); false = no cache. */
  cacheDir?: string | false;
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

export function defaultKdsCacheDir(): string {
  return process.env.WASMVM_TEE_KDS_CACHE || join(homedir(), '.cache', 'wasmvm-tee', 'kds');
}
const defaultCacheDir = defaultKdsCacheDir;

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
      return new Date(new X509Certificate(body).validTo);
    } catch {
      return undefined;
    }
  }
  const pems = Buffer.from(body)
    .toString('latin1')
    .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (!pems) return undefined;
  try {
    return new Date(Math.min(...pems.map((p) => new Date(new X509Certificate(p).validTo).getTime())));
  } catch {
    return undefined;
  }
}

/** Delete the cached KDS answers past their expiry at `now` (and unreadable ones). */
export function pruneKdsCache(
  dir: string = defaultKdsCacheDir(),
  now: Date = new Date(),
): { removed: string[]; kept: number } {
  const removed: string[] = [];
  let kept = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { removed, kept };
  }
  for (const n of names) {
    if (!/^[0-9a-f]{64}$/.test(n)) continue;
    const p = join(dir, n);
    let exp: Date | undefined;
    try {
      exp = kdsBodyExpiry(new Uint8Array(readFileSync(p)));
    } catch {
      exp = undefined;
    }
    if (exp === undefined || exp.getTime() < now.getTime()) {
      rmSync(p, { force: true });
      removed.push(`KDS ${n.slice(0, 16)}… (${exp ? `expired ${exp.toISOString()}` : 'unreadable'})`);
    } else kept++;
  }
  return { removed, kept };
}

/** GET a KDS URL (cache → network with backoff). */
export async function kdsGet(url: string, opts: KdsOptions = {}): Promise<Uint8Array> {
  const cacheDir = opts.cacheDir === false ? undefined : (opts.cacheDir ?? defaultCacheDir());
  const file = cacheDir ? join(cacheDir, createHash('sha256').update(url).digest('hex')) : undefined;
  if (file) {
    try {
      const cached = new Uint8Array(await readFile(file));
      const exp = kdsBodyExpiry(cached);
      // offline: whatever is cached (the verifier checks validity at its time); online: only while current
      if (opts.offline || (exp !== undefined && exp.getTime() > (opts.clock?.() ?? Date.now())))
        return cached;
    } catch {
      // not cached
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
      if (file && cacheDir) {
        await mkdir(cacheDir, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, body);
        await rename(tmp, file);
      }
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
