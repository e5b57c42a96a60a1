/**
 * The instrumentation step used by the spec runner, the fuzzers and the metering bench: B1's
 * `instrument()` from src/engine/instrument (validation is the engine's job and is done in front of
 * it by the harnesses that need it).
 */
import { type InstrumentOptions, instrument as rawInstrument } from '../../src/engine/instrument/index.ts';
import type { InstrumentFn } from './suite.ts';

export type { InstrumentOptions };

export interface Loaded {
  instrument: InstrumentFn;
  /** Always true now that src/engine/instrument exists (kept for the harnesses' diagnostics). */
  real: boolean;
}

/** The options of the spec run: gas on, the stack limiter on (default limit), NaN canonicalization on. */
export const SPEC_OPTIONS: InstrumentOptions = { gas: {}, canonicalizeNaN: true };

export async function loadInstrument(options: InstrumentOptions = SPEC_OPTIONS): Promise<Loaded> {
  return { instrument: (b) => rawInstrument(b, options).bytes, real: true };
}
