/**
 * The instrumentation step used by the spec runner, the fuzzers and the metering bench: B1's
 * `instrument()` from src/engine/instrument. While that module is not in the tree, an identity
 * transform stands in (and `real` is false) so the harnesses themselves can be exercised.
 */
import type { InstrumentFn } from './suite.ts';

export interface InstrumentOptions {
  gas?: { costTable?: unknown } | false;
  stackLimit?: number | false;
  canonicalizeNaN?: boolean;
  maxMemoryPages?: number;
}
type RawInstrument = (bytes: Uint8Array, options: InstrumentOptions) => { bytes: Uint8Array; info?: unknown };

export interface Loaded {
  instrument: InstrumentFn;
  raw: RawInstrument;
  /** false when the metering module is not in the tree (identity transform). */
  real: boolean;
}

/** The options of the spec run: gas on, the stack limiter on (default limit), NaN canonicalization on. */
export const SPEC_OPTIONS: InstrumentOptions = { gas: {}, canonicalizeNaN: true };

export async function loadInstrument(options: InstrumentOptions = SPEC_OPTIONS): Promise<Loaded> {
  let mod: { instrument?: RawInstrument };
  try {
    mod = await import('../../src/engine/instrument/index.ts');
  } catch (err) {
    if (
      (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      process.env.REQUIRE_INSTRUMENT !== '1'
    ) {
      const raw: RawInstrument = (b) => ({ bytes: b });
      return { instrument: (b) => b, raw, real: false };
    }
    throw err;
  }
  const raw = mod.instrument;
  if (typeof raw !== 'function') throw new Error('src/engine/instrument/index.ts exports no instrument()');
  return { instrument: (b) => raw(b, options).bytes, raw, real: true };
}
