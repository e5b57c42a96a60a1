/**
 * Gathering AMD (KDS), Intel (PCS) and NVIDIA (NRAS JWKS, OCSP) collateral for a bundle (`wasmvm-tee collateral fetch`), and the
 * local collateral cache with the same rules for online use: one file per item, kept until the item's
 * own expiry (CRL nextUpdate, TCB Info / QE identity nextUpdate, certificate notAfter), then refetched;
 * `prune` deletes what has expired. Every fetched item is checked (vendor signature, validity) before it
 * goes into a bundle or the cache. The network is reached only through the injected `fetch`.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { GpuEvidence } from '../../binding/index.ts';
import { decodeSignerInfo, parseReport, reportProduct, type SnpProduct } from '../../formats/index.ts';
import { digestHex } from '../../util/digest.ts';
import { bytesToBase64, fromUtf8 } from '../../util/text-codec.ts';
import { verifyChainToPinnedRoot } from '../nvidia/certs.ts';
import { NRAS_JWKS_URL } from '../nvidia/jwks.ts';
import {
  buildOcspRequest,
  NVIDIA_OCSP_URL,
  type OcspTargetSelector,
  ocspTargets,
  ocspUrlOf,
  rimOcspTargets,
} from '../nvidia/ocsp.ts';
import { rimSigningChain } from '../nvidia/rim.ts';
import { decodeChain } from '../nvidia/steps/local-decode.ts';
import { type FetchLike, KDS_BASE, kdsGet } from '../sev-snp/kds.ts';
import { parseVek } from '../sev-snp/steps/cert-cache.ts';
import { INTEL_PCS_BASE, latin1 } from '../tdx/collateral.ts';
import type { Check } from '../types.ts';
import type { Certificate } from '../x509.ts';
import {
  CollateralError,
  type CollateralItem,
  type CollateralKind,
  parseCollateralBundle,
} from './collateral.ts';
import { checkOcspItem, describeOcspTarget, ocspItemId } from './collateral-ocsp.ts';
import {
  checkAmdCertChain,
  checkAmdCrlSignature,
  checkAmdVekSignature,
  checkIntelCrlSignature,
  checkIntelSignedJson,
  checkNrasJwks,
  itemValidity,
  snpCertChainId,
  snpCrlId,
  snpVcekIds,
  TD_QE_ID,
  tdxQuotePckInfo,
} from './collateral-vendors.ts';

export interface FetchItemsOptions {
  fetch?: FetchLike;
  /** AMD KDS base (default https://kdsintf.amd.com). */
  kdsBase?: string;
  /** Intel PCS base (default https://api.trustedservices.intel.com). */
  pcsBase?: string;
  /** Time at which each item must verify (default: now). */
  now?: Date;
  /** Local cache: valid items are taken from it, fetched ones are stored in it. */
  cache?: CollateralCache;
  /** Test hook: backoff sleep for KDS retries. */
  sleep?: (ms: number) => Promise<void>;
}

export interface FetchItemsResult {
  items: CollateralItem[];
  /** 'CODE: message' for each item that could not be fetched or did not verify. */
  failures: string[];
  /** Items taken from the cache (kind:id). */
  fromCache: string[];
}

/** Build an item: its validity from the signed content. */
export function makeItem(
  kind: CollateralKind,
  id: string,
  source: string,
  body: Uint8Array | string,
  issuerChain?: string,
): CollateralItem {
  const item: CollateralItem = {
    kind,
    id,
    source,
    fetchedAt: new Date().toISOString(),
    notBefore: '',
    notAfter: '',
    body: typeof body === 'string' ? body : bytesToBase64(body),
  };
  if (typeof body !== 'string') item.encoding = 'base64';
  if (issuerChain !== undefined) item.issuerChain = issuerChain;
  Object.assign(item, itemValidity(item));
  return item;
}

function inside(item: CollateralItem, at: Date): void {
  if (at < new Date(item.notBefore) || at > new Date(item.notAfter))
    throw new CollateralError(
      'COLLATERAL_EXPIRED',
      `${item.kind} '${item.id}' is valid ${item.notBefore} .. ${item.notAfter}, not at ${at.toISOString()}`,
    );
}

