/**
 * The instrumentation step used by the spec runner and the fuzzers: B1's `instrument()` with gas on
 * (unlimited gas is armed by the caller), the stack limiter on and NaN canonicalization on.
 */
import type { InstrumentFn } from './suite.ts';

export interface Loaded {
  instrument: InstrumentFn;
  /** false when the metering module is not in the tree (identity transform). */
  real: boolean;
}

export async function loadInstrument(): Promise<Loaded> {
  let mod: { instrument?: (b: Uint8Array, o: object) => { bytes: Uint8Array } };
  try {
    mod = await import('../../src/engine/instrument/index.ts');
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return { instrument: (b) => b, real: false };
    throw err;
  }
  const fn = mod.instrument;
  if (typeof fn !== 'function') throw new Error('src/engine/instrument/index.ts exports no instrument()');
  return {
    instrument: (b) => fn(b, { gas: {}, stackLimit: undefined, canonicalizeNaN: true }).bytes,
    real: true,
  };
}
