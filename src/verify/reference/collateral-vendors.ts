/**
 * AMD (KDS) and Intel (PCS) items of an offline collateral bundle (docs/reference-values.md): their
 * validity, read from the SIGNED bytes (never from the bundle's own notBefore/notAfter), their vendor
 * signatures, and the verifier inputs they become (a VCEK and an ASK/ASVK CRL for verifySnpReport; a
 * TdxCollateral for verifyTdxQuote), each use recorded as a named check:
 *   pass                     the item is there, inside its validity, vendor-signed
 *   skip ("not checked")     COLLATERAL_MISSING_ITEM: the bundle lacks it (fails unless allowed)
 *   fail                     COLLATERAL_EXPIRED / COLLATERAL_SIGNATURE_INVALID / COLLATERAL_MALFORMED
 */
import * as x509 from '@peculiar/x509';
import {
  type CpuEvidence,
  checkEvidenceShape,
  evidenceFromJson as cpuEvidenceFromJson,
  type EvidenceJson,
  parseEnvelope,
} from '../../binding/index.ts';
import 'reflect-metadata';
import {
  certsFromTable,
  decodeSignerInfo,
  decodeTcb,
  parseCertTable,
  parseReport,
  reportProduct,
  type SnpProduct,
  type SnpReportFields,
} from '../../formats/index.ts';
import { base64ToBytes, bytesToHex, hexToBytes, utf8 } from '../../util/text-codec.ts';
import { attestationFromResponse } from '../execution/response.ts';
import { NRAS_PINNED_CA_SPKI_SHA256 } from '../nvidia/nras-pinned-jwks.ts';
import { checkJwkX5c } from '../nvidia/steps/nras-x5c.ts';
import { fingerprint, pinnedChains, signedBy, verifiedPinnedChains } from '../sev-snp/chain.ts';
import { kdsCrlUrl, kdsVcekUrl } from '../sev-snp/kds.ts';
import { parseVek } from '../sev-snp/steps/cert-cache.ts';
import {
  crlBytes,
  type EnclaveIdentity,
  emptyCollateral,
  latin1,
  signedFromPcsBody,
  type TcbInfo,
  type TdxCollateral,
} from '../tdx/collateral.ts';
import { parseTdxQuote, pemToDerList } from '../tdx/layout.ts';
import {
  checkChainToPinnedRoot,
  keyOf,
  parseCrl,
  parsePckExtensions,
  pinnedRoot,
  toX509,
  verifyCrlSignature,
  verifyP256Raw,
} from '../tdx/pki.ts';
import type { Check, Verdict } from '../types.ts';
import { Certificate } from '../x509.ts';
import {
  type CollateralBundle,
  CollateralError,
  type CollateralItem,
  type CollateralKind,
  findItem,
  itemBytes,
} from './collateral.ts';
import { ocspItemValidity } from './collateral-ocsp.ts';

const iso = (d: Date | string | number) => new Date(d).toISOString();

function malformed(item: Pick<CollateralItem, 'kind' | 'id'>, m: string): never {
  throw new CollateralError('COLLATERAL_MALFORMED', `${item.kind} '${item.id}': ${m}`);
}

/** PEM certificates (or one DER) → certificates. */
function certsOf(item: CollateralItem): Certificate[] {
  const b = itemBytes(item);
  try {
    if (item.encoding === 'base64') return [Certificate.parse(b)];
    return pemToDerList(latin1(b)).map((d) => Certificate.parse(d));
  } catch (e) {
    return malformed(item, `cannot parse the certificate(s): ${(e as Error).message}`);
  }
}

/**
 * The item's validity from its signed content: certificate validity (the intersection, for a chain),
 * CRL thisUpdate..nextUpdate, TCB Info / QE identity issueDate..nextUpdate, OCSP response
 * thisUpdate − 5 min..nextUpdate. Throws COLLATERAL_MALFORMED.
 */
