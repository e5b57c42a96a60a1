/**
 * The engine's public types: typed Wasm values, execution requests and results, trap codes.
 * These are the contract between the engine and every other room (binding, server, host, CLI).
 */

// The vocabulary (values, value types, modes, statuses, EXECUTION_STATUSES) is src/binding's; the
// engine uses its types as they are (type-only: the engine's workers never load src/binding).
import type {
  ExecutionMode,
  ExecutionStatus,
  GpuComputeUsage,
  GuestAttestations,
  ValueType,
  WasmValue,
} from '../binding/index.ts';

export type { ExecutionMode, ExecutionStatus, ValueType, WasmValue };

/** Arguments: typed values, or the legacy string form parsed by the export's parameter types. */
export type Args = readonly WasmValue[] | { readonly legacy: readonly string[] };

export interface Limits {
  /** Maximum bytecode size in bytes. */
  maxBytecodeBytes: number;
  /** Maximum linear memory in 64 KiB pages (declared minimum above it → rejected; growth capped). */
  maxMemoryPages: number;
  /** Wall-clock deadline of one execution, ms (the worker is terminated past it). */
  timeoutMs: number;
  /** Maximum table elements. */
  maxTableElements: number;
  /** Maximum number of arguments and of results. */
  maxArgs: number;
  maxResults: number;
  /** Maximum size of outputs (results + captured stdout/stderr), bytes. */
  maxOutputBytes: number;
  /** Maximum call-stack height, in stack-limiter units (see docs/metering.md). */
  maxStackHeight: number;
  // Static module limits, checked before anything is compiled (static-limits.ts, docs/engine.md):
  /** Tables (imported + defined). */
  maxTables: number;
  /** Sum of the initial elements of every table. */
  maxTotalTableElements: number;
  /** Memories (imported + defined). */
  maxMemories: number;
  /** Globals (imported + defined). */
  maxGlobals: number;
  /** Data segments, and the bytes of all of them together. */
  maxDataSegments: number;
  maxDataBytes: number;
  /** Element segments, and the items of all of them together. */
  maxElementSegments: number;
  maxElementItems: number;
  /** Functions (imported + defined). */
  maxFunctions: number;
  /** Bytes of one function body. */
  maxFunctionBodyBytes: number;
  /** Locals (parameters excluded) of one function. */
  maxLocals: number;
  /** Targets of one br_table. */
  maxBrTableTargets: number;
  /** Block / loop / if nesting depth within a function. */
  maxNestingDepth: number;
  /** Estimated compile cost of the whole module, in cost units (static-limits.ts: compileCost). */
  maxCompileCost: number;
}

export interface ExecuteRequest {
  bytecode: Uint8Array;
  fn: string;
  args: Args;
  mode?: ExecutionMode;
  /** Gas limit; undefined = unmetered (no gas instrumentation unless `meter` is true). */
  gasLimit?: bigint;
  /** Force metering (gas counted, no limit) even without gasLimit. Defaults to gasLimit !== undefined. */
  meter?: boolean;
  /** Canonicalize NaNs (deterministic mode). Defaults to true for metered executions. */
  canonicalizeNaN?: boolean;
  limits?: Partial<Limits>;
  /** Host import modules to offer the guest, by name (e.g. 'wasi_snapshot_preview1', 'wasmtime_attestation'). */
  hostModules?: readonly string[];
  /** Options passed through to host modules (WASI args/env, attestation data ...), JSON-serializable. */
  hostOptions?: Record<string, unknown>;
  /** Abort (e.g. client deadline): the execution is stopped and reported as 'cancelled'. */
  signal?: AbortSignal;
}

export interface ExecuteResult {
  status: ExecutionStatus;
  /** Results when status is 'ok' (and for 'exit' with code 0 when the entry has results: none). */
  outputs: WasmValue[];
  /** The trap's message (engine's words) when status is not 'ok'. */
  message?: string;
  /** WASI exit code when the guest called proc_exit. */
  exitCode?: number;
  /** Gas consumed (metered executions only); gas charged before a trap stays charged. */
  gasUsed?: bigint;
  /** Version of the cost table used (metered executions only). */
  costTableVersion?: string;
  /** SHA-256 of the original (uninstrumented) bytecode, hex. */
  bytecodeSha256: string;
  mode: ExecutionMode;
  /** Captured guest stdout/stderr (bounded), when host modules produced any. */
  stdout?: Uint8Array;
  stderr?: Uint8Array;
  durationMs: number;
  /** Whether the compiled module came from the compile cache. */
  cacheHit: boolean;
  /**
   * Present when the guest used WebGPU compute (host module `wasmvm_webgpu`, docs/webgpu.md): the adapter
   * as its driver reports it and what was done on it. The claim binds it (output field 18).
   */
  webgpu?: GpuComputeUsage;
  /**
   * Present when the guest called `attest_vm` / `attest_gpu` (wasmtime_attestation): one receipt per
   * call as the host answered it, in call order, at most 64 (then `truncated`; docs/host.md
   * "Receipts"). The claim binds them (output field 20), so a verifier sees what the guest's own
   * attestation gate was based on.
   */
  guestAttestations?: GuestAttestations;
}

export { EngineError, type EngineErrorCode, type StaticLimitCode } from './errors.ts';
/** What an execution did on the GPU through WebGPU: one definition, in src/binding. */
export type { GpuComputeUsage, GuestAttestations };
