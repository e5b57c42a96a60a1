/**
 * Node only: TDX collateral from files: a directory bundle, a path (directory or `*.json`), the on-disk cache
 * of Intel PCS answers in the directory-bundle layout (`dirTdxCollateralCache`, `fetchCollateral` with
 * `cacheDir`), and pruning that cache (`wasmvm-tee collateral prune`). The browser build never loads this
 * module (src/verify/browser.ts); ./collateral.ts is the portable part. Importing it (the Node entry
 * src/verify/index.ts does) lets verifyTdxQuote accept a collateral path (`setCollateralPathLoader`).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addTcbInfo,
  collateralFromJson,
  crlBytes,
  type EnclaveIdentity,
  emptyCollateral,
  type FetchCollateralOptions,
  fetchPcsCollateral,
  MAX_COLLATERAL_FILE_BYTES,
  setCollateralPathLoader,
  signedFromPcsBody,
  type TcbInfo,
  type TdxCollateral,
  type TdxCollateralCache,
  topLevelRawValues,
} from './collateral.ts';
import { TdxError } from './errors.ts';
import { pemToDerList } from './layout.ts';
import { parseCrl } from './pki.ts';

/** Read a collateral file, refusing one over MAX_COLLATERAL_FILE_BYTES (TDX_COLLATERAL_SIZE) before reading it. */
function readBounded(p: string): Buffer {
  let size: number;
  try {
    size = statSync(p).size;
  } catch (e) {
    throw new TdxError('TDX_COLLATERAL', `cannot read collateral ${p}: ${(e as Error).message}`);
  }
  if (size > MAX_COLLATERAL_FILE_BYTES)
    throw new TdxError(
      'TDX_COLLATERAL_SIZE',
      `collateral file ${p} is ${size} bytes, over the ${MAX_COLLATERAL_FILE_BYTES}-byte limit`,
    );
  return readFileSync(p);
}

/** Load a directory bundle (see ./collateral.ts for the file names). */
export function collateralFromDir(dir: string): TdxCollateral {
  const c = emptyCollateral();
  c.sources.push(dir);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new TdxError('TDX_COLLATERAL', `cannot read collateral directory ${dir}: ${(e as Error).message}`);
  }
  for (const name of names) {
    const p = join(dir, name);
    if (/^tcb-info-[0-9a-fA-F]{12}\.json$/.test(name)) {
      addTcbInfo(c, signedFromPcsBody<TcbInfo>(readBounded(p).toString('utf8'), 'tcbInfo'));
    } else if (name === 'td-qe-identity.json' || name === 'qe-identity.json') {
      c.qeIdentity = signedFromPcsBody<EnclaveIdentity>(readBounded(p).toString('utf8'), 'enclaveIdentity');
    } else if (name === 'tcb-signing-chain.pem' || name === 'tcb-info-issuer-chain.pem') {
      const ch = pemToDerList(readBounded(p).toString('latin1'));
      c.tcbInfoIssuerChain = ch;
      c.qeIdentityIssuerChain ??= ch;
    } else if (name === 'qe-identity-issuer-chain.pem') {
      c.qeIdentityIssuerChain = pemToDerList(readBounded(p).toString('latin1'));
    } else if (/^pck-crl(-(platform|processor))?\.(der|crl|pem|hex)$/.test(name)) {
      c.pckCrls.push(crlBytes(new Uint8Array(readBounded(p))));
    } else if (name === 'pck-crl-issuer-chain.pem') {
      c.pckCrlIssuerChain = pemToDerList(readBounded(p).toString('latin1'));
    } else if (/^root-ca-crl\.(der|crl|pem|hex)$/.test(name)) {
      c.rootCaCrl = crlBytes(new Uint8Array(readBounded(p)));
    }
  }
  return c;
}

