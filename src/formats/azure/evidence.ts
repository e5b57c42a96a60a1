/**
 * Azure vTPM evidence documents, normalized: wasmvm-tee's own (`azure-vtpm/1`, made by the `azure-vtpm`
 * provider) and the JSON that confidential-containers' attester produces on Azure (`az-snp-vtpm` v0, v1,
 * v2 and `az-tdx-vtpm` v0), plus the Azure host certificate endpoint's JSON (THIM: vcekCert,
 * certificateChain, tcbm). Byte fields come as arrays of numbers, hex, base64 or base64url, as each
 * producer writes them; this module only decodes, it checks nothing (src/verify/azure does).
 */
import { base64ToBytes, hexToBytes } from '../../util/text-codec.ts';
import { decodeBase64Loose } from './base64.ts';
import { AzureFormatError } from './errors.ts';
import { parseTpmtSignature, TPM_ALG, type TpmHashName, type TpmtSignature, tpmHashAlg } from './tpm.ts';

export const AZURE_EVIDENCE_FORMAT = 'azure-vtpm/1';

/** Where a document came from (named in the verdict). */
export type AzureEvidenceSource =
  | 'wasmvm-tee'
  | 'trustee-az-snp-vtpm-v0'
  | 'trustee-az-snp-vtpm-v1'
  | 'trustee-az-snp-vtpm-v2'
  | 'trustee-az-tdx-vtpm-v0';

export interface PcrValue {
  /** TPM_ALG_ID of the bank. */
  hashAlg: number;
  index: number;
  value: Uint8Array;
}

export interface AzureEvidence {
  source: AzureEvidenceSource;
  /** The HCL report as read from NV index 0x01400001. */
  hclReport: Uint8Array;
  /** TPMS_ATTEST bytes (what the AK signed). */
  quoteMessage: Uint8Array;
  /**
   * The quote signature: a TPMT_SIGNATURE (ours), or the bare RSA signature (trustee's documents, whose
   * producers verify it as RSASSA-PKCS1-v1_5 SHA-256; recorded as such).
   */
  quoteSignature: TpmtSignature;
  /** Whether quoteSignature came as a bare RSA signature (no algorithm in the evidence). */
  signatureIsBare: boolean;
  pcrs: PcrValue[];
  /** Certificates that came with the evidence (DER): VCEK first, then ASK/ARK when present (SNP). */
  certs: Uint8Array[];
  /** The TDX quote (az-tdx-vtpm), when present. */
  tdQuote?: Uint8Array;
  /** The TEE kind the document says (ours only). */
  declaredTee?: string;
}

const MAX_FIELD = 1 << 20;

/** Bytes from an array of numbers, hex, base64 or base64url (the encodings the producers use). */
export function bytesField(v: unknown, what: string, enc: 'hex' | 'base64' | 'any' = 'any'): Uint8Array {
  if (Array.isArray(v)) {
    if (v.length > MAX_FIELD)
      throw new AzureFormatError('AZURE_EVIDENCE', `${what}: ${v.length} bytes is too large`);
    const out = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255)
        throw new AzureFormatError('AZURE_EVIDENCE', `${what}[${i}]: not a byte`);
      out[i] = x;
    }
    return out;
  }
  if (typeof v !== 'string') throw new AzureFormatError('AZURE_EVIDENCE', `${what}: missing or not bytes`);
  if (v.length > 4 * MAX_FIELD) throw new AzureFormatError('AZURE_EVIDENCE', `${what}: too large`);
  const isHex = /^([0-9a-fA-F]{2})*$/.test(v);
  if (enc === 'hex' || (enc === 'any' && isHex)) {
    if (!isHex) throw new AzureFormatError('AZURE_EVIDENCE', `${what}: not hex`);
    return hexToBytes(v);
  }
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(v))
    throw new AzureFormatError('AZURE_EVIDENCE', `${what}: not base64`);
  return base64ToBytes(v); // validated above: either alphabet, padding only at the end
}

/** DER certificates from PEM text (one or more blocks), or base64 DER of one certificate. */
export function certsField(v: unknown, what: string): Uint8Array[] {
  if (typeof v !== 'string') throw new AzureFormatError('AZURE_EVIDENCE', `${what}: not a string`);
  if (v.includes('-----BEGIN')) {
    const out: Uint8Array[] = [];
    for (const m of v.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g))
      out.push(decodeBase64Loose(m[1]!));
    if (out.length === 0)
      throw new AzureFormatError('AZURE_EVIDENCE', `${what}: no CERTIFICATE block in the PEM`);
    return out;
  }
  return [bytesField(v.replace(/\s+/g, ''), what, 'base64')];
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new AzureFormatError('AZURE_EVIDENCE', `${what}: not a JSON object`);
  return v as Record<string, unknown>;
}

