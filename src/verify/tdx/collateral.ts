/**
 * TDX collateral: TCB Info, TD QE identity, CRLs and their issuer chains.
 *
 * Sources:
 *   - a directory bundle: tcb-info-<fmspc>.json, td-qe-identity.json (Intel PCS response bodies),
 *     tcb-signing-chain.pem, pck-crl-platform.der / pck-crl-processor.der, root-ca-crl.der,
 *     optionally pck-crl-issuer-chain.pem;
 *   - a PCCS-style `QuoteCollateralV3` JSON file (`*.collateral.json`: tcb_info, tcb_info_signature,
 *     tcb_info_issuer_chain, qe_identity, qe_identity_signature, qe_identity_issuer_chain, pck_crl,
 *     pck_crl_issuer_chain, root_ca_crl; CRLs hex or PEM/base64);
 *   - Intel PCS over HTTPS (injectable fetch), through a `TdxCollateralCache` the caller passes;
 *     offline mode reads the cache only.
 * This module runs in Node and in browsers. Files (directory bundles, loading a path, the on-disk PCS
 * cache in the directory-bundle layout, pruning it) are Node-only: ./collateral-fs.ts.
 *
 * Signed JSON is kept as the exact raw text of the signed value (never re-serialized).
 */
import { base64ToBytes, fromUtf8, hexToBytes } from '../../util/text-codec.ts';
import { TdxError } from './errors.ts';
import { pemToDerList } from './layout.ts';
import { parseCrl } from './pki.ts';

export interface SignedJson<T> {
  /** The exact text of the signed JSON value (e.g. the `tcbInfo` object), as it appeared. */
  raw: string;
  /** Signature: hex r‖s (P-256/SHA-256) over the UTF-8 bytes of `raw`. */
  signatureHex: string;
  parsed: T;
}

export interface TcbComponent {
  svn: number;
  category?: string;
  type?: string;
}

export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';

export const TCB_STATUSES: readonly TcbStatus[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
];

export interface TcbInfoLevel {
  tcb: { sgxtcbcomponents: TcbComponent[]; pcesvn: number; tdxtcbcomponents?: TcbComponent[] };
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIDs?: string[];
}

export interface TdxModuleIdentity {
  id: string;
  mrsigner: string;
  attributes: string;
  attributesMask: string;
  tcbLevels: { tcb: { isvsvn: number }; tcbDate: string; tcbStatus: TcbStatus; advisoryIDs?: string[] }[];
}

export interface TcbInfo {
  id: string;
  version: number;
  issueDate: string;
  nextUpdate: string;
  fmspc: string;
  pceId: string;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tdxModule?: { mrsigner: string; attributes: string; attributesMask: string };
  tdxModuleIdentities?: TdxModuleIdentity[];
  tcbLevels: TcbInfoLevel[];
}

export interface EnclaveIdentity {
  id: string;
  version: number;
  issueDate: string;
  nextUpdate: string;
  tcbEvaluationDataNumber: number;
  miscselect: string;
  miscselectMask: string;
  attributes: string;
  attributesMask: string;
  mrsigner: string;
  isvprodid: number;
  tcbLevels: { tcb: { isvsvn: number }; tcbDate: string; tcbStatus: TcbStatus; advisoryIDs?: string[] }[];
}

export interface TdxCollateral {
  /** TCB Info documents, by lower-case FMSPC (a bundle may hold several). */
  tcbInfos: Record<string, SignedJson<TcbInfo>>;
  qeIdentity?: SignedJson<EnclaveIdentity>;
  /** TCB Signing cert chain (DER, leaf first) for TCB Info; the root, if present, is only matched. */
  tcbInfoIssuerChain?: Uint8Array[];
  qeIdentityIssuerChain?: Uint8Array[];
  /** PCK CRLs (DER) by CA: 'platform' | 'processor' (from the CRL issuer CN when unknown). */
  pckCrls: Uint8Array[];
  pckCrlIssuerChain?: Uint8Array[];
  rootCaCrl?: Uint8Array;
  /** Where it came from (for messages). */
  sources: string[];
}

export function emptyCollateral(): TdxCollateral {
  return { tcbInfos: {}, pckCrls: [], sources: [] };
}

/**
 * Return the exact raw text of each value of the top-level object in `text` (a JSON document),
 * with a small JSON scanner. Throws TDX_COLLATERAL on malformed JSON.
 */