/** Load collateral from a path: a directory bundle or a `*.json` QuoteCollateralV3 file. */
export function loadCollateral(path: string): TdxCollateral {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    throw new TdxError('TDX_COLLATERAL', `cannot read collateral ${path}: ${(e as Error).message}`);
  }
  if (st.isDirectory()) return collateralFromDir(path);
  const text = readBounded(path).toString('utf8');
  const keys = topLevelRawValues(text);
  if (keys.has('tcbInfo')) {
    const c = emptyCollateral();
    c.sources.push(path);
    addTcbInfo(c, signedFromPcsBody<TcbInfo>(text, 'tcbInfo'));
    return c;
  }
  if (keys.has('enclaveIdentity')) {
    const c = emptyCollateral();
    c.sources.push(path);
    c.qeIdentity = signedFromPcsBody<EnclaveIdentity>(text, 'enclaveIdentity');
    return c;
  }
  return collateralFromJson(text, path);
}

setCollateralPathLoader(loadCollateral);

/**
 * The on-disk PCS cache in `dir`, in the directory-bundle layout: `load` reads it as a bundle, `store` writes
 * tcb-info-<fmspc>.json, td-qe-identity.json, the three issuer chains and the two CRLs.
 */
export function dirTdxCollateralCache(dir: string): TdxCollateralCache {
  return {
    where: dir,
    async load() {
      return collateralFromDir(dir);
    },
    async store(a) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `tcb-info-${a.fmspc}.json`), a.tcbInfoText);
      writeFileSync(join(dir, 'td-qe-identity.json'), a.qeIdentityText);
      writeFileSync(join(dir, 'tcb-signing-chain.pem'), a.tcbInfoIssuerChain);
      writeFileSync(join(dir, 'qe-identity-issuer-chain.pem'), a.qeIdentityIssuerChain);
      writeFileSync(join(dir, 'pck-crl-issuer-chain.pem'), a.pckCrlIssuerChain);
      writeFileSync(join(dir, `pck-crl-${a.ca}.der`), a.pckCrl);
      writeFileSync(join(dir, 'root-ca-crl.der'), a.rootCaCrl);
    },
  };
}

/** Collateral for one FMSPC from Intel PCS (v4 API), through the on-disk cache in `o.cacheDir` when given. */
export function fetchCollateral(o: FetchCollateralOptions): Promise<TdxCollateral> {
  return fetchPcsCollateral(o.cacheDir && !o.cache ? { ...o, cache: dirTdxCollateralCache(o.cacheDir) } : o);
}

/**
 * Delete the items of a TDX collateral cache directory (the layout fetchCollateral writes) past their
 * own nextUpdate at `now`: tcb-info-<fmspc>.json, td-qe-identity.json, pck-crl-*.der, root-ca-crl.der.
 */
export function pruneTdxCacheDir(dir: string, now: Date = new Date()): { removed: string[]; kept: number } {
  const removed: string[] = [];
  let kept = 0;
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return { removed, kept };
  }
  for (const name of names) {
    const p = join(dir, name);
    let next: Date | undefined;
    try {
      if (/^tcb-info-[0-9a-fA-F]{12}\.json$/.test(name))
        next = new Date(
          signedFromPcsBody<TcbInfo>(readBounded(p).toString('utf8'), 'tcbInfo').parsed.nextUpdate,
        );
      else if (name === 'td-qe-identity.json' || name === 'qe-identity.json')
        next = new Date(
          signedFromPcsBody<EnclaveIdentity>(readBounded(p).toString('utf8'), 'enclaveIdentity').parsed
            .nextUpdate,
        );
      else if (/^(pck-crl(-(platform|processor))?|root-ca-crl)\.(der|crl|pem|hex)$/.test(name))
        next = parseCrl(crlBytes(new Uint8Array(readBounded(p)))).nextUpdate;
      else continue;
    } catch {
      next = undefined;
    }
    if (next === undefined || Number.isNaN(next.getTime()) || next < now) {
      rmSync(p, { force: true });
      removed.push(
        `PCS ${name} (${next && !Number.isNaN(next.getTime()) ? `expired ${next.toISOString()}` : 'unreadable'})`,
      );
    } else kept++;
  }
  return { removed, kept };
}
