/**
 * Offline collateral bundles (format "wasmvm-tee/collateral-bundle/v1", docs/reference-values.md):
 * one JSON file carrying the vendor-signed items a verification needs, each with where and when it
 * was fetched and its validity, so that `verify --collateral BUNDLE` runs with no network at all.
 * Items: NVIDIA RIMs ("nvidia-rim"); AMD KDS VCEKs, ASK/ARK chains and CRLs ("amd-vek",
 * "amd-cert-chain", "amd-crl", ids are the KDS paths); Intel PCS TDX TCB Info, TD QE identity, PCK
 * and root CA CRLs ("intel-tcb-info", "intel-qe-identity", "intel-pck-crl", "intel-root-ca-crl");
 * the NRAS JWKS ("nvidia-nras-jwks"); NVIDIA OCSP responses for a GPU device chain ("nvidia-ocsp", id:
 * hex of the CertID, collateral-ocsp.ts).
 * Every item stays vendor-signed and is verified again on use — the bundle itself is not trusted:
 * validity is re-derived from the signed bytes, not from the bundle's notBefore/notAfter.
 */

import { describeOpaque, parseSpdmEvidence, type SpdmEvidence } from '../../formats/index.ts';
import { WasmvmTeeError } from '../../util/errors.ts';
import { base64ToBytes, utf8 } from '../../util/text-codec.ts';

import { COLLATERAL_BUNDLE_FORMAT } from '../defaults.ts';

export { COLLATERAL_BUNDLE_FORMAT };

export type CollateralErrorCode =
  | 'COLLATERAL_MALFORMED' // not a bundle, or an item is malformed
  | 'COLLATERAL_MISSING_ITEM' // the bundle lacks an item this evidence needs
  | 'COLLATERAL_EXPIRED' // an item is outside its validity at the verification time
  | 'COLLATERAL_SIGNATURE_INVALID' // an item's vendor signature (or its signer chain) does not verify
  | 'COLLATERAL_FETCH_FAILED'; // (collateral fetch) the vendor service did not deliver an item

export class CollateralError extends WasmvmTeeError<CollateralErrorCode> {}

export const COLLATERAL_KINDS = [
  'nvidia-rim',
  'amd-vek',
  'amd-cert-chain',
  'amd-crl',
  'intel-tcb-info',
  'intel-qe-identity',
  'intel-pck-crl',
  'intel-root-ca-crl',
  'nvidia-nras-jwks',
  'nvidia-ocsp',
] as const;
export type CollateralKind = (typeof COLLATERAL_KINDS)[number];

export interface CollateralItem {
  kind: CollateralKind;
  /**
   * Vendor id of the item: NVIDIA RIM id (NV_GPU_VBIOS_1010_0200_882_960074001A); AMD KDS path
   * (vcek/v1/Milan/<chip id>?blSPL=..., vcek/v1/Milan/cert_chain, vcek/v1/Milan/crl); Intel: the
   * FMSPC (TCB Info), 'TD_QE' (QE identity), 'platform' | 'processor' (PCK CRL), 'root' (root CA CRL);
   * 'nras' (the NRAS JWKS); nvidia-ocsp: lower-case hex of the DER OCSP CertID (collateral-ocsp.ts).
   */
  id: string;
  /** Where it was fetched from. */
  source: string;
  fetchedAt: string;
  /** Validity of the item (for a RIM: the intersection of its signing chain's validity). */
  notBefore: string;
  notAfter: string;
  /** The vendor-signed bytes: text (RIM XML, PCS JSON body, PEM), or base64 when `encoding` says so (DER). */
  body: string;
  /** 'base64' for binary items (DER certificates, CRLs, OCSP responses); absent = UTF-8 text. */
  encoding?: 'base64';
  /** The issuer chain the vendor sent beside the item (Intel PCS *-Issuer-Chain header), PEM. */
  issuerChain?: string;
}

/** The item's bytes (base64-decoded when `encoding` is 'base64'). */
export function itemBytes(item: CollateralItem): Uint8Array {
  return item.encoding === 'base64'
    ? base64ToBytes(item.body) // validated by parseCollateralBundle / written by makeItem
    : utf8(item.body);
}

export interface CollateralBundle {
  format: typeof COLLATERAL_BUNDLE_FORMAT;
  createdAt: string;
  items: CollateralItem[];
}

const ITEM_KEYS = [
  'kind',
  'id',
  'source',
  'fetchedAt',
  'notBefore',
  'notAfter',
  'body',
  'encoding',
  'issuerChain',
];

function isoOk(s: unknown): s is string {
  return typeof s === 'string' && !Number.isNaN(new Date(s).getTime());
}

