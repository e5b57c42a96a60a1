/**
 * NVML confidential-computing structures, laid out as in NVIDIA's nvml.h (all fields are
 * `unsigned int` (4 bytes, little-endian on every platform NVML ships for) or byte arrays, so there
 * is no padding). The FFI passes raw buffers of these sizes and these functions decode them, which
 * keeps the layouts testable without a GPU.
 *
 *   typedef struct nvmlConfComputeSystemState_st {
 *     unsigned int environment; unsigned int ccFeature; unsigned int devToolsMode;
 *   } nvmlConfComputeSystemState_t;                                                   // 12 bytes
 *   typedef struct { unsigned int version; unsigned int environment; unsigned int ccFeature;
 *     unsigned int devToolsMode; unsigned int multiGpuMode; } nvmlSystemConfComputeSettings_v1_t; // 20
 *   #define nvmlSystemConfComputeSettings_v1 NVML_STRUCT_VERSION(SystemConfComputeSettings, 1)
 *           = sizeof(...) | (1 << 24) = 0x01000014
 *   typedef struct nvmlConfComputeGpuCertificate_st {
 *     unsigned int certChainSize; unsigned int attestationCertChainSize;
 *     unsigned char certChain[0x1000]; unsigned char attestationCertChain[0x1400];
 *   } nvmlConfComputeGpuCertificate_t;                                                // 9224 bytes
 *   typedef struct nvmlConfComputeGpuAttestationReport_st {
 *     unsigned int isCecAttestationReportPresent; unsigned int attestationReportSize;
 *     unsigned int cecAttestationReportSize; unsigned char nonce[0x20];
 *     unsigned char attestationReport[0x2000]; unsigned char cecAttestationReport[0x1000];
 *   } nvmlConfComputeGpuAttestationReport_t;                                          // 12332 bytes
 */
import { bytesToBase64 } from '../../util/text-codec.ts';
import { NvmlFormatError } from './errors.ts';

/** Confidential-computing state of the system as NVML reports it. */
export interface GpuCcSettings {
  /** NVML_CC_SYSTEM_ENVIRONMENT_*: 'unavailable' | 'sim' | 'prod' (a number when unknown). */
  environment: 'unavailable' | 'sim' | 'prod' | number;
  /** NVML_CC_SYSTEM_FEATURE_ENABLED. */
  ccFeature: boolean;
  /** NVML_CC_SYSTEM_DEVTOOLS_MODE_ON: debug/dev-tools mode (not production-safe). */
  devToolsMode: boolean;
  /** NVML_CC_SYSTEM_MULTIGPU_*: 'none' | 'protected-pcie' | 'nvle' (number when unknown); absent on old drivers. */
  multiGpuMode?: 'none' | 'protected-pcie' | 'nvle' | number;
}

export const NVML_GPU_CERT_CHAIN_SIZE = 0x1000;
export const NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE = 0x1400;
export const NVML_CC_GPU_CEC_NONCE_SIZE = 0x20;
export const NVML_CC_GPU_ATTESTATION_REPORT_SIZE = 0x2000;
export const NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE = 0x1000;

export const CC_STATE_SIZE = 12;
export const CC_SETTINGS_V1_SIZE = 20;
export const CC_SETTINGS_V1_VERSION = (CC_SETTINGS_V1_SIZE | (1 << 24)) >>> 0; // 0x01000014
export const GPU_CERTIFICATE_SIZE = 8 + NVML_GPU_CERT_CHAIN_SIZE + NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE; // 9224
export const GPU_ATTESTATION_REPORT_SIZE =
  12 +
  NVML_CC_GPU_CEC_NONCE_SIZE +
  NVML_CC_GPU_ATTESTATION_REPORT_SIZE +
  NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE; // 12332

/** Offsets inside nvmlConfComputeGpuAttestationReport_t. */
export const REPORT_OFFSETS = {
  isCecAttestationReportPresent: 0,
  attestationReportSize: 4,
  cecAttestationReportSize: 8,
  nonce: 12,
  attestationReport: 12 + NVML_CC_GPU_CEC_NONCE_SIZE, // 44
  cecAttestationReport: 12 + NVML_CC_GPU_CEC_NONCE_SIZE + NVML_CC_GPU_ATTESTATION_REPORT_SIZE, // 8236
} as const;

