/** NVIDIA GPU verification: local (SPDM evidence) and remote (NRAS detached EAT). */

export { GPU_NONCE_DOMAIN, gpuNonceFor } from '../../binding/index.ts';
export {
  describeOpaque,
  parseSpdmEvidence,
  SpdmError,
  type SpdmEvidence,
} from '../../formats/index.ts';
export { commonName, leafFwids, parseCertChain, pinnedDeviceRoot, verifyChainToPinnedRoot } from './certs.ts';
export { NvidiaVerifyError, type NvidiaVerifyErrorCode } from './errors.ts';
export { compareHexNonce, toNonceBytes } from './hex.ts';
export {
  type FetchedJwksOptions,
  fetchedJwks,
  isJwks,
  JwksError,
  type JwksSource,
  NRAS_JWKS_URL,
  pinnedJwks,
} from './jwks.ts';
export {
  type GpuReferenceValues,
  NVIDIA_LIMITS,
  normalizeReferenceValues,
  type VerifyGpuEvidenceOptions,
  verifyGpuEvidence,
  verifyGpuEvidenceList,
} from './local.ts';
export {
  NRAS_ISSUER,
  NRAS_LIMITS,
  NrasFormatError,
  type ParsedNrasResponse,
  parseNrasResponse,
  type VerifyNrasOptions,
  verifyNrasResponse,
} from './nras.ts';
export {
  NRAS_PINNED_CA_SPKI_SHA256,
  NRAS_PINNED_JWKS,
  NRAS_PINNED_JWKS_DATE,
} from './nras-pinned-jwks.ts';
export {
  buildOcspRequest,
  checkOcspResponse,
  createOcspChecker,
  NVIDIA_OCSP_URL,
  type OcspCheckerOptions,
  type OcspTarget,
  type OcspTargetSelector,
  ocspTargets,
  rimOcspTargets,
} from './ocsp.ts';
export {
  DEFAULT_POLICY_CLAIMS_2,
  DEFAULT_POLICY_CLAIMS_3,
  defaultPolicyFor,
  evaluateRules,
  type NvidiaPolicy,
  PolicyError,
  parseNvidiaPolicy,
} from './policy.ts';
export {
  NVIDIA_DEVICE_IDENTITY_ROOT_PEM,
  NVIDIA_DEVICE_IDENTITY_ROOT_SHA256,
  NVIDIA_RIM_ROOT_PEM,
} from './roots.ts';
export {
  type AttestedJwtSigner,
  issueLocalGpuToken,
  LOCAL_GPU_TOKEN_ISSUER,
  localGpuClaims,
} from './token.ts';