export function itemValidity(item: CollateralItem): { notBefore: string; notAfter: string } {
  switch (item.kind) {
    case 'amd-vek':
    case 'amd-cert-chain': {
      const certs = certsOf(item);
      if (certs.length === 0) malformed(item, 'no certificate');
      return {
        notBefore: iso(Math.max(...certs.map((c) => c.notBefore.getTime()))),
        notAfter: iso(Math.min(...certs.map((c) => c.notAfter.getTime()))),
      };
    }
    case 'amd-crl':
    case 'intel-pck-crl':
    case 'intel-root-ca-crl': {
      let crl: ReturnType<typeof parseCrl>;
      try {
        crl = parseCrl(crlBytes(itemBytes(item)));
      } catch (e) {
        return malformed(item, (e as Error).message);
      }
      if (!crl.nextUpdate) malformed(item, 'the CRL has no nextUpdate');
      return { notBefore: iso(crl.thisUpdate), notAfter: iso(crl.nextUpdate!) };
    }
    case 'intel-tcb-info':
    case 'intel-qe-identity': {
      let p: { issueDate?: string; nextUpdate?: string };
      try {
        p = signedFromPcsBody<{ issueDate: string; nextUpdate: string }>(
          item.body,
          item.kind === 'intel-tcb-info' ? 'tcbInfo' : 'enclaveIdentity',
        ).parsed;
      } catch (e) {
        return malformed(item, (e as Error).message);
      }
      const a = new Date(p.issueDate ?? '');
      const z = new Date(p.nextUpdate ?? '');
      if (Number.isNaN(a.getTime()) || Number.isNaN(z.getTime())) malformed(item, 'bad issueDate/nextUpdate');
      return { notBefore: iso(a), notAfter: iso(z) };
    }
    case 'nvidia-nras-jwks': {
      // the span in which some key's signing certificate (x5c[0]) is valid
      const certs = jwksKeys(item).map((k) => jwkLeaf(item, k));
      return {
        notBefore: iso(Math.min(...certs.map((c) => c.notBefore.getTime()))),
        notAfter: iso(Math.max(...certs.map((c) => c.notAfter.getTime()))),
      };
    }
    case 'nvidia-rim':
      return { notBefore: item.notBefore, notAfter: item.notAfter };
    case 'nvidia-ocsp':
      return ocspItemValidity(item);
  }
}