/** trustee's `pcrs`: 24 SHA-256 values, PCR i at position i (arrays of bytes, or hex). */
function trusteePcrs(v: unknown, what: string): PcrValue[] {
  if (!Array.isArray(v) || v.length > 24)
    throw new AzureFormatError('AZURE_EVIDENCE', `${what}: expected an array of at most 24 PCR values`);
  return v.map((x, i) => ({ hashAlg: TPM_ALG.SHA256, index: i, value: bytesField(x, `${what}[${i}]`) }));
}

function bareRsa(sig: Uint8Array): TpmtSignature {
  return { sigAlg: 'rsassa', hashAlg: TPM_ALG.SHA256, signature: sig };
}

/** Normalize any supported evidence document (parsed JSON). */
export function parseAzureEvidence(doc: unknown): AzureEvidence {
  const d = obj(doc, 'Azure evidence');
  // wasmvm-tee's own document.
  if (d.format === AZURE_EVIDENCE_FORMAT) {
    const q = obj(d.quote, 'quote');
    const bank = typeof q.pcrBank === 'string' ? q.pcrBank : 'sha256';
    if (!['sha1', 'sha256', 'sha384', 'sha512'].includes(bank))
      throw new AzureFormatError('AZURE_EVIDENCE', `quote.pcrBank: ${bank} is not a hash`);
    const hashAlg = tpmHashAlg(bank as TpmHashName);
    const pcrsObj = obj(q.pcrs, 'quote.pcrs');
    const pcrs: PcrValue[] = [];
    for (const [k, v] of Object.entries(pcrsObj)) {
      if (!/^(\d|1\d|2[0-3])$/.test(k))
        throw new AzureFormatError('AZURE_EVIDENCE', `quote.pcrs: index ${k} is not 0..23`);
      pcrs.push({ hashAlg, index: Number(k), value: bytesField(v, `quote.pcrs.${k}`, 'hex') });
    }
    const out: AzureEvidence = {
      source: 'wasmvm-tee',
      hclReport: bytesField(d.hclReport, 'hclReport', 'base64'),
      quoteMessage: bytesField(q.message, 'quote.message', 'hex'),
      quoteSignature: parseTpmtSignature(bytesField(q.signature, 'quote.signature', 'hex')),
      signatureIsBare: false,
      pcrs,
      certs: d.certChain === undefined ? [] : certsField(d.certChain, 'certChain'),
    };
    if (d.tdQuote !== undefined) out.tdQuote = bytesField(d.tdQuote, 'tdQuote', 'base64');
    if (typeof d.tee === 'string') out.declaredTee = d.tee;
    return out;
  }
  // trustee az-snp-vtpm v0: { quote{message,signature,pcrs}, report, vcek (PEM) }.
  if (d.quote !== undefined && d.report !== undefined) {
    const q = obj(d.quote, 'quote');
    return {
      source: 'trustee-az-snp-vtpm-v0',
      hclReport: bytesField(d.report, 'report'),
      quoteMessage: bytesField(q.message, 'quote.message'),
      quoteSignature: bareRsa(bytesField(q.signature, 'quote.signature')),
      signatureIsBare: true,
      pcrs: trusteePcrs(q.pcrs, 'quote.pcrs'),
      certs: d.vcek === undefined ? [] : certsField(d.vcek, 'vcek'),
    };
  }
  // trustee az-snp-vtpm v1/v2 { version, hcl_report (base64url), tpm_quote{hex}, vcek (base64 DER) }
  // and az-tdx-vtpm v0 { tpm_quote, hcl_report, td_quote }.
  if (d.tpm_quote !== undefined && d.hcl_report !== undefined) {
    const q = obj(d.tpm_quote, 'tpm_quote');
    const base = {
      hclReport: bytesField(d.hcl_report, 'hcl_report', Array.isArray(d.hcl_report) ? 'any' : 'base64'),
      quoteMessage: bytesField(q.message, 'tpm_quote.message', Array.isArray(q.message) ? 'any' : 'hex'),
      quoteSignature: bareRsa(
        bytesField(q.signature, 'tpm_quote.signature', Array.isArray(q.signature) ? 'any' : 'hex'),
      ),
      signatureIsBare: true,
      pcrs: trusteePcrs(q.pcrs, 'tpm_quote.pcrs'),
    };
    if (d.td_quote !== undefined)
      return {
        ...base,
        source: 'trustee-az-tdx-vtpm-v0',
        certs: [],
        tdQuote: bytesField(d.td_quote, 'td_quote', Array.isArray(d.td_quote) ? 'any' : 'base64'),
      };
    const version = d.version;
    if (version !== 1 && version !== 2)
      throw new AzureFormatError(
        'AZURE_EVIDENCE',
        `az-snp-vtpm evidence: version ${String(version)} (1 or 2 expected)`,
      );
    return {
      ...base,
      source: version === 1 ? 'trustee-az-snp-vtpm-v1' : 'trustee-az-snp-vtpm-v2',
      certs: d.vcek === undefined ? [] : certsField(d.vcek, 'vcek'),
    };
  }
  throw new AzureFormatError(
    'AZURE_EVIDENCE',
    `not Azure vTPM evidence: expected format "${AZURE_EVIDENCE_FORMAT}", or trustee's az-snp-vtpm / az-tdx-vtpm JSON`,
  );
}