/** Offsets inside nvmlConfComputeGpuCertificate_t. */
export const CERT_OFFSETS = {
  certChainSize: 0,
  attestationCertChainSize: 4,
  certChain: 8,
  attestationCertChain: 8 + NVML_GPU_CERT_CHAIN_SIZE, // 4104
} as const;

/** NVML_DEVICE_ARCH_* → NRAS arch name. */
export const NVML_ARCH: Record<number, string> = {
  2: 'KEPLER',
  3: 'MAXWELL',
  4: 'PASCAL',
  5: 'VOLTA',
  6: 'TURING',
  7: 'AMPERE',
  8: 'ADA',
  9: 'HOPPER',
  10: 'BLACKWELL',
};

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function need(buf: Uint8Array, size: number, what: string): void {
  if (buf.length < size)
    throw new NvmlFormatError('NVIDIA_BAD_EVIDENCE', `${what}: buffer is ${buf.length} bytes, need ${size}`);
}

const ENV: Record<number, GpuCcSettings['environment']> = { 0: 'unavailable', 1: 'sim', 2: 'prod' };
const MULTI: Record<number, NonNullable<GpuCcSettings['multiGpuMode']>> = {
  0: 'none',
  1: 'protected-pcie',
  2: 'nvle',
};

export function decodeCcState(buf: Uint8Array): GpuCcSettings {
  need(buf, CC_STATE_SIZE, 'nvmlConfComputeSystemState_t');
  const v = view(buf);
  const env = v.getUint32(0, true);
  return {
    environment: ENV[env] ?? env,
    ccFeature: v.getUint32(4, true) === 1,
    devToolsMode: v.getUint32(8, true) === 1,
  };
}

/** A settings buffer ready for nvmlSystemGetConfComputeSettings (version field set). */
export function newCcSettingsBuffer(): Uint8Array {
  const buf = new Uint8Array(CC_SETTINGS_V1_SIZE);
  view(buf).setUint32(0, CC_SETTINGS_V1_VERSION, true);
  return buf;
}

export function decodeCcSettings(buf: Uint8Array): GpuCcSettings {
  need(buf, CC_SETTINGS_V1_SIZE, 'nvmlSystemConfComputeSettings_v1_t');
  const v = view(buf);
  const env = v.getUint32(4, true);
  const multi = v.getUint32(16, true);
  return {
    environment: ENV[env] ?? env,
    ccFeature: v.getUint32(8, true) === 1,
    devToolsMode: v.getUint32(12, true) === 1,
    multiGpuMode: MULTI[multi] ?? multi,
  };
}

/** An attestation-report buffer with the 32-byte nonce in place (input of the NVML call). */
export function newAttestationReportBuffer(nonce: Uint8Array): Uint8Array {
  if (nonce.length !== NVML_CC_GPU_CEC_NONCE_SIZE)
    throw new NvmlFormatError('NVIDIA_BAD_NONCE', `GPU nonce must be 32 bytes, got ${nonce.length}`);
  const buf = new Uint8Array(GPU_ATTESTATION_REPORT_SIZE);
  buf.set(nonce, REPORT_OFFSETS.nonce);
  return buf;
}

export interface DecodedAttestationReport {
  nonce: Uint8Array;
  /** SPDM GET_MEASUREMENTS request ‖ response. */
  attestationReport: Uint8Array;
  cecAttestationReport?: Uint8Array;
}