export function topLevelRawValues(text: string): Map<string, string> {
  let i = 0;
  const err = (m: string): never => {
    throw new TdxError('TDX_COLLATERAL', `JSON: ${m} at offset ${i}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    if (text[i] !== '"') err('expected a string');
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) err('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const skipValue = (): void => {
    ws();
    const c = text[i];
    if (c === '"') {
      str();
      return;
    }
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          str();
          ws();
          if (text[i] !== ':') err("expected ':'");
          i++;
        }
        skipValue();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === close) {
          i++;
          return;
        }
        err(`expected ',' or '${close}'`);
      }
    }
    const m = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!m) err('unexpected character');
    i += m![0].length;
  };
  const out = new Map<string, string>();
  ws();
  if (text[i] !== '{') err('expected an object');
  i++;
  ws();
  if (text[i] === '}') return out;
  for (;;) {
    ws();
    const key = str();
    ws();
    if (text[i] !== ':') err("expected ':'");
    i++;
    ws();
    const start = i;
    skipValue();
    out.set(key, text.slice(start, i));
    ws();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') {
      i++;
      break;
    }
    err("expected ',' or '}'");
  }
  ws();
  if (i !== text.length) err('trailing characters');
  return out;
}

function parseJson<T>(raw: string, what: string): T {
  try {
    return JSON.parse(raw) as T;
  } catch (e) {
    throw new TdxError(
      'TDX_COLLATERAL',
      `${what}: invalid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

/** Split a PCS response body `{"tcbInfo":{...},"signature":"..."}` keeping the raw signed text. */
export function signedFromPcsBody<T>(body: string, key: 'tcbInfo' | 'enclaveIdentity'): SignedJson<T> {
  const vals = topLevelRawValues(body);
  const raw = vals.get(key);
  const sig = vals.get('signature');
  if (raw === undefined || sig === undefined)
    throw new TdxError('TDX_COLLATERAL', `PCS response: '${key}' or 'signature' missing`);
  return { raw, signatureHex: parseJson<string>(sig, 'signature'), parsed: parseJson<T>(raw, key) };
}

function signedFromRaw<T>(raw: string, signatureHex: string, what: string): SignedJson<T> {
  // Validate that raw is one JSON value (and nothing around it).
  topLevelRawValues(`{"v":${raw}}`);
  return { raw, signatureHex, parsed: parseJson<T>(raw, what) };
}

/** Bytes as ISO-8859-1 text (one character per byte). */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x2000) s += String.fromCharCode(...b.subarray(i, i + 0x2000));
  return s;
}

/** A CRL given as DER, hex text, PEM or base64 → DER. */
export function crlBytes(x: Uint8Array | string): Uint8Array {
  if (typeof x !== 'string') {
    if (x[0] === 0x30) return x;
    return crlBytes(latin1(x));
  }
  const s = x.trim();
  if (/^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) return hexToBytes(s);
  const pem = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(s);
  const b64 = (pem ? pem[1]! : s).replace(/\s+/g, '');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) return base64ToBytes(b64);
  throw new TdxError('TDX_COLLATERAL', 'CRL: not DER, hex, PEM or base64');
}

export function addTcbInfo(c: TdxCollateral, s: SignedJson<TcbInfo>): void {
  if (typeof s.parsed?.fmspc !== 'string') throw new TdxError('TDX_COLLATERAL', 'TCB Info: fmspc missing');
  c.tcbInfos[s.parsed.fmspc.toLowerCase()] = s;
}

/** Load a `QuoteCollateralV3` JSON document (PCCS / dcap-qvl shape). */
export function collateralFromJson(text: string, source = 'collateral.json'): TdxCollateral {
  const o = parseJson<Record<string, unknown>>(text, source);
  const str = (k: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new TdxError('TDX_COLLATERAL', `${source}: '${k}' must be a string`);
    return v;
  };
  const c = emptyCollateral();
  c.sources.push(source);
  const ti = str('tcb_info');
  const tis = str('tcb_info_signature');
  if (ti !== undefined) {
    if (tis === undefined) throw new TdxError('TDX_COLLATERAL', `${source}: tcb_info_signature missing`);
    addTcbInfo(c, signedFromRaw<TcbInfo>(ti, tis, 'tcb_info'));
  }
  const qi = str('qe_identity');
  const qis = str('qe_identity_signature');
  if (qi !== undefined) {
    if (qis === undefined) throw new TdxError('TDX_COLLATERAL', `${source}: qe_identity_signature missing`);
    c.qeIdentity = signedFromRaw<EnclaveIdentity>(qi, qis, 'qe_identity');
  }
  const chain = (k: string) => {
    const v = str(k);
    return v === undefined ? undefined : pemToDerList(v);
  };
  const a = chain('tcb_info_issuer_chain');
  if (a) c.tcbInfoIssuerChain = a;
  const b = chain('qe_identity_issuer_chain');
  if (b) c.qeIdentityIssuerChain = b;
  const d = chain('pck_crl_issuer_chain');
  if (d) c.pckCrlIssuerChain = d;
  const pck = str('pck_crl');
  if (pck !== undefined) c.pckCrls.push(crlBytes(pck));
  const root = str('root_ca_crl');
  if (root !== undefined) c.rootCaCrl = crlBytes(root);
  return c;
}