const failure = (e: unknown) =>
  `${(e as { code?: string }).code ?? 'COLLATERAL_FETCH_FAILED'}: ${(e as Error).message}`;

async function step(
  r: FetchItemsResult,
  cache: CollateralCache | undefined,
  kind: CollateralKind,
  id: string,
  at: Date,
  get: () => Promise<CollateralItem>,
  check: (i: CollateralItem) => void | Promise<void>,
): Promise<CollateralItem | undefined> {
  try {
    const cached = cache?.get(kind, id, at);
    if (cached) {
      r.fromCache.push(`${kind}:${id}`);
      r.items.push(cached);
      return cached;
    }
    const item = await get();
    await check(item);
    inside(item, at);
    cache?.put(item);
    r.items.push(item);
    return item;
  } catch (e) {
    r.failures.push(failure(e));
    return undefined;
  }
}

/**
 * AMD KDS collateral for an SEV-SNP report: the VCEK (unless the evidence carries its VEK, or the
 * report is VLEK-signed: KDS serves VLEKs only to the cloud provider), the ASK/ASVK+ARK cert_chain
 * and the ARK-signed CRL.
 */
export async function fetchSnpItems(
  report: Uint8Array,
  o: FetchItemsOptions & { vek?: Uint8Array } = {},
): Promise<FetchItemsResult> {
  const r: FetchItemsResult = { items: [], failures: [], fromCache: [] };
  const at = o.now ?? new Date();
  const base = (o.kdsBase ?? KDS_BASE).replace(/\/$/, '');
  let rep: ReturnType<typeof parseReport>;
  try {
    rep = parseReport(report);
  } catch (e) {
    r.failures.push(`COLLATERAL_MALFORMED: not an SEV-SNP report: ${(e as Error).message}`);
    return r;
  }
  const key = decodeSignerInfo(rep.signerInfo).signingKey === 'VLEK' ? 'vlek' : 'vcek';
  // no cache: a bundle records what the network answered now
  const kds = {
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.sleep ? { sleep: o.sleep } : {}),
  };
  const get = async (kind: CollateralKind, id: string, text: boolean) => {
    const url = `${base}/${id}`;
    let b: Uint8Array;
    try {
      b = await kdsGet(url, kds);
    } catch (e) {
      throw new CollateralError('COLLATERAL_FETCH_FAILED', (e as Error).message);
    }
    return makeItem(kind, id, url, text ? latin1(b) : b);
  };
  let product: SnpProduct | undefined = reportProduct(rep);
  if (o.vek) {
    try {
      product ??= parseVek(o.vek).info.product;
    } catch {
      // fetch by the report alone
    }
  } else if (key === 'vlek') {
    r.failures.push(
      'COLLATERAL_MISSING_ITEM: the report is VLEK-signed and the evidence carries no VLEK; AMD KDS serves VLEKs only to the cloud provider',
    );
  } else {
    const fails: string[] = [];
    let found = false;
    for (const c of snpVcekIds(rep, product)) {
      const sub: FetchItemsResult = { items: [], failures: [], fromCache: [] };
      const item = await step(
        sub,
        o.cache,
        'amd-vek',
        c.id,
        at,
        () => get('amd-vek', c.id, false),
        async (i) => {
          await checkAmdVekSignature(i, c.product);
        },
      );
      fails.push(...sub.failures);
      if (item) {
        r.items.push(...sub.items);
        r.fromCache.push(...sub.fromCache);
        product ??= c.product;
        found = true;
        break;
      }
    }
    if (!found) r.failures.push(...fails);
  }
  if (!product) {
    r.failures.push('COLLATERAL_MISSING_ITEM: the product line is unknown: no CRL or cert_chain fetched');
    return r;
  }
  const p = product;
  await step(
    r,
    o.cache,
    'amd-cert-chain',
    snpCertChainId(p, key),
    at,
    () => get('amd-cert-chain', snpCertChainId(p, key), true),
    checkAmdCertChain,
  );
  await step(
    r,
    o.cache,
    'amd-crl',
    snpCrlId(p, key),
    at,
    () => get('amd-crl', snpCrlId(p, key), false),
    (i) => checkAmdCrlSignature(i, p),
  );
  return r;
}

