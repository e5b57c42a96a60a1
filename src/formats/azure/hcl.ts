/**
 * The Azure paravisor's (HCL) attestation report, as the vTPM NV index 0x01400001 holds it:
 *
 *   0     HCLA header (32 B): signature 'HCLA', version u32, report_size u32, request_type u32, status u32, 12 reserved
 *   32    hardware report area (1184 B): an SEV-SNP ATTESTATION_REPORT, or a TDX TDREPORT (1024 B) + padding
 *   1216  IGVM request data (20 B): data_size u32, version u32, report_type u32 (2 SNP, 4 TDX),
 *         report_data_hash_type u32 (1 SHA-256, 2 SHA-384, 3 SHA-512), variable_data_size u32
 *   1236  runtime-claims JSON (variable_data_size bytes), then zero padding to the NV index size
 *
 * All little-endian. hash(runtime claims) is the first bytes of the hardware report's REPORT_DATA (SNP,
 * offset 0x50) or REPORTDATA (TDREPORT, offset 128): that binds the claims, and the vTPM attestation key
 * (`HCLAkPub`) in them, to the hardware.
 */
import { digest } from '../../util/digest.ts';
import type { PublicJwk } from '../../util/signature.ts';
import { bytesEqual, bytesToHex } from '../../util/text-codec.ts';
import { u32le } from '../bytes.ts';
import { AzureFormatError } from './errors.ts';

export const HCL_NV_INDEX = 0x01400001;
export const HCL_HEADER_SIZE = 32;
export const HCL_HW_REPORT_SIZE = 1184;
export const HCL_REQUEST_DATA_OFFSET = HCL_HEADER_SIZE + HCL_HW_REPORT_SIZE;
export const HCL_REQUEST_DATA_SIZE = 20;
export const HCL_CLAIMS_OFFSET = HCL_REQUEST_DATA_OFFSET + HCL_REQUEST_DATA_SIZE;
export const TDREPORT_SIZE = 1024;
/** The runtime claims are bounded by the NV index (a few KiB); refuse anything larger. */
export const HCL_MAX_CLAIMS = 64 * 1024;

export const HCL_REPORT_TYPE = { snp: 2, tdx: 4 } as const;
const HASH_TYPES: Record<number, { name: 'sha256' | 'sha384' | 'sha512'; size: number }> = {
  1: { name: 'sha256', size: 32 },
  2: { name: 'sha384', size: 48 },
  3: { name: 'sha512', size: 64 },
};

export interface HclReport {
  version: number;
  reportSize: number;
  requestType: number;
  status: number;
  /** 'sev-snp' or 'tdx', from report_type. */
  teeType: 'sev-snp' | 'tdx';
  /** The hardware report: 1184 B (SNP) or 1024 B (TDREPORT). */
  hwReport: Uint8Array;
  requestData: {
    dataSize: number;
    version: number;
    reportType: number;
    hashType: number;
    variableDataSize: number;
  };
  claimsHashAlg: 'sha256' | 'sha384' | 'sha512';
  /** The runtime-claims JSON bytes exactly as hashed. */
  runtimeClaimsBytes: Uint8Array;
  /** hash(runtimeClaimsBytes). */
  runtimeClaimsHash: Uint8Array;
  /** The REPORT_DATA / REPORTDATA of the hardware report (64 B). */
  hwReportData: Uint8Array;
}

/** Parse an HCL report. Throws AzureFormatError with a code per problem; never reads out of bounds. */
export function parseHclReport(b: Uint8Array): HclReport {
  if (b.length < HCL_CLAIMS_OFFSET)
    throw new AzureFormatError(
      'AZURE_HCL_TRUNCATED',
      `HCL report: ${b.length} bytes, shorter than header + hardware report + request data (${HCL_CLAIMS_OFFSET})`,
    );
  if (String.fromCharCode(...b.subarray(0, 4)) !== 'HCLA')
    throw new AzureFormatError(
      'AZURE_HCL_SIGNATURE',
      `HCL report: signature ${bytesToHex(b.subarray(0, 4))} is not 'HCLA'`,
    );
  const version = u32le(b, 4);
  const reportSize = u32le(b, 8);
  const requestType = u32le(b, 12);
  const status = u32le(b, 16);
  const q = HCL_REQUEST_DATA_OFFSET;
  const requestData = {
    dataSize: u32le(b, q),
    version: u32le(b, q + 4),
    reportType: u32le(b, q + 8),
    hashType: u32le(b, q + 12),
    variableDataSize: u32le(b, q + 16),
  };
  let teeType: 'sev-snp' | 'tdx';
  if (requestData.reportType === HCL_REPORT_TYPE.snp) teeType = 'sev-snp';
  else if (requestData.reportType === HCL_REPORT_TYPE.tdx) teeType = 'tdx';
  else
    throw new AzureFormatError(
      'AZURE_HCL_REPORT_TYPE',
      `HCL report: report_type ${requestData.reportType} is neither SNP (2) nor TDX (4)`,
    );
  const hash = HASH_TYPES[requestData.hashType];
  if (!hash)
    throw new AzureFormatError(
      'AZURE_HCL_HASH_TYPE',
      `HCL report: report_data_hash_type ${requestData.hashType} is not SHA-256 (1), SHA-384 (2) or SHA-512 (3)`,
    );
  const n = requestData.variableDataSize;
  if (n > HCL_MAX_CLAIMS)
    throw new AzureFormatError(
      'AZURE_HCL_TRUNCATED',
      `HCL report: runtime claims of ${n} bytes (at most ${HCL_MAX_CLAIMS})`,
    );
  if (HCL_CLAIMS_OFFSET + n > b.length)
    throw new AzureFormatError(
      'AZURE_HCL_TRUNCATED',
      `HCL report: runtime claims of ${n} bytes at offset ${HCL_CLAIMS_OFFSET}, but only ${b.length - HCL_CLAIMS_OFFSET} bytes follow`,
    );
  if (requestData.dataSize !== HCL_REQUEST_DATA_SIZE + n)
    throw new AzureFormatError(
      'AZURE_HCL_TRUNCATED',
      `HCL report: request data_size ${requestData.dataSize} is not ${HCL_REQUEST_DATA_SIZE} + variable_data_size ${n}`,
    );
  if (reportSize !== HCL_CLAIMS_OFFSET + n)
    throw new AzureFormatError(
      'AZURE_HCL_TRUNCATED',
      `HCL report: header report_size ${reportSize} is not ${HCL_CLAIMS_OFFSET} + runtime claims ${n}`,
    );
  const area = b.subarray(HCL_HEADER_SIZE, HCL_HEADER_SIZE + HCL_HW_REPORT_SIZE);
  let hwReport: Uint8Array;
  let hwReportData: Uint8Array;
  if (teeType === 'sev-snp') {
    hwReport = area.slice();
    hwReportData = hwReport.slice(0x50, 0x90);
  } else {
    hwReport = area.slice(0, TDREPORT_SIZE);
    // REPORTMACSTRUCT.REPORTTYPE.TYPE: 0x81 = TDX.
    if (hwReport[0] !== 0x81)
      throw new AzureFormatError(
        'AZURE_HCL_REPORT_TYPE',
        `HCL report: report_type 4 (TDX) but the TDREPORT type is 0x${hwReport[0]!.toString(16)} (expected 0x81)`,
      );
    hwReportData = hwReport.slice(128, 192);
  }
  const runtimeClaimsBytes = b.slice(HCL_CLAIMS_OFFSET, HCL_CLAIMS_OFFSET + n);
  return {
    version,
    reportSize,
    requestType,
    status,
    teeType,
    hwReport,
    requestData,
    claimsHashAlg: hash.name,
    runtimeClaimsBytes,
    runtimeClaimsHash: digest(hash.name, runtimeClaimsBytes),
    hwReportData,
  };
}