/** The Azure host certificate endpoint's answer (THIM, /metadata/THIM/amd/certification). */
export interface AzureHostCerts {
  /** VCEK (DER). */
  vcek: Uint8Array;
  /** ASK, ARK (DER), in the order served. */
  chain: Uint8Array[];
  /** TCB version the VCEK is for (hex, as served), when present. */
  tcbm?: string;
}

/** Parse the host certificate endpoint's JSON: { vcekCert, certificateChain, tcbm, cacheControl } (PEM fields). */
export function parseAzureHostCerts(doc: unknown): AzureHostCerts {
  const d = obj(doc, 'Azure host certificates');
  const vcek = certsField(d.vcekCert, 'vcekCert');
  if (vcek.length !== 1)
    throw new AzureFormatError('AZURE_EVIDENCE', `vcekCert: ${vcek.length} certificates (expected 1)`);
  const out: AzureHostCerts = {
    vcek: vcek[0]!,
    chain: d.certificateChain === undefined ? [] : certsField(d.certificateChain, 'certificateChain'),
  };
  if (typeof d.tcbm === 'string') out.tcbm = d.tcbm;
  return out;
}

/**
 * trustee's bincode-serialized quote (`quote.bin`): u64le length + signature, u64le length + TPMS_ATTEST,
 * u64le count + that many 32-byte SHA-256 PCR values (PCR i at position i).
 */
export function parseTrusteeQuoteBin(b: Uint8Array): {
  signature: Uint8Array;
  message: Uint8Array;
  pcrs: PcrValue[];
} {
  let p = 0;
  const u64 = (field: string): number => {
    if (p + 8 > b.length) throw new AzureFormatError('TPM_TRUNCATED', `quote.bin: truncated at ${field}`);
    const v = new DataView(b.buffer, b.byteOffset + p, 8).getBigUint64(0, true);
    p += 8;
    if (v > BigInt(MAX_FIELD))
      throw new AzureFormatError('AZURE_EVIDENCE', `quote.bin: ${field} ${v} is too large`);
    return Number(v);
  };
  const take = (n: number, field: string): Uint8Array => {
    if (p + n > b.length) throw new AzureFormatError('TPM_TRUNCATED', `quote.bin: truncated at ${field}`);
    const v = b.slice(p, p + n);
    p += n;
    return v;
  };
  const signature = take(u64('signature length'), 'signature');
  const message = take(u64('message length'), 'message');
  const count = u64('PCR count');
  if (count > 24) throw new AzureFormatError('AZURE_EVIDENCE', `quote.bin: ${count} PCRs (at most 24)`);
  const pcrs: PcrValue[] = [];
  for (let i = 0; i < count; i++)
    pcrs.push({ hashAlg: TPM_ALG.SHA256, index: i, value: take(32, `PCR ${i}`) });
  if (p !== b.length)
    throw new AzureFormatError('TPM_TRAILING', `quote.bin: ${b.length - p} bytes after the PCRs`);
  return { signature, message, pcrs };
}