/** Bytes of one collateral file (TCB Info and QE identity are 5–50 KB; PCCS JSON bundles ~100 KB). */
export const MAX_COLLATERAL_FILE_BYTES = 4 * 1024 * 1024;

let pathLoader: ((path: string) => TdxCollateral) | undefined;

/**
 * How a collateral path (VerifyTdxOptions.collateral as a string) is loaded when the caller passes no
 * `loadCollateral`: Node's ./collateral-fs.ts sets its file loader when imported (the Node entry imports
 * it); in browsers there is none, and a path is a failed verification.
 */
export function setCollateralPathLoader(load: ((path: string) => TdxCollateral) | undefined): void {
  pathLoader = load;
}

/** The loader set by setCollateralPathLoader, if any. */
export function collateralPathLoader(): ((path: string) => TdxCollateral) | undefined {
  return pathLoader;
}

/** Merge bundles: later ones fill in what earlier ones lack (TCB Infos are added per FMSPC). */
export function mergeCollateral(...parts: TdxCollateral[]): TdxCollateral {
  const c = emptyCollateral();
  for (const p of parts) {
    for (const [k, v] of Object.entries(p.tcbInfos)) c.tcbInfos[k] ??= v;
    c.qeIdentity ??= p.qeIdentity;
    c.tcbInfoIssuerChain ??= p.tcbInfoIssuerChain;
    c.qeIdentityIssuerChain ??= p.qeIdentityIssuerChain;
    c.pckCrlIssuerChain ??= p.pckCrlIssuerChain;
    c.rootCaCrl ??= p.rootCaCrl;
    c.pckCrls.push(...p.pckCrls);
    c.sources.push(...p.sources);
  }
  for (const k of Object.keys(c) as (keyof TdxCollateral)[]) if (c[k] === undefined) delete c[k];
  return c;
}

// ---------------------------------------------------------------------------------------------
// Intel PCS fetch through an optional cache.

export const INTEL_PCS_BASE = 'https://api.trustedservices.intel.com';