/** Intel PCS collateral for a TDX quote: TCB Info (its FMSPC), TD QE identity, PCK CRL (its CA), root CA CRL. */
export async function fetchTdxItems(quote: Uint8Array, o: FetchItemsOptions = {}): Promise<FetchItemsResult> {
  const r: FetchItemsResult = { items: [], failures: [], fromCache: [] };
  const at = o.now ?? new Date();
  const info = tdxQuotePckInfo(quote);
  if (!info) {
    r.failures.push('COLLATERAL_MALFORMED: the TDX quote carries no PCK certificate chain (FMSPC unknown)');
    return r;
  }
  const base = (o.pcsBase ?? INTEL_PCS_BASE).replace(/\/$/, '');
  const f = o.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const get = async (url: string, chainHeader?: string) => {
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await f(url, { signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      throw new CollateralError('COLLATERAL_FETCH_FAILED', `GET ${url}: ${(e as Error).message}`);
    }
    if (res.status !== 200)
      throw new CollateralError('COLLATERAL_FETCH_FAILED', `GET ${url}: HTTP ${res.status}`);
    const body = new Uint8Array(await res.arrayBuffer());
    const h = chainHeader ? res.headers.get(chainHeader) : undefined;
    if (chainHeader && !h)
      throw new CollateralError('COLLATERAL_FETCH_FAILED', `GET ${url}: header ${chainHeader} missing`);
    return { body, chain: h ? decodeURIComponent(h) : undefined };
  };
  const text = (b: Uint8Array) => fromUtf8(b);
  const tcbUrl = `${base}/tdx/certification/v4/tcb?fmspc=${info.fmspc}`;
  await step(
    r,
    o.cache,
    'intel-tcb-info',
    info.fmspc,
    at,
    async () => {
      const g = await get(tcbUrl, 'TCB-Info-Issuer-Chain');
      return makeItem('intel-tcb-info', info.fmspc, tcbUrl, text(g.body), g.chain);
    },
    (i) => checkIntelSignedJson(i, at),
  );
  const qeUrl = `${base}/tdx/certification/v4/qe/identity`;
  await step(
    r,
    o.cache,
    'intel-qe-identity',
    TD_QE_ID,
    at,
    async () => {
      const g = await get(qeUrl, 'SGX-Enclave-Identity-Issuer-Chain');
      return makeItem('intel-qe-identity', TD_QE_ID, qeUrl, text(g.body), g.chain);
    },
    (i) => checkIntelSignedJson(i, at),
  );
  const crlUrl = `${base}/sgx/certification/v4/pckcrl?ca=${info.ca}&encoding=der`;
  await step(
    r,
    o.cache,
    'intel-pck-crl',
    info.ca,
    at,
    async () => {
      const g = await get(crlUrl, 'SGX-PCK-CRL-Issuer-Chain');
      return makeItem('intel-pck-crl', info.ca, crlUrl, g.body, g.chain);
    },
    (i) => checkIntelCrlSignature(i, at),
  );
  const rootUrl = `${base}/sgx/certification/v4/rootcacrl`;
  await step(
    r,
    o.cache,
    'intel-root-ca-crl',
    'root',
    at,
    async () => {
      const g = await get(rootUrl);
      return makeItem('intel-root-ca-crl', 'root', rootUrl, g.body);
    },
    (i) => checkIntelCrlSignature(i, at),
  );
  return r;
}

/** The NRAS JWKS (for verifying NRAS answers offline): every key's x5c chain to a pinned NRAS CA. */
export async function fetchNrasJwksItem(
  o: FetchItemsOptions & { url?: string } = {},
): Promise<FetchItemsResult> {
  const r: FetchItemsResult = { items: [], failures: [], fromCache: [] };
  const at = o.now ?? new Date();
  const url = o.url ?? NRAS_JWKS_URL;
  const f = o.fetch ?? (globalThis.fetch as unknown as FetchLike);
  await step(
    r,
    o.cache,
    'nvidia-nras-jwks',
    'nras',
    at,
    async () => {
      let res: Awaited<ReturnType<FetchLike>>;
      try {
        res = await f(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
      } catch (e) {
        throw new CollateralError('COLLATERAL_FETCH_FAILED', `GET ${url}: ${(e as Error).message}`);
      }
      if (res.status !== 200)
        throw new CollateralError('COLLATERAL_FETCH_FAILED', `GET ${url}: HTTP ${res.status}`);
      return makeItem('nvidia-nras-jwks', 'nras', url, fromUtf8(new Uint8Array(await res.arrayBuffer())));
    },
    async (i) => {
      await checkNrasJwks(i, at);
    },
  );
  return r;
}

export interface OcspFetchResult extends FetchItemsResult {
  /** The status each bundled response gives its certificate ('revoked' and 'unknown' are bundled too). */
  statuses: { id: string; certificate: string; status: 'good' | 'revoked' | 'unknown'; detail: string }[];
}

export interface OcspFetchOptions extends FetchItemsOptions {
  /** OCSP responder for every certificate (default: the certificate's AIA OCSP URL, else NVIDIA's). */
  responder?: string;
  /** Which pairs of the chain (default ocspTargets: a device chain's; rimOcspTargets for a RIM signing chain). */
  targets?: OcspTargetSelector;
  /**
   * Item ids already handled by an earlier call (shared across chains: a certificate in several
   * chains is fetched once); ids handled here are added.
   */
  seen?: Set<string>;
}

/**
 * NVIDIA OCSP responses for a GPU device chain (leaf first): one per certificate with an OCSP check
 * (all but the DICE leaf and the root; `targets` selects others), POSTed to `responder` (default: the
 * certificate's AIA OCSP URL, else NVIDIA's). Each is checked before it is kept: signed by the issuer
 * or its delegated responder, current at `now`, a definite status for the CertID. A revoked or unknown
 * status is kept (it is evidence) and reported in `statuses`.
 */
export async function fetchNvidiaOcspItems(
  chain: readonly Certificate[],
  o: OcspFetchOptions = {},
): Promise<OcspFetchResult> {
  const r: OcspFetchResult = { items: [], failures: [], fromCache: [], statuses: [] };
  const at = o.now ?? new Date();
  const f = o.fetch ?? (globalThis.fetch as unknown as FetchLike);
  for (const { cert, issuer } of (o.targets ?? ocspTargets)(chain)) {
    const id = ocspItemId(cert, issuer);
    if (o.seen?.has(id)) continue;
    o.seen?.add(id);
    const name = describeOcspTarget(cert, issuer);
    const url = o.responder ?? ocspUrlOf(cert) ?? NVIDIA_OCSP_URL;
    const item = await step(
      r,
      o.cache,
      'nvidia-ocsp',
      id,
      at,
      async () => {
        let res: Awaited<ReturnType<FetchLike>>;
        try {
          res = await f(url, {
            method: 'POST',
            headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
            body: buildOcspRequest(cert, issuer) as Uint8Array<ArrayBuffer>,
            signal: AbortSignal.timeout(30_000),
          });
        } catch (e) {
          throw new CollateralError(
            'COLLATERAL_FETCH_FAILED',
            `POST ${url} for ${name}: ${(e as Error).message}`,
          );
        }
        if (res.status !== 200)
          throw new CollateralError('COLLATERAL_FETCH_FAILED', `POST ${url} for ${name}: HTTP ${res.status}`);
        const body = new Uint8Array(await res.arrayBuffer());
        try {
          return makeItem('nvidia-ocsp', id, url, body);
        } catch (e) {
          throw new CollateralError(
            (e as CollateralError).code ?? 'COLLATERAL_MALFORMED',
            `OCSP response for ${name}: ${(e as Error).message}`,
          );
        }
      },
      async (i) => {
        await checkOcspItem(i, cert, issuer, at);
      },
    );
    if (!item) continue;
    // the status (again for a cached item: the cache file is not trusted)
    try {
      const s = await checkOcspItem(item, cert, issuer, at);
      r.statuses.push({ id, certificate: name, status: s.status, detail: s.detail });
    } catch (e) {
      r.items.splice(r.items.indexOf(item), 1);
      r.failures.push(failure(e));
    }
  }
  return r;
}

/**
 * fetchNvidiaOcspItems for one GPU evidence: its device chain (`certificate`, base64 PEM), completed
 * with the pinned NVIDIA Device Identity CA when it ends below it, as the verifier completes it.
 */
export async function fetchNvidiaOcspItemsForEvidence(
  evidence: Pick<GpuEvidence, 'certificate'>,
  o: OcspFetchOptions = {},
): Promise<OcspFetchResult> {
  const checks: Check[] = [];
  const certs = decodeChain(evidence as GpuEvidence, checks);
  if (certs.length === 0)
    return {
      items: [],
      failures: [`COLLATERAL_MALFORMED: the GPU evidence's device chain: ${checks[0]?.detail ?? 'empty'}`],
      fromCache: [],
      statuses: [],
    };
  const { chain } = await verifyChainToPinnedRoot(certs, o.now ?? new Date());
  return fetchNvidiaOcspItems(chain, o);
}

/**
 * fetchNvidiaOcspItems for one RIM's signing chain (its KeyInfo certificates, completed with the pinned
 * NVIDIA CoRIM signing root, or `trustRoot` in tests, as verifyRim completes it): every certificate but
 * the root, the RIM signing leaf included (rimOcspTargets), unless `targets` says otherwise.
 */
export async function fetchNvidiaOcspItemsForRim(
  rim: string | Uint8Array,
  o: OcspFetchOptions & { trustRoot?: string } = {},
): Promise<OcspFetchResult> {
  let chain: Certificate[];
  try {
    chain = await rimSigningChain(rim, o.now ?? new Date(), o.trustRoot);
  } catch (e) {
    return {
      items: [],
      failures: [`COLLATERAL_MALFORMED: the RIM's signing chain: ${(e as Error).message}`],
      fromCache: [],
      statuses: [],
    };
  }
  return fetchNvidiaOcspItems(chain, { targets: rimOcspTargets, ...o });
}

// ------------------------------------------------------------------------------ the local cache

export function defaultCollateralCacheDir(): string {
  return process.env.WASMVM_TEE_COLLATERAL_CACHE || join(homedir(), '.cache', 'wasmvm-tee', 'collateral');
}

/**
 * A directory of items, one JSON file each (named by the SHA-256 of kind and id), valid until the
 * item's notAfter (its own nextUpdate / expiry, read from the signed content when it was stored).
 */
export class CollateralCache {
  constructor(readonly dir: string = defaultCollateralCacheDir()) {}

  private file(kind: string, id: string): string {
    return join(this.dir, `${digestHex('sha256', `${kind}\n${id.toUpperCase()}`)}.json`);
  }

  private read(path: string): CollateralItem | undefined {
    try {
      const item = parseCollateralBundle({
        format: 'wasmvm-tee/collateral-bundle/v1',
        createdAt: new Date(0).toISOString(),
        items: [JSON.parse(readFileSync(path, 'utf8'))],
      }).items[0]!;
      // validity again from the signed bytes: the file is not trusted
      return { ...item, ...itemValidity(item) };
    } catch {
      return undefined;
    }
  }

  /** The cached item, when present and valid at `at`. */
  get(kind: CollateralKind, id: string, at: Date): CollateralItem | undefined {
    const item = this.read(this.file(kind, id));
    if (!item || item.kind !== kind || item.id.toUpperCase() !== id.toUpperCase()) return undefined;
    return at >= new Date(item.notBefore) && at <= new Date(item.notAfter) ? item : undefined;
  }

  put(item: CollateralItem): void {
    mkdirSync(this.dir, { recursive: true });
    const f = this.file(item.kind, item.id);
    const tmp = `${f}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(item)}\n`);
    renameSync(tmp, f);
  }

  /** Delete items past their expiry at `now` (and unreadable files); returns what was removed. */
  prune(now: Date = new Date()): { removed: string[]; kept: number } {
    const removed: string[] = [];
    let kept = 0;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return { removed, kept };
    }
    for (const n of names) {
      if (!/^[0-9a-f]{64}\.json$/.test(n)) continue;
      const p = join(this.dir, n);
      const item = this.read(p);
      if (!item || now > new Date(item.notAfter)) {
        rmSync(p, { force: true });
        removed.push(item ? `${item.kind} ${item.id} (expired ${item.notAfter})` : `${n} (unreadable)`);
      } else kept++;
    }
    return { removed, kept };
  }
}