/** Does hash(runtime claims) equal the leading bytes of REPORT_DATA? (The rest is zero on Azure, not checked here.) */
export function hclClaimsBound(r: HclReport): boolean {
  const n = r.runtimeClaimsHash.length;
  return bytesEqual(r.hwReportData.subarray(0, n), r.runtimeClaimsHash);
}

export interface RuntimeClaims {
  /** The parsed JSON object. */
  json: Record<string, unknown>;
  /** The HCLAkPub JWK (RSA), when present. */
  akPub?: PublicJwk;
  /** The HCLEkPub JWK, when present. */
  ekPub?: PublicJwk;
  vmConfiguration?: Record<string, unknown>;
  /** `user-data` (hex text, as the paravisor writes it), when present. */
  userData?: string;
}

/** Parse the runtime-claims JSON (bytes from the HCL report). */
export function parseRuntimeClaims(bytes: Uint8Array): RuntimeClaims {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new AzureFormatError(
      'AZURE_RUNTIME_CLAIMS',
      `runtime claims: not UTF-8 JSON: ${(e as Error).message}`,
    );
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new AzureFormatError('AZURE_RUNTIME_CLAIMS', 'runtime claims: not a JSON object');
  const o = json as Record<string, unknown>;
  const out: RuntimeClaims = { json: o };
  const keys = o.keys;
  if (keys !== undefined) {
    if (!Array.isArray(keys))
      throw new AzureFormatError('AZURE_RUNTIME_CLAIMS', 'runtime claims: "keys" is not an array');
    for (const k of keys) {
      if (k === null || typeof k !== 'object') continue;
      const kid = (k as { kid?: unknown }).kid;
      if (kid === 'HCLAkPub') out.akPub = k as PublicJwk;
      if (kid === 'HCLEkPub') out.ekPub = k as PublicJwk;
    }
  }
  const vc = o['vm-configuration'];
  if (vc && typeof vc === 'object' && !Array.isArray(vc)) out.vmConfiguration = vc as Record<string, unknown>;
  if (typeof o['user-data'] === 'string') out.userData = o['user-data'];
  return out;
}

export interface TdReportFields {
  reportType: number;
  reportData: Uint8Array;
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
}

/** Fields of a TDREPORT_STRUCT (1024 B: REPORTMACSTRUCT 256, TEE_TCB_INFO 239, reserved 17, TDINFO 512). */
export function parseTdReport(b: Uint8Array): TdReportFields {
  if (b.length !== TDREPORT_SIZE)
    throw new AzureFormatError(
      'AZURE_HCL_TRUNCATED',
      `TDREPORT: ${b.length} bytes (expected ${TDREPORT_SIZE})`,
    );
  const s = (o: number, n: number) => b.slice(o, o + n);
  const tcb = 256;
  const td = 512;
  return {
    reportType: b[0]!,
    reportData: s(128, 64),
    teeTcbSvn: s(tcb + 8, 16),
    mrSeam: s(tcb + 24, 48),
    mrSignerSeam: s(tcb + 72, 48),
    seamAttributes: s(tcb + 120, 8),
    tdAttributes: s(td, 8),
    xfam: s(td + 8, 8),
    mrTd: s(td + 16, 48),
    mrConfigId: s(td + 64, 48),
    mrOwner: s(td + 112, 48),
    mrOwnerConfig: s(td + 160, 48),
    rtmr: [s(td + 208, 48), s(td + 256, 48), s(td + 304, 48), s(td + 352, 48)],
  };
}