/** Validate a parsed bundle (unknown keys are errors). */
export function parseCollateralBundle(j: unknown): CollateralBundle {
  const bad = (m: string): never => {
    throw new CollateralError('COLLATERAL_MALFORMED', m);
  };
  if (typeof j !== 'object' || j === null || Array.isArray(j)) bad('a bundle is a JSON object');
  const o = j as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['format', 'createdAt', 'items'].includes(k)) bad(`unknown key '${k}'`);
  if (o.format !== COLLATERAL_BUNDLE_FORMAT) bad(`format must be "${COLLATERAL_BUNDLE_FORMAT}"`);
  if (!isoOk(o.createdAt)) bad('createdAt must be an ISO-8601 time');
  if (!Array.isArray(o.items)) bad('items must be a list');
  const items = (o.items as unknown[]).map((x, i) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) bad(`items[${i}] must be an object`);
    const it = x as Record<string, unknown>;
    for (const k of Object.keys(it)) if (!ITEM_KEYS.includes(k)) bad(`items[${i}]: unknown key '${k}'`);
    if (!(COLLATERAL_KINDS as readonly unknown[]).includes(it.kind))
      bad(`items[${i}]: unknown kind ${JSON.stringify(it.kind)}`);
    for (const k of ['id', 'source', 'body'])
      if (typeof it[k] !== 'string' || it[k] === '') bad(`items[${i}].${k}`);
    if (it.encoding !== undefined && it.encoding !== 'base64') bad(`items[${i}].encoding must be "base64"`);
    if (it.encoding === 'base64' && !/^[A-Za-z0-9+/]+={0,2}$/.test(it.body as string))
      bad(`items[${i}].body is not base64`);
    if (it.issuerChain !== undefined && (typeof it.issuerChain !== 'string' || it.issuerChain === ''))
      bad(`items[${i}].issuerChain must be PEM text`);
    for (const k of ['fetchedAt', 'notBefore', 'notAfter'])
      if (!isoOk(it[k])) bad(`items[${i}].${k}: not an ISO time`);
    return it as unknown as CollateralItem;
  });
  return { format: COLLATERAL_BUNDLE_FORMAT, createdAt: o.createdAt as string, items };
}

/** The NVIDIA RIM service ids for one GPU's evidence (as nvtrust / nvattest form them). */
export function nvidiaRimIds(spdm: SpdmEvidence): { driver: string; vbios: string } {
  const o = describeOpaque(spdm.response);
  const need = (k: string) => {
    const v = o[k];
    if (typeof v !== 'string' || v === '')
      throw new CollateralError('COLLATERAL_MALFORMED', `the evidence's opaque data has no ${k}`);
    return v;
  };
  const chip = 'GH100';
  return {
    driver: `NV_GPU_DRIVER_${chip}_${need('DRIVER_VERSION')}`,
    vbios:
      `NV_GPU_VBIOS_${need('PROJECT')}_${need('PROJECT_SKU')}_${need('CHIP_SKU')}_${need('VBIOS_VERSION').replace(/\./g, '')}`.toUpperCase(),
  };
}

/**
 * Base64 (either alphabet) read leniently, as the evidence decoders always have: characters outside the
 * alphabet are skipped and decoding ends at the first '='.
 */
function lenientBase64(s: string): Uint8Array {
  return base64ToBytes(s.split('=')[0]!.replace(/[^A-Za-z0-9+/_-]/g, ''));
}

/** nvidiaRimIds for GPU evidence given as base64 (the GpuEvidence `evidence` field). */
export function nvidiaRimIdsForEvidence(evidenceB64: string): { driver: string; vbios: string } {
  let spdm: SpdmEvidence;
  try {
    spdm = parseSpdmEvidence(lenientBase64(evidenceB64));
  } catch (e) {
    throw new CollateralError(
      'COLLATERAL_MALFORMED',
      `cannot parse the GPU evidence: ${(e as Error).message}`,
    );
  }
  return nvidiaRimIds(spdm);
}

/**
 * The item with this id, valid at `at`. Throws COLLATERAL_MISSING_ITEM or COLLATERAL_EXPIRED (the
 * caller turns them into "not checked" / failing checks).
 */
export function bundleItem(
  bundle: CollateralBundle,
  kind: CollateralItem['kind'],
  id: string,
  at: Date,
): CollateralItem {
  const item = findItem(bundle, kind, id);
  if (!item) throw new CollateralError('COLLATERAL_MISSING_ITEM', `the bundle has no ${kind} '${id}'`);
  if (at < new Date(item.notBefore) || at > new Date(item.notAfter))
    throw new CollateralError(
      'COLLATERAL_EXPIRED',
      `${kind} '${id}' is valid ${item.notBefore} .. ${item.notAfter}, not at ${at.toISOString()}`,
    );
  return item;
}

/** The item of this kind and id (ids compare case-insensitively), or undefined. */
export function findItem(
  bundle: CollateralBundle,
  kind: CollateralItem['kind'],
  id: string,
): CollateralItem | undefined {
  return bundle.items.find((i) => i.kind === kind && i.id.toUpperCase() === id.toUpperCase());
}
