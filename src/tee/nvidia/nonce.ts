/**
 * Composite-attestation GPU nonce. The one definition lives in src/formats (formats/nvidia/nonce.ts),
 * which the verifier recomputes from a verified CPU report; the provider side uses the same function.
 */
export { GPU_NONCE_DOMAIN, gpuNonceFor } from '../../formats/index.ts';