function jwksKeys(item: CollateralItem): Record<string, unknown>[] {
  let j: { keys?: unknown };
  try {
    j = JSON.parse(item.body) as { keys?: unknown };
  } catch (e) {
    return malformed(item, `not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(j?.keys) || j.keys.length === 0) malformed(item, 'not a JWKS with keys');
  return j.keys as Record<string, unknown>[];
}

function jwkLeaf(item: CollateralItem, k: Record<string, unknown>): Certificate {
  const x5c = k.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0) malformed(item, `key '${String(k.kid)}' has no x5c chain`);
  try {
    return Certificate.parse(base64ToBytes(String((x5c as unknown[])[0])));
  } catch (e) {
    return malformed(item, `key '${String(k.kid)}': x5c[0] does not parse: ${(e as Error).message}`);
  }
}

/**
 * An NRAS JWKS item: every key's x5c chain verifies (x5c[0] holds the key, each certificate signed by
 * the next, a pinned NRAS CA reached), and at least one signing certificate is valid at `at`.
 * Returns the key set. Throws COLLATERAL_SIGNATURE_INVALID / COLLATERAL_EXPIRED / COLLATERAL_MALFORMED.
 */
export async function checkNrasJwks(
  item: CollateralItem,
  at: Date,
): Promise<{ keys: Record<string, unknown>[] }> {
  const keys = jwksKeys(item);
  let valid = 0;
  for (const k of keys) {
    // the chain at a time inside the key's own validity: a key's age is judged below, its signatures here
    const leaf = jwkLeaf(item, k);
    const mid = new Date((leaf.notBefore.getTime() + leaf.notAfter.getTime()) / 2);
    // awaited: the x5c check may be asynchronous (WebCrypto)
    const r = await checkJwkX5c(k, mid, [...NRAS_PINNED_CA_SPKI_SHA256]);
    if (r.outcome !== 'pass') badSig(item, `key '${String(k.kid)}': ${r.detail}`);
    if (leaf.validAt(at)) valid++;
  }
  if (valid === 0)
    throw new CollateralError(
      'COLLATERAL_EXPIRED',
      `${item.kind} '${item.id}': no key's signing certificate is valid at ${at.toISOString()}`,
    );
  return { keys };
}

/**
 * The item of this kind and id, inside its (signed) validity at `at`. Throws COLLATERAL_MISSING_ITEM,
 * COLLATERAL_EXPIRED or COLLATERAL_MALFORMED.
 */
export function validItem(
  bundle: CollateralBundle,
  kind: CollateralKind,
  id: string,
  at: Date,
): CollateralItem {
  const item = findItem(bundle, kind, id);
  if (!item) throw new CollateralError('COLLATERAL_MISSING_ITEM', `the bundle has no ${kind} '${id}'`);
  const v = itemValidity(item);
  if (at < new Date(v.notBefore) || at > new Date(v.notAfter))
    throw new CollateralError(
      'COLLATERAL_EXPIRED',
      `${kind} '${item.id}' is valid ${v.notBefore} .. ${v.notAfter} (from its signed content), not at ${at.toISOString()}`,
    );
  return item;
}

const badSig = (item: CollateralItem, m: string): never => {
  throw new CollateralError('COLLATERAL_SIGNATURE_INVALID', `${item.kind} '${item.id}': ${m}`);
};

/** ARKs an AMD item may be signed by: the pinned ones (and, for tests of simulated chains, trusted ones). */
function arks(product: SnpProduct | undefined, extra: readonly Certificate[]): Certificate[] {
  return [
    ...pinnedChains().filter((c) => !product || c.product === product),
    ...extra.map((a) => ({ ark: a })),
  ].map((c) => c.ark);
}

/** An AMD VCEK/VLEK item: signed by a pinned ASK/ASVK (of the product). Throws COLLATERAL_SIGNATURE_INVALID. */
export async function checkAmdVekSignature(
  item: CollateralItem,
  product: SnpProduct | undefined,
): Promise<Certificate> {
  const [vek] = certsOf(item);
  let ok = false;
  for (const c of (await verifiedPinnedChains()).filter((c) => !product || c.product === product))
    for (const i of [c.ask, c.asvk])
      if (!ok && i && vek!.issuer === i.subject && (await signedBy(vek!, i))) ok = true;
  if (!ok) badSig(item, `not signed by a pinned AMD ASK/ASVK${product ? ` of ${product}` : ''}`);
  return vek!;
}

/** An AMD cert_chain item: byte-identical to the pinned ASK/ASVK and ARK. */
export function checkAmdCertChain(item: CollateralItem): void {
  const pinned = pinnedChains().flatMap((c) =>
    [c.ark, c.ask, c.asvk].filter((x) => !!x).map((x) => fingerprint(x!)),
  );
  for (const c of certsOf(item))
    if (!pinned.includes(fingerprint(c)))
      badSig(
        item,
        `'${c.subject.replace(/\n/g, ', ')}' is not a pinned AMD certificate (sha256 ${fingerprint(c)})`,
      );
}

/** An AMD CRL item: signed by the ARK (RSA-PSS SHA-384). */
export async function checkAmdCrlSignature(
  item: CollateralItem,
  product: SnpProduct | undefined,
  trustedArks: readonly Certificate[] = [],
): Promise<void> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(Uint8Array.from(crlBytes(itemBytes(item))));
  } catch (e) {
    malformed(item, `cannot parse the CRL: ${(e as Error).message}`);
  }
  for (const ark of arks(product, trustedArks)) {
    const a = ark.parsed;
    if (crl!.issuer !== a.subject) continue;
    try {
      if (await crl!.verify({ publicKey: a })) return;
    } catch {
      // not this ARK
    }
  }
  badSig(item, `not signed by ${product ? `the ${product} ARK` : 'a pinned AMD ARK'}`);
}

