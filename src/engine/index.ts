/**
 * The Wasm execution engine (usable without the server).
 * `execute(req)` uses a lazily created process-wide default Engine; `new Engine(options)` for explicit control.
 */
import { Engine, type EngineOptions } from './engine.ts';
import type { ExecuteRequest, ExecuteResult } from './types.ts';

/** The statuses are src/binding's vocabulary (re-exported: engine's public API). */
export { EXECUTION_STATUSES } from '../binding/index.ts';

export {
  Engine,
  type EngineOptions,
  type EngineStats,
  EXECUTION_MODES,
  type HostHandler,
  MODE_V8_FLAGS,
  UNLIMITED_GAS,
} from './engine.ts';
export { COST_TABLE_VERSION } from './instrument/index.ts';
export { DEFAULT_LIMITS, MAX_LIMITS, resolveLimits } from './limits.ts';
export { classifyTrapMessage } from './traps.ts';
export * from './types.ts';
export {
  bitsHex,
  checkValue,
  decodeJsonValue,
  encodeJsonValue,
  f32,
  f32Bits,
  f64,
  f64Bits,
  floatNumber,
  formatValue,
  i32,
  i64,
  isValueType,
  type JsonValue,
  parseTypedArg,
  parseValue,
  VALUE_TYPES,
  valueSize,
  valuesEqual,
} from './values.ts';

let defaultEngine: Engine | undefined;

/** The process-wide default Engine (created on first use). */
export function getDefaultEngine(options?: EngineOptions): Engine {
  defaultEngine ??= new Engine(options);
  return defaultEngine;
}

/** Run one execution on the default Engine. */
export function execute(req: ExecuteRequest): Promise<ExecuteResult> {
  return getDefaultEngine().execute(req);
}

/** Close the default Engine (its executor processes); a later execute() creates a new one. */
export async function closeDefaultEngine(): Promise<void> {
  const e = defaultEngine;
  defaultEngine = undefined;
  await e?.close();
}
