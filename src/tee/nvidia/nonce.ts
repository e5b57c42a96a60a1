/**
 * Composite-attestation GPU nonce. The one definition lives with the verifier (which recomputes it
 * from a verified CPU report); the provider side uses the same function.
 */
export { GPU_NONCE_DOMAIN, gpuNonceFor } from '../../verify/index.ts';
