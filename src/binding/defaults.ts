/**
 * The binding room's constants: the gas-limit bounds and their check, one rule at every edge (service,
 * engine, CLI, claim, verifier). Loads nothing at run time, so CLI argument checks can use it without
 * loading the binding room (docs/architecture.md: a room's `defaults.ts`).
 */

/** The gas-limit bounds: 1 ..= 2^63 - 1. */
export const GAS_LIMIT_MIN = 1n;
export const GAS_LIMIT_MAX = (1n << 63n) - 1n;

/** True when `n` is a usable gas limit (1 ..= 2^63 - 1). */
export function isGasLimit(n: bigint): boolean {
  return typeof n === 'bigint' && n >= GAS_LIMIT_MIN && n <= GAS_LIMIT_MAX;
}

/** The sealing suite names (sealed.ts SEAL_SUITES; docs/sealed-execution.md), default first. */
export const SEAL_SUITE_NAMES: readonly string[] = [
  'x25519-sha256-chacha20poly1305',
  'x25519-sha256-aes256gcm',
  'xwing-sha256-chacha20poly1305',
];
