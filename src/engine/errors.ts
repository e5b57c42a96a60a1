/**
 * The engine's errors: `EngineError`, with a stable `code` per failure before execution (bad request,
 * module limits, engine state). Traps during execution are results, never thrown. An error that
 * crossed a worker or process boundary as `{ code, message }` is rebuilt with `EngineError.fromWire`.
 */
import { WasmvmTeeError } from '../util/errors.ts';

/** One stable code per static module limit (docs/engine.md, "Static module limits"). */
export type StaticLimitCode =
  | 'TOO_MANY_TABLES'
  | 'TABLE_ELEMENTS_LIMIT'
  | 'TOO_MANY_MEMORIES'
  | 'TOO_MANY_GLOBALS'
  | 'DATA_SEGMENT_LIMIT'
  | 'ELEMENT_SEGMENT_LIMIT'
  | 'TOO_MANY_FUNCTIONS'
  | 'FUNCTION_BODY_TOO_LARGE'
  | 'TOO_MANY_LOCALS'
  | 'BR_TABLE_LIMIT'
  | 'NESTING_LIMIT'
  | 'COMPILE_COST_LIMIT';

/**
 * Errors before execution (bad request) are thrown as EngineError with a stable code;
 * traps during execution are results, never thrown.
 */
export type EngineErrorCode =
  | 'INVALID_BYTECODE'
  | 'BYTECODE_TOO_LARGE'
  | 'UNSUPPORTED_FEATURE'
  | 'FUNCTION_NOT_FOUND'
  | 'NOT_A_FUNCTION'
  | 'INVALID_ARGUMENT'
  | 'ARITY_MISMATCH'
  | 'UNKNOWN_IMPORT'
  | 'MEMORY_LIMIT'
  | 'TABLE_LIMIT'
  | 'LIMIT_EXCEEDED'
  | 'ENGINE_UNAVAILABLE'
  | 'ENGINE_CRASHED'
  | StaticLimitCode
  /** A host call failed inside the guest (the worker's bridge; it surfaces as a trap, never thrown out). */
  | 'HOST_TRAP'
  | 'INTERNAL';

export class EngineError extends WasmvmTeeError<EngineErrorCode> {
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'EngineError';
  }

  /**
   * Rebuilds an error sent as `{ code, message }` by a worker or executor process (protocol.ts). The
   * code is passed through as sent (the other side is this engine's own code); a missing one is INTERNAL.
   */
  static fromWire(m: { code?: string; message?: string }, fallbackMessage = 'engine error'): EngineError {
    return new EngineError((m.code ?? 'INTERNAL') as EngineErrorCode, m.message ?? fallbackMessage);
  }
}
