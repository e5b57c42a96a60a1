/** Default execution limits (see docs/engine.md). */

import { DEFAULT_LIMITS, MAX_LIMITS } from './defaults.ts';
import { EngineError } from './errors.ts';
import type { Limits } from './types.ts';

export { DEFAULT_LIMITS, MAX_LIMITS };

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
