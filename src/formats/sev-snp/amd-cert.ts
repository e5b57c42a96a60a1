/**
 * AMD VCEK/VLEK certificate extensions (AMD "Versioned Chip/Loaded Endorsement Key" specs):
 *   1.3.6.1.4.1.3704.1.1     structVersion (INTEGER)
 *   1.3.6.1.4.1.3704.1.2     productName   (IA5String, e.g. "Milan-B0", "Genoa", "Turin")
 *   1.3.6.1.4.1.3704.1.3.1   blSPL    .3.2 teeSPL   .3.3 snpSPL   .3.4-.3.7 spl4..spl7
 *   1.3.6.1.4.1.3704.1.3.8   ucodeSPL .3.9 fmcSPL (Turin)
 *   1.3.6.1.4.1.3704.1.4     hwID: raw bytes (64; 8 on Turin) or a DER OCTET STRING wrapping them
 *   1.3.6.1.4.1.3704.1.5     cspId (VLEK only; a string)
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { fromUtf8 } from '../../util/text-codec.ts';
import { content, derInteger, derString, readNode } from '../der.ts';
import { SnpFormatError } from './errors.ts';
import type { SnpProduct, TcbParts } from './report.ts';

export const AMD_OID = {
  structVersion: '1.3.6.1.4.1.3704.1.1',
  productName: '1.3.6.1.4.1.3704.1.2',
  blSPL: '1.3.6.1.4.1.3704.1.3.1',
  teeSPL: '1.3.6.1.4.1.3704.1.3.2',
  snpSPL: '1.3.6.1.4.1.3704.1.3.3',
  spl4: '1.3.6.1.4.1.3704.1.3.4',
  spl5: '1.3.6.1.4.1.3704.1.3.5',
  spl6: '1.3.6.1.4.1.3704.1.3.6',
  spl7: '1.3.6.1.4.1.3704.1.3.7',
  ucodeSPL: '1.3.6.1.4.1.3704.1.3.8',
  fmcSPL: '1.3.6.1.4.1.3704.1.3.9',
  hwID: '1.3.6.1.4.1.3704.1.4',
  cspId: '1.3.6.1.4.1.3704.1.5',
} as const;

export interface AmdCertInfo {
  structVersion?: number;
  productName?: string;
  /** The product line from productName ('Milan-B0' → 'Milan'). */
  product?: SnpProduct;
  tcb: TcbParts;
  spl4?: number;
  spl5?: number;
  spl6?: number;
  spl7?: number;
  hwId?: Uint8Array;
  /** How hwID was encoded: raw bytes, or a DER OCTET STRING. */
  hwIdEncoding?: 'raw' | 'octet-string';
  cspId?: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

export function productFromName(name: string | undefined): SnpProduct | undefined {
  if (!name) return undefined;
  const base = name.split('-')[0]!.toLowerCase();
  if (base === 'milan') return 'Milan';
  if (base === 'genoa') return 'Genoa';
  if (base === 'turin') return 'Turin';
  return undefined;
}

/** Parse a certificate (DER or PEM) with @peculiar/x509. Throws SnpFormatError('SNP_CERT_PARSE'). */
export function parseCert(data: Uint8Array | string): x509.X509Certificate {
  try {
    if (typeof data === 'string') return new x509.X509Certificate(data);
    const text = fromUtf8(data);
    if (text.includes('-----BEGIN CERTIFICATE-----')) return new x509.X509Certificate(text);
    return new x509.X509Certificate(Uint8Array.from(data));
  } catch (e) {
    throw new SnpFormatError('SNP_CERT_PARSE', `cannot parse certificate: ${(e as Error).message}`);
  }
}

/** Read the AMD extensions of a VCEK or VLEK. */
export function parseAmdCert(data: Uint8Array | string | x509.X509Certificate): AmdCertInfo {
  const cert = data instanceof x509.X509Certificate ? data : parseCert(data);
  const ext = new Map<string, Uint8Array>();
  for (const e of cert.extensions) ext.set(e.type, new Uint8Array(e.value));
  const int = (oid: string): number | undefined => {
    const v = ext.get(oid);
    if (v === undefined) return undefined;
    try {
      return derInteger(v);
    } catch (e) {
      throw new SnpFormatError('SNP_CERT_EXTENSION', `extension ${oid}: ${(e as Error).message}`);
    }
  };
  const s = (oid: string): string | undefined => {
    const v = ext.get(oid);
    if (v === undefined) return undefined;
    try {
      return derString(v);
    } catch (e) {
      throw new SnpFormatError('SNP_CERT_EXTENSION', `extension ${oid}: ${(e as Error).message}`);
    }
  };
  const productName = s(AMD_OID.productName);
  const info: AmdCertInfo = {
    tcb: {
      blSPL: int(AMD_OID.blSPL) ?? 0,
      teeSPL: int(AMD_OID.teeSPL) ?? 0,
      snpSPL: int(AMD_OID.snpSPL) ?? 0,
      ucodeSPL: int(AMD_OID.ucodeSPL) ?? 0,
    },
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
  const sv = int(AMD_OID.structVersion);
  if (sv !== undefined) info.structVersion = sv;
  if (productName !== undefined) info.productName = productName;
  const product = productFromName(productName);
  if (product) info.product = product;
  const fmc = int(AMD_OID.fmcSPL);
  if (fmc !== undefined) info.tcb.fmcSPL = fmc;
  for (const k of ['spl4', 'spl5', 'spl6', 'spl7'] as const) {
    const v = int(AMD_OID[k]);
    if (v !== undefined) info[k] = v;
  }
  const hw = ext.get(AMD_OID.hwID);
  if (hw !== undefined) {
    // An OCTET STRING wrapper is recognised only when it spans the whole value and holds 8 or 64 bytes.
    let unwrapped: Uint8Array | undefined;
    if (hw[0] === 0x04) {
      try {
        const t = readNode(hw);
        const v = content(t);
        if (t.end === hw.length && (v.length === 64 || v.length === 8)) unwrapped = v;
      } catch {
        unwrapped = undefined;
      }
    }
    info.hwId = Uint8Array.from(unwrapped ?? hw);
    info.hwIdEncoding = unwrapped ? 'octet-string' : 'raw';
  }
  const csp = ext.get(AMD_OID.cspId);
  if (csp !== undefined) {
    try {
      info.cspId = derString(csp);
    } catch {
      info.cspId = fromUtf8(csp);
    }
  }
  return info;
}