/** An Intel signed JSON item (TCB Info / QE identity): issuer chain to the pinned Intel root, P-256 signature. */
export async function checkIntelSignedJson(item: CollateralItem, at: Date): Promise<void> {
  if (!item.issuerChain) badSig(item, 'no issuer chain (the PCS *-Issuer-Chain header) beside the item');
  const doc = signedFromPcsBody(item.body, item.kind === 'intel-tcb-info' ? 'tcbInfo' : 'enclaveIdentity');
  const chain = toX509(pemToDerList(item.issuerChain!));
  const cr = await checkChainToPinnedRoot(chain, at, pinnedRoot());
  if (!cr.ok) badSig(item, `issuer chain: ${cr.detail}`);
  const sig = /^[0-9a-fA-F]{128}$/.test(doc.signatureHex) ? hexToBytes(doc.signatureHex) : undefined;
  if (!sig || !(await verifyP256Raw(utf8(doc.raw), sig, keyOf(chain[0]!))))
    badSig(item, 'the signature does not verify over the raw JSON with the issuer chain leaf');
}

/** An Intel CRL item: the root CA CRL signed by the pinned root; a PCK CRL by its issuer chain's leaf. */
export async function checkIntelCrlSignature(item: CollateralItem, at: Date): Promise<void> {
  const crl = parseCrl(crlBytes(itemBytes(item)));
  let issuer = pinnedRoot();
  if (item.kind === 'intel-pck-crl') {
    if (!item.issuerChain) badSig(item, 'no issuer chain (PCK Platform/Processor CA) beside the CRL');
    const chain = toX509(pemToDerList(item.issuerChain!));
    const cr = await checkChainToPinnedRoot(chain, at, pinnedRoot());
    if (!cr.ok) badSig(item, `issuer chain: ${cr.detail}`);
    issuer = chain[0]!;
  }
  if (!(await verifyCrlSignature(crl, issuer))) badSig(item, 'the CRL signature does not verify');
}

// ------------------------------------------------------------------------------ checks

const pass = (id: string, detail: string): Check => ({ id, outcome: 'pass', detail });

/** A CollateralError as a check: a missing item is "not checked" (skip), anything else fails. */
export function collateralCheck(id: string, e: unknown): Check {
  const code = (e as CollateralError).code ?? 'COLLATERAL_MALFORMED';
  const m = (e as Error).message;
  return code === 'COLLATERAL_MISSING_ITEM'
    ? { id, outcome: 'skip', detail: `${code}: not checked: ${m}` }
    : { id, outcome: 'fail', detail: `${code}: ${m}` };
}

const describe = (i: CollateralItem) => `${i.id} (fetched ${i.fetchedAt} from ${i.source})`;

/**
 * Add the collateral checks to a verdict: it stays ok only when no collateral check failed and every
 * "not checked" one is in `allowNotChecked`. fields.collateral lists the error codes and the not-checked ids.
 */
export function withCollateralChecks(
  v: Verdict,
  checks: readonly Check[],
  allowNotChecked: readonly string[] = [],
): Verdict {
  const codes = checks
    .filter((c) => c.outcome === 'fail' || (c.outcome === 'skip' && !allowNotChecked.includes(c.id)))
    .map((c) => /^([A-Z][A-Z0-9_]+): /.exec(c.detail)?.[1])
    .filter((c): c is string => !!c);
  const notChecked = checks.filter((c) => c.outcome === 'skip').map((c) => c.id);
  const ok =
    v.ok &&
    checks.every((c) => c.outcome !== 'fail') &&
    notChecked.every((id) => allowNotChecked.includes(id));
  return {
    ...v,
    ok,
    checks: [...checks, ...v.checks],
    fields: {
      ...(v.fields ?? {}),
      collateral: { source: 'bundle', errorCodes: [...new Set(codes)], notChecked },
    },
  };
}