export function decodeAttestationReport(buf: Uint8Array): DecodedAttestationReport {
  need(buf, GPU_ATTESTATION_REPORT_SIZE, 'nvmlConfComputeGpuAttestationReport_t');
  const v = view(buf);
  const present = v.getUint32(REPORT_OFFSETS.isCecAttestationReportPresent, true) === 1;
  const size = v.getUint32(REPORT_OFFSETS.attestationReportSize, true);
  const cecSize = v.getUint32(REPORT_OFFSETS.cecAttestationReportSize, true);
  if (size === 0 || size > NVML_CC_GPU_ATTESTATION_REPORT_SIZE)
    throw new NvmlFormatError(
      'NVIDIA_BAD_EVIDENCE',
      `attestationReportSize ${size} outside 1..${NVML_CC_GPU_ATTESTATION_REPORT_SIZE}`,
    );
  if (present && cecSize > NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE)
    throw new NvmlFormatError('NVIDIA_BAD_EVIDENCE', `cecAttestationReportSize ${cecSize} too large`);
  const out: DecodedAttestationReport = {
    nonce: buf.slice(REPORT_OFFSETS.nonce, REPORT_OFFSETS.nonce + NVML_CC_GPU_CEC_NONCE_SIZE),
    attestationReport: buf.slice(REPORT_OFFSETS.attestationReport, REPORT_OFFSETS.attestationReport + size),
  };
  if (present && cecSize > 0)
    out.cecAttestationReport = buf.slice(
      REPORT_OFFSETS.cecAttestationReport,
      REPORT_OFFSETS.cecAttestationReport + cecSize,
    );
  return out;
}

export interface DecodedGpuCertificate {
  certChain: Uint8Array;
  attestationCertChain: Uint8Array;
}

export function decodeGpuCertificate(buf: Uint8Array): DecodedGpuCertificate {
  need(buf, GPU_CERTIFICATE_SIZE, 'nvmlConfComputeGpuCertificate_t');
  const v = view(buf);
  const a = v.getUint32(CERT_OFFSETS.certChainSize, true);
  const b = v.getUint32(CERT_OFFSETS.attestationCertChainSize, true);
  if (a > NVML_GPU_CERT_CHAIN_SIZE)
    throw new NvmlFormatError('NVIDIA_BAD_EVIDENCE', `certChainSize ${a} too large`);
  if (b === 0 || b > NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE)
    throw new NvmlFormatError(
      'NVIDIA_BAD_EVIDENCE',
      `attestationCertChainSize ${b} outside 1..${NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE}`,
    );
  return {
    certChain: buf.slice(CERT_OFFSETS.certChain, CERT_OFFSETS.certChain + a),
    attestationCertChain: buf.slice(CERT_OFFSETS.attestationCertChain, CERT_OFFSETS.attestationCertChain + b),
  };
}

/** Split a concatenation of DER certificates (SEQUENCE, long-form lengths). */
export function splitDerCertificates(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < bytes.length) {
    if (bytes[p] === 0) break; // zero padding after the last certificate
    if (bytes[p] !== 0x30 || p + 2 > bytes.length)
      throw new NvmlFormatError('NVIDIA_BAD_EVIDENCE', `no DER certificate at offset ${p}`);
    let len = bytes[p + 1]!;
    let hdr = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 3 || p + 2 + n > bytes.length)
        throw new NvmlFormatError('NVIDIA_BAD_EVIDENCE', `bad DER length at ${p}`);
      len = 0;
      for (let i = 0; i < n; i++) len = (len << 8) | bytes[p + 2 + i]!;
      hdr = 2 + n;
    }
    if (p + hdr + len > bytes.length)
      throw new NvmlFormatError('NVIDIA_BAD_EVIDENCE', `truncated DER certificate at ${p}`);
    out.push(bytes.slice(p, p + hdr + len));
    p += hdr + len;
  }
  return out;
}

/**
 * NVML returns the attestation certificate chain either as PEM text or as concatenated DER
 * (driver dependent). Returns PEM text (leaf first), the form NRAS wants base64-encoded.
 */
export function certChainToPem(bytes: Uint8Array): string {
  const text = latin1(bytes);
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    return `${blocks.join('\n')}\n`;
  }
  return splitDerCertificates(bytes)
    .map((der) => {
      const b64 = bytesToBase64(der).replace(/(.{64})/g, '$1\n');
      return `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
    })
    .join('');
}

/** Text of bytes read as ISO-8859-1 (one character per byte, as Buffer's 'latin1'). */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}
