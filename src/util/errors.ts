/**
 * The one error base of wasmvm-tee. Every error the library, the service, the verifier and the CLI
 * throw extends `WasmvmTeeError`, whose `code` is a stable, documented string (each room types its
 * own union, for example `EngineErrorCode`). Callers, the server among them, recognise errors by
 * `code` only, never by class name or message.
 *
 *   class EngineError extends WasmvmTeeError<EngineErrorCode> {}
 *   throw new EngineError('INVALID_BYTECODE', 'section 3 ends past the module');
 */
const WASMVM_TEE_ERROR = Symbol.for('wasmvm-tee.error');

export class WasmvmTeeError<C extends string = string> extends Error {
  /** Stable machine-readable code (UPPER_SNAKE_CASE); the message is for people. */
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // the concrete class's name (EngineError, SnpFormatError, …), also for subclasses that set none
    this.name = new.target.name;
  }
}

/** True for any error of this package (also one made by another copy of the module, e.g. a worker's). */
export function isWasmvmTeeError(e: unknown): e is WasmvmTeeError {
  return (
    e instanceof WasmvmTeeError ||
    (e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && WASMVM_TEE_ERROR in e)
  );
}

Object.defineProperty(WasmvmTeeError.prototype, WASMVM_TEE_ERROR, { value: true });