export type FetchFn = (url: string) => Promise<{
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

export interface FetchCollateralOptions {
  fmspc: string;
  /** 'platform' or 'processor': the PCK CA that issued the PCK certificate. */
  ca: 'platform' | 'processor';
  /**
   * Directory for the on-disk cache (directory-bundle layout); none → no cache. Node only: honoured by
   * `fetchCollateral` of ./collateral-fs.ts (the Node entry's `fetchTdxCollateral`); `fetchPcsCollateral`
   * takes a `cache` instead.
   */
  cacheDir?: string;
  /** Where PCS answers are kept (Node: `dirTdxCollateralCache(dir)` of ./collateral-fs.ts). */
  cache?: TdxCollateralCache;
  /** Only read the cache; never fetch. */
  offline?: boolean;
  /** Injected fetch (defaults to globalThis.fetch). */
  fetch?: FetchFn;
  baseUrl?: string;
  now?: Date;
}

/** The PCS answers for one FMSPC, as fetched (what a cache keeps). */
export interface PcsAnswers {
  fmspc: string;
  ca: 'platform' | 'processor';
  /** The TCB Info and QE identity response bodies (JSON text, exactly as received). */
  tcbInfoText: string;
  qeIdentityText: string;
  /** Issuer chains (PEM text, from the response headers). */
  tcbInfoIssuerChain: string;
  qeIdentityIssuerChain: string;
  pckCrlIssuerChain: string;
  /** DER. */
  pckCrl: Uint8Array;
  rootCaCrl: Uint8Array;
}

/**
 * Where Intel PCS answers are kept between verifications. `load` answers what the cache holds (undefined or
 * a throw: nothing usable); `store` keeps a fresh set of answers (a throw fails the fetch).
 */
export interface TdxCollateralCache {
  /** For messages: where the cache is (e.g. its directory). */
  readonly where?: string;
  load(): Promise<TdxCollateral | undefined>;
  store(answers: PcsAnswers): Promise<void>;
}

function cacheFresh(c: TdxCollateral, fmspc: string, now: Date): boolean {
  const ti = c.tcbInfos[fmspc];
  if (!ti || !c.qeIdentity || !c.tcbInfoIssuerChain || c.pckCrls.length === 0 || !c.rootCaCrl) return false;
  // every item until its own nextUpdate: TCB Info, QE identity, and both CRLs
  const crlCurrent = (der: Uint8Array) => {
    try {
      const n = parseCrl(der).nextUpdate;
      return n !== undefined && n > now;
    } catch {
      return false;
    }
  };
  return (
    new Date(ti.parsed.nextUpdate) > now &&
    new Date(c.qeIdentity.parsed.nextUpdate) > now &&
    c.pckCrls.every(crlCurrent) &&
    crlCurrent(c.rootCaCrl)
  );
}

/**
 * Collateral for one FMSPC from Intel PCS (v4 API), through an optional cache (`o.cache`; `o.cacheDir` is
 * not read here: see FetchCollateralOptions).
 */
export async function fetchPcsCollateral(o: FetchCollateralOptions): Promise<TdxCollateral> {
  const fmspc = o.fmspc.toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(fmspc)) throw new TdxError('TDX_COLLATERAL_FETCH', `bad FMSPC '${o.fmspc}'`);
  const now = o.now ?? new Date();
  const cache = o.cache;
  if (cache) {
    let cached: TdxCollateral | undefined;
    try {
      cached = await cache.load();
    } catch {
      cached = undefined;
    }
    if (cached && (o.offline ? cached.tcbInfos[fmspc] !== undefined : cacheFresh(cached, fmspc, now)))
      return cached;
  }
  if (o.offline)
    throw new TdxError(
      'TDX_COLLATERAL_FETCH',
      `offline: no cached collateral for FMSPC ${fmspc}${cache ? (cache.where ? ` in ${cache.where}` : ' in the cache') : ' (no cache directory)'}`,
    );
  const f: FetchFn = o.fetch ?? (globalThis.fetch as unknown as FetchFn);
  const base = o.baseUrl ?? INTEL_PCS_BASE;
  const get = async (url: string, chainHeader?: string): Promise<{ body: Uint8Array; chain?: string }> => {
    let r: Awaited<ReturnType<FetchFn>>;
    try {
      r = await f(url);
    } catch (e) {
      throw new TdxError('TDX_COLLATERAL_FETCH', `GET ${url}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!r.ok) throw new TdxError('TDX_COLLATERAL_FETCH', `GET ${url}: HTTP ${r.status}`);
    const body = new Uint8Array(await r.arrayBuffer());
    if (!chainHeader) return { body };
    const h = r.headers.get(chainHeader);
    if (!h) throw new TdxError('TDX_COLLATERAL_FETCH', `GET ${url}: header ${chainHeader} missing`);
    return { body, chain: decodeURIComponent(h) };
  };
  const tcb = await get(`${base}/tdx/certification/v4/tcb?fmspc=${fmspc}`, 'TCB-Info-Issuer-Chain');
  const qe = await get(`${base}/tdx/certification/v4/qe/identity`, 'SGX-Enclave-Identity-Issuer-Chain');
  const crl = await get(
    `${base}/sgx/certification/v4/pckcrl?ca=${o.ca}&encoding=der`,
    'SGX-PCK-CRL-Issuer-Chain',
  );
  const root = await get(`${base}/sgx/certification/v4/rootcacrl`);
  const c = emptyCollateral();
  c.sources.push(base);
  const tcbText = fromUtf8(tcb.body);
  const qeText = fromUtf8(qe.body);
  addTcbInfo(c, signedFromPcsBody<TcbInfo>(tcbText, 'tcbInfo'));
  c.qeIdentity = signedFromPcsBody<EnclaveIdentity>(qeText, 'enclaveIdentity');
  c.tcbInfoIssuerChain = pemToDerList(tcb.chain!);
  c.qeIdentityIssuerChain = pemToDerList(qe.chain!);
  c.pckCrlIssuerChain = pemToDerList(crl.chain!);
  c.pckCrls.push(crlBytes(crl.body));
  c.rootCaCrl = crlBytes(root.body);
  if (cache)
    await cache.store({
      fmspc,
      ca: o.ca,
      tcbInfoText: tcbText,
      qeIdentityText: qeText,
      tcbInfoIssuerChain: tcb.chain!,
      qeIdentityIssuerChain: qe.chain!,
      pckCrlIssuerChain: crl.chain!,
      pckCrl: c.pckCrls[0]!,
      rootCaCrl: c.rootCaCrl,
    });
  return c;
}
