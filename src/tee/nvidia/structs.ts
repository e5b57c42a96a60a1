/**
 * NVML confidential-computing structures for the provider: the layouts live in src/formats
 * (formats/nvidia/structs.ts); this file re-exports them and turns their NvmlFormatError into the
 * provider's NvidiaError (same code, same message), which callers and tests recognise.
 */
import * as layout from '../../formats/index.ts';
import { NvmlFormatError } from '../../formats/index.ts';
import { NvidiaError } from './types.ts';

export {
  CC_SETTINGS_V1_SIZE,
  CC_SETTINGS_V1_VERSION,
  CC_STATE_SIZE,
  CERT_OFFSETS,
  type DecodedAttestationReport,
  type DecodedGpuCertificate,
  GPU_ATTESTATION_REPORT_SIZE,
  GPU_CERTIFICATE_SIZE,
  NVML_ARCH,
  NVML_CC_GPU_ATTESTATION_REPORT_SIZE,
  NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE,
  NVML_CC_GPU_CEC_NONCE_SIZE,
  NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE,
  NVML_GPU_CERT_CHAIN_SIZE,
  REPORT_OFFSETS,
} from '../../formats/index.ts';

function provider<A extends unknown[], R>(f: (...a: A) => R): (...a: A) => R {
  return (...a) => {
    try {
      return f(...a);
    } catch (e) {
      if (e instanceof NvmlFormatError) throw new NvidiaError(e.code, e.detail);
      throw e;
    }
  };
}

export const decodeCcState = provider(layout.decodeCcState);
export const newCcSettingsBuffer = provider(layout.newCcSettingsBuffer);
export const decodeCcSettings = provider(layout.decodeCcSettings);
export const newAttestationReportBuffer = provider(layout.newAttestationReportBuffer);
export const decodeAttestationReport = provider(layout.decodeAttestationReport);
export const decodeGpuCertificate = provider(layout.decodeGpuCertificate);
export const splitDerCertificates = provider(layout.splitDerCertificates);
export const certChainToPem = provider(layout.certChainToPem);
