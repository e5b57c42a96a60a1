/**
 * Composite-attestation GPU nonce. The one definition lives in src/binding (derivations.ts); the
 * provider side and the verifier use the same function.
 */
export { GPU_NONCE_DOMAIN, gpuNonceFor } from '../../binding/index.ts';