// ------------------------------------------------------------------------------ AMD

/** The KDS path (no host) of a URL built by kds.ts. */
const kdsPath = (url: string) => url.replace(/^\//, '');

/** KDS ids of the VCEK this report would be signed by, per candidate product line. */
export function snpVcekIds(r: SnpReportFields, product?: SnpProduct): { product: SnpProduct; id: string }[] {
  const p = product ?? reportProduct(r);
  const candidates: SnpProduct[] = p ? [p] : ['Milan', 'Genoa'];
  return candidates.map((c) => ({
    product: c,
    id: kdsPath(kdsVcekUrl(c, r.chipId, decodeTcb(r.reportedTcb, c), '')),
  }));
}

export const snpCrlId = (product: SnpProduct, key: 'vcek' | 'vlek') => kdsPath(kdsCrlUrl(product, key, ''));
export const snpCertChainId = (product: SnpProduct, key: 'vcek' | 'vlek') =>
  `${key}/v1/${product}/cert_chain`;

export interface SnpFromBundle {
  /** The VCEK from the bundle (when the evidence carries none). */
  vek?: Uint8Array;
  /** The ASK/ASVK CRL (DER) from the bundle. */
  crl?: Uint8Array;
  checks: Check[];
}

/**
 * What an SEV-SNP verification takes from a bundle: the VCEK (unless `vek` is given: the evidence's
 * own), and the CRL for the VEK's intermediate; 'collateral.amd.vek', 'collateral.amd.crl' and
 * 'collateral.amd.cert-chain' record each.
 */
export async function snpCollateralFromBundle(
  bundle: CollateralBundle,
  report: Uint8Array,
  o: {
    at: Date;
    /** The VEK the evidence carries: given, in `certs`, or in the GHCB certificate table `auxblob`. */
    vek?: Uint8Array | string;
    certs?: { vcek?: Uint8Array; vlek?: Uint8Array };
    auxblob?: Uint8Array;
    product?: SnpProduct;
    trustedArks?: readonly Certificate[];
  },
): Promise<SnpFromBundle> {
  const checks: Check[] = [];
  const out: SnpFromBundle = { checks };
  let r: SnpReportFields;
  try {
    r = parseReport(report);
  } catch {
    return out; // the verifier reports the format problem
  }
  const signer = decodeSignerInfo(r.signerInfo);
  const key: 'vcek' | 'vlek' = signer.signingKey === 'VLEK' ? 'vlek' : 'vcek';
  let product = o.product ?? reportProduct(r);
  let table: { vcek?: Uint8Array; vlek?: Uint8Array } = {};
  if (o.auxblob)
    try {
      table = certsFromTable(parseCertTable(o.auxblob));
    } catch {
      // the verifier reports the table problem
    }
  const ev = { ...table, ...(o.certs ?? {}) };
  let vekDer = o.vek ?? (key === 'vlek' ? (ev.vlek ?? ev.vcek) : (ev.vcek ?? ev.vlek));
  if (vekDer === undefined) {
    if (key === 'vlek') {
      checks.push({
        id: 'collateral.amd.vek',
        outcome: 'skip',
        detail:
          'COLLATERAL_MISSING_ITEM: not checked: a VLEK is not served by the public AMD KDS; the evidence must carry it',
      });
    } else {
      const ids = snpVcekIds(r, product);
      let err: unknown;
      for (const c of ids) {
        try {
          const item = validItem(bundle, 'amd-vek', c.id, o.at);
          await checkAmdVekSignature(item, c.product);
          vekDer = itemBytes(item);
          out.vek = vekDer;
          product ??= c.product;
          checks.push(
            pass(
              'collateral.amd.vek',
              `VCEK ${describe(item)}: valid at ${o.at.toISOString()}, signed by the pinned ${c.product} ASK`,
            ),
          );
          err = undefined;
          break;
        } catch (e) {
          // a missing item for one candidate product line: try the next; any other error stands
          if (err === undefined || (err as CollateralError).code === 'COLLATERAL_MISSING_ITEM') err = e;
        }
      }
      if (err !== undefined) checks.push(collateralCheck('collateral.amd.vek', err));
    }
  }
  if (!product && vekDer !== undefined) {
    try {
      product = parseVek(vekDer).info.product;
    } catch {
      // the verifier reports the certificate problem
    }
  }
  if (!product) {
    checks.push({
      id: 'collateral.amd.crl',
      outcome: 'skip',
      detail:
        'COLLATERAL_MISSING_ITEM: not checked: the product line (Milan/Genoa/Turin) is unknown, so is the CRL',
    });
    return out;
  }
  try {
    const item = validItem(bundle, 'amd-crl', snpCrlId(product, key), o.at);
    await checkAmdCrlSignature(item, product, o.trustedArks);
    out.crl = crlBytes(itemBytes(item));
    checks.push(
      pass(
        'collateral.amd.crl',
        `CRL ${describe(item)}: valid at ${o.at.toISOString()}, signed by the ${product} ARK`,
      ),
    );
  } catch (e) {
    checks.push(collateralCheck('collateral.amd.crl', e));
  }
  const chain = findItem(bundle, 'amd-cert-chain', snpCertChainId(product, key));
  try {
    if (chain) checkAmdCertChain(chain);
    checks.push(
      pass(
        'collateral.amd.cert-chain',
        chain
          ? `${describe(chain)}: the same certificates as the pinned AMD ${product} ${key === 'vlek' ? 'ASVK' : 'ASK'}/ARK (the pinned ones are used)`
          : `the pinned AMD ${product} ARK/${key === 'vlek' ? 'ASVK' : 'ASK'} are used (the bundle carries no copy)`,
      ),
    );
  } catch (e) {
    checks.push(collateralCheck('collateral.amd.cert-chain', e));
  }
  return out;
}

// ------------------------------------------------------------------------------ Intel

/** FMSPC (lower-case hex) and PCK CA of a quote's embedded PCK chain; undefined when it has none. */
export function tdxQuotePckInfo(
  quote: Uint8Array,
): { fmspc: string; ca: 'platform' | 'processor'; pckChainPem: string } | undefined {
  try {
    const q = parseTdxQuote(quote);
    const pem = latin1(q.qeCert?.inner.data ?? new Uint8Array());
    const ders = pemToDerList(pem);
    const fmspc = bytesToHex(parsePckExtensions(ders[0]!).fmspc);
    const ca = latin1(ders[1] ?? new Uint8Array()).includes('Processor CA') ? 'processor' : 'platform';
    return { fmspc, ca, pckChainPem: pem };
  } catch {
    return undefined;
  }
}

export const TD_QE_ID = 'TD_QE';

/**
 * The TdxCollateral a TDX quote needs, from a bundle: TCB Info for the quote's FMSPC, the TD QE
 * identity, the PCK CRL of its CA and the root CA CRL, each recorded as 'collateral.intel.*'.
 * Items that fail are left out (the verifier then fails or names what it could not check).
 */
export async function tdxCollateralFromBundle(
  bundle: CollateralBundle,
  quote: Uint8Array,
  at: Date,
): Promise<{ collateral?: TdxCollateral; checks: Check[] }> {
  const checks: Check[] = [];
  const info = tdxQuotePckInfo(quote);
  if (!info) {
    checks.push({
      id: 'collateral.intel',
      outcome: 'skip',
      detail:
        'COLLATERAL_MISSING_ITEM: not checked: the quote carries no PCK certificate chain (FMSPC unknown)',
    });
    return { checks };
  }
  const c = emptyCollateral();
  c.sources.push(`collateral bundle (created ${bundle.createdAt})`);
  const one = async (
    id: string,
    kind: CollateralKind,
    itemId: string,
    use: (i: CollateralItem) => Promise<string>,
  ) => {
    try {
      const item = validItem(bundle, kind, itemId, at);
      const detail = await use(item);
      checks.push(pass(id, `${describe(item)}: valid at ${at.toISOString()}, ${detail}`));
    } catch (e) {
      checks.push(collateralCheck(id, e));
    }
  };
  await one('collateral.intel.tcb-info', 'intel-tcb-info', info.fmspc, async (i) => {
    await checkIntelSignedJson(i, at);
    const s = signedFromPcsBody<TcbInfo>(i.body, 'tcbInfo');
    if (s.parsed.fmspc?.toLowerCase() !== info.fmspc)
      malformed(i, `its fmspc is ${s.parsed.fmspc}, not ${info.fmspc}`);
    c.tcbInfos[info.fmspc] = s;
    c.tcbInfoIssuerChain = pemToDerList(i.issuerChain!);
    return 'signed by Intel SGX TCB Signing';
  });
  await one('collateral.intel.qe-identity', 'intel-qe-identity', TD_QE_ID, async (i) => {
    await checkIntelSignedJson(i, at);
    c.qeIdentity = signedFromPcsBody<EnclaveIdentity>(i.body, 'enclaveIdentity');
    c.qeIdentityIssuerChain = pemToDerList(i.issuerChain!);
    return 'signed by Intel SGX TCB Signing';
  });
  await one('collateral.intel.pck-crl', 'intel-pck-crl', info.ca, async (i) => {
    await checkIntelCrlSignature(i, at);
    c.pckCrls.push(crlBytes(itemBytes(i)));
    c.pckCrlIssuerChain = pemToDerList(i.issuerChain!);
    return `signed by the Intel SGX PCK ${info.ca === 'platform' ? 'Platform' : 'Processor'} CA`;
  });
  await one('collateral.intel.root-ca-crl', 'intel-root-ca-crl', 'root', async (i) => {
    await checkIntelCrlSignature(i, at);
    c.rootCaCrl = crlBytes(itemBytes(i));
    return 'signed by the pinned Intel SGX Root CA';
  });
  return { collateral: c, checks };
}

// ------------------------------------------------------------------------------ evidence in our JSON

/**
 * The CPU evidence (SEV-SNP reports, TDX quotes, with the certificates that came along) and the GPU
 * evidence lists inside our JSON: a saved Execute response, an attestation envelope (per-request or
 * session-key), or 'wasmvm-tee attest --json' output. Undefined when the JSON is none of these.
 */
export function evidenceInJson(j: unknown): { cpu: CpuEvidence[]; gpu: unknown[] } | undefined {
  const o = j as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const cpu: CpuEvidence[] = [];
  const gpu: unknown[] = [];
  const addCpu = (e: unknown) => {
    if (e === undefined) return;
    checkEvidenceShape(e, 'evidence');
    cpu.push(cpuEvidenceFromJson(e as EvidenceJson));
  };
  // 'wasmvm-tee attest --json': { provider, reportData, evidence }
  if (o.evidence !== undefined && o.reportData !== undefined && o.format === undefined) {
    addCpu(o.evidence);
    return { cpu, gpu };
  }
  let att: unknown;
  try {
    att = attestationFromResponse(j);
  } catch {
    return undefined;
  }
  const env = parseEnvelope(att);
  addCpu(env.evidence);
  addCpu(env.session?.evidence);
  if (Array.isArray(env.gpu)) gpu.push(...env.gpu);
  if (Array.isArray(env.session?.gpu)) gpu.push(...env.session.gpu);
  return { cpu, gpu };
}
