/** Evidence providers and the Attester (docs/attestation-formats-sev-snp.md, docs/binding.md). */
export { Attester, type AttesterOptions, type AttestResult, type SealKeyLookup } from './attester.ts';
export {
  AZURE_AK_HANDLE,
  type AzureVtpmOptions,
  AzureVtpmProvider,
  DEFAULT_PCRS as AZURE_DEFAULT_PCRS,
  DeviceTransport as TpmDeviceTransport,
  probeAzure,
  TpmClient,
  type TpmTransport,
} from './azure/index.ts';
export {
  CLAIM_BATCH_MAX_LIMIT,
  CLAIM_BATCH_WINDOW_MAX_MS,
  CLAIM_SIGNING_MODES,
  ClaimBatcher,
  type ClaimBatchOptions,
  type ClaimSigningMode,
  DEFAULT_CLAIM_BATCH_MAX,
  DEFAULT_CLAIM_BATCH_WINDOW_MS,
} from './claim-batcher.ts';
export {
  nodeTsmFs,
  probeTsmProvider,
  readTsmReport,
  type TsmReport,
  type TsmReportOptions,
} from './configfs-tsm.ts';
export { type DetectOptions, detectTee, registerTeeDetector, type TeeDetector } from './detect.ts';
export { TeeError, type TeeErrorCode } from './errors.ts';
export {
  collectGpuEvidence,
  createSimulatedGpu,
  type GpuEvidence,
  type GpuProbe,
  gpuNonceFor,
  NvidiaError,
  probeGpus,
  type SimulatedGpu,
  type SimulatedGpuOptions,
} from './nvidia/index.ts';
export {
  CONFIGFS_TSM_ROOT,
  type ConfigfsOptions,
  ConfigfsTsmProvider,
  probeConfigfsProvider,
  type TsmFs,
} from './sev-snp/configfs.ts';
export {
  type IoctlOptions,
  packExtReportReq,
  packGuestRequest,
  packReportReq,
  SEV_GUEST_DEVICE,
  SevGuestIoctlProvider,
  SNP_GET_EXT_REPORT,
  SNP_GET_REPORT,
  unpackGuestRequest,
  unpackReportResp,
} from './sev-snp/ioctl.ts';
export {
  type AmdShapedChain,
  type AmdShapedChainOptions,
  createAmdShapedChain,
  defaultStateDir,
  loadOrCreateChain,
  measureSourceTree,
  SIMULATED_TCB,
  type SimulatedChain,
  type SimulatedOptions,
  SimulatedSevSnpProvider,
} from './simulated.ts';
export {
  probeTdx,
  TDX_CONFIGFS_ROOT,
  TdxProvider,
  type TdxProviderOptions,
  TdxTeeError,
  type TdxTsmFs,
} from './tdx/index.ts';
export type { CpuEvidence, TeeKind, TeeProvider } from './types.ts';
