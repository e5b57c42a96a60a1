/** Messages between the Engine (parent), the executor process and its worker threads. Internal. */
import type { ExecutionStatus, ValueType, WasmValue } from './types.ts';
import type { WasmModuleObject } from './wasm-api.ts';

/** One execution as the executor and worker see it (already validated and instrumented by the Engine). */
export interface Job {
  fn: string;
  params: ValueType[];
  results: ValueType[];
  args: WasmValue[];
  /** Gas to load into `__wasmvm_gas` before the call (metered runs). */
  gas?: bigint;
  /** Export to call (no params/results) after loading the gas, before `fn`: the moved start function. */
  startExport?: string;
  hostModules: string[];
  hostOptions: Record<string, unknown>;
  /** URL of the module exporting createHostModules (default src/host/index). */
  hostModuleUrl?: string;
  maxOutputBytes: number;
  timeoutMs: number;
  /** Report the function's V8 tier (needs --allow-natives-syntax in the executor). */
  probeTier?: boolean;
}

/** What a worker returns for one job. */
export interface JobResult {
  status: ExecutionStatus;
  outputs: WasmValue[];
  message?: string;
  exitCode?: number;
  gasUsed?: bigint;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
  durationMs: number;
  tier?: { liftoff: boolean; turbofan: boolean };
}

export type ParentToExecutor =
  | { type: 'exec'; id: number; key: string; bytes?: Uint8Array; job: Job }
  | { type: 'cancel'; id: number }
  | { type: 'host-reply'; id: number; callId: number; ok: boolean; value?: unknown; error?: string }
  | { type: 'shutdown' };

export type ExecutorToParent =
  | { type: 'ready'; pid: number; execArgv: string[]; v8: string }
  | { type: 'need-bytes'; id: number }
  | {
      type: 'result';
      id: number;
      result: JobResult;
      cacheHit: boolean;
      cacheEntries: number;
      cacheBytes: number;
    }
  | { type: 'error'; id: number; code: string; message: string }
  | { type: 'host'; id: number; callId: number; method: string; params: unknown };

/**
 * One execution for a worker. `module` comes with the first execution of `key` on that worker (the worker
 * keeps it by key); `evict` names a module the worker drops. The host-call buffers are the worker's
 * `workerData` ({ctrl, data}), given once when it starts.
 */
export type ExecutorToWorker = {
  type: 'run';
  key: string;
  job: Job;
  module?: WasmModuleObject;
  evict?: string;
};

export type WorkerToExecutor =
  | { type: 'ready' }
  | { type: 'done'; result: JobResult }
  | { type: 'error'; code: string; message: string }
  | { type: 'host'; method: string; params: unknown }
  | { type: 'host-more' };

/**
 * Host-call transport over the shared buffers: ctrl is an Int32Array[4]:
 * [0] state (0 waiting, 1 ok, 2 error), [1] total payload bytes, [2] bytes in this chunk, [3] chunk offset.
 * data holds the v8.serialize()d payload (the host handler's result, or its error message), chunked when
 * larger than the buffer: the worker asks for the next chunk with 'host-more'.
 */
export const HOST_STATE_WAITING = 0;
export const HOST_STATE_OK = 1;
export const HOST_STATE_ERROR = 2;
export const HOST_DATA_BYTES = 64 * 1024;
