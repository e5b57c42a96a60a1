/** Default execution limits (see docs/engine.md). */
import { EngineError, type Limits } from './types.ts';

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBytecodeBytes: 16 * 1024 * 1024,
  maxMemoryPages: 4096, // 256 MiB
  timeoutMs: 10_000,
  maxTableElements: 100_000,
  maxArgs: 1000,
  maxResults: 1000,
  maxOutputBytes: 1024 * 1024,
  maxStackHeight: 40_000, // = instrument's DEFAULT_STACK_LIMIT (docs/metering.md)
});

/** Hard ceilings a request cannot raise its limits above. */
export const MAX_LIMITS: Readonly<Limits> = Object.freeze({
  maxBytecodeBytes: 64 * 1024 * 1024,
  maxMemoryPages: 65_536,
  timeoutMs: 10 * 60_000,
  maxTableElements: 10_000_000,
  maxArgs: 1000,
  maxResults: 1000,
  maxOutputBytes: 64 * 1024 * 1024,
  // V8 overflowed first at ~508,000-559,000 units in Liftoff on the engine's 4 MiB worker stack
  // (docs/metering.md): a cap of 250,000 keeps a 2x margin in every tier.
  maxStackHeight: 250_000,
});

export function resolveLimits(base: Readonly<Limits>, over: Partial<Limits> | undefined): Limits {
  const out: Limits = { ...base };
  if (!over) return out;
  for (const k of Object.keys(over) as (keyof Limits)[]) {
    const v = over[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new EngineError('INVALID_ARGUMENT', `limits.${k} must be a positive integer`);
    }
    if (!(k in MAX_LIMITS)) throw new EngineError('INVALID_ARGUMENT', `unknown limit ${k}`);
    if (v > MAX_LIMITS[k])
      throw new EngineError('LIMIT_EXCEEDED', `limits.${k}=${v} is above the ceiling ${MAX_LIMITS[k]}`);
    out[k] = v;
  }
  return out;
}
