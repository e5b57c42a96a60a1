/** Messages between the Engine (parent), the executor process and its worker threads. Internal. */
import type { ExecutionStatus, GpuComputeUsage, GuestAttestations, ValueType, WasmValue } from './types.ts';

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
  /** WebGPU compute the guest used (host module wasmvm_webgpu). */
  webgpu?: GpuComputeUsage;
  /**
   * The guest's attestation calls, as the host answered them (executors/receipts.ts). Added by the
   * executor in the Engine's process, where host calls are answered; never sent by a worker.
   */
  guestAttestations?: GuestAttestations;
}

export type ParentToExecutor =
  | { type: 'exec'; id: number; key: string; bytes?: Uint8Array; job: Job }
  | { type: 'cancel'; id: number }
  | { type: 'host-reply'; id: number; callId: number; ok: boolean; value?: unknown; error?: string }
  | { type: 'shutdown' }
  | { type: 'batch'; messages: ParentToExecutor[] };

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
  | { type: 'host'; id: number; callId: number; method: string; params: unknown }
  | { type: 'batch'; messages: ExecutorToParent[] };

/**
 * One execution for a worker, as a flat array (structured clone of a flat array of primitives costs a
 * fraction of the nested Job object): see RUN_* for the slots, then the arguments' raw values from
 * RUN_ARGS on (i32: number, i64: bigint, f32: bits as number, f64: bits as bigint). `module` comes with
 * the first execution of `key` on that worker (the worker keeps it by key); `evict` names a module the
 * worker drops. The host-call buffers are the worker's `workerData` ({ctrl, data}), given once.
 */
export type RunMessage = [
  key: string,
  fn: string,
  /** encodeSig(params, results) */
  sig: string,
  maxOutputBytes: number,
  gas: bigint | undefined,
  startExport: string | undefined,
  probeTier: boolean | undefined,
  host: { modules: string[]; options: Record<string, unknown>; url?: string } | undefined,
  module: WebAssembly.Module | undefined,
  evict: string | undefined,
  ...args: (number | bigint)[],
];
export type ExecutorToWorker = RunMessage;
export const RUN_ARGS = 10;

/**
 * A worker's answer, as a flat array: the JobResult's fields, then the outputs' raw values (their types
 * are the job's result types).
 */
export type DoneMessage = [
  status: ExecutionStatus,
  durationMs: number,
  message: string | undefined,
  exitCode: number | undefined,
  gasUsed: bigint | undefined,
  stdout: Uint8Array | undefined,
  stderr: Uint8Array | undefined,
  tier: JobResult['tier'] | undefined,
  webgpu: GpuComputeUsage | undefined,
  ...outputs: (number | bigint)[],
];
export const DONE_OUTPUTS = 9;

const TYPE_CHAR: Record<ValueType, string> = { i32: 'i', i64: 'I', f32: 'f', f64: 'F' };
const CHAR_TYPE: Record<string, ValueType> = { i: 'i32', I: 'i64', f: 'f32', F: 'f64' };

/** A signature as a short string ("ii:I" = (i32, i32) -> i64). */
export function encodeSig(params: readonly ValueType[], results: readonly ValueType[]): string {
  let s = '';
  for (const t of params) s += TYPE_CHAR[t];
  s += ':';
  for (const t of results) s += TYPE_CHAR[t];
  return s;
}

export function decodeSig(sig: string): { params: ValueType[]; results: ValueType[] } {
  const [p = '', r = ''] = sig.split(':');
  return { params: [...p].map((c) => CHAR_TYPE[c]!), results: [...r].map((c) => CHAR_TYPE[c]!) };
}

/** The raw value of a WasmValue (integer value or float bits). */
export function rawValue(v: WasmValue): number | bigint {
  return v.type === 'i32' || v.type === 'i64' ? v.value : v.bits;
}

export function fromRaw(type: ValueType, raw: number | bigint): WasmValue {
  switch (type) {
    case 'i32':
      return { type, value: raw as number };
    case 'i64':
      return { type, value: raw as bigint };
    case 'f32':
      return { type, bits: raw as number };
    case 'f64':
      return { type, bits: raw as bigint };
  }
}

/** Decode a worker's DoneMessage with the job's result types. */
export function decodeDone(m: DoneMessage, results: readonly ValueType[]): JobResult {
  const r: JobResult = { status: m[0], outputs: [], durationMs: m[1] };
  for (let i = DONE_OUTPUTS; i < m.length; i++) {
    r.outputs.push(fromRaw(results[i - DONE_OUTPUTS]!, m[i] as number | bigint));
  }
  if (m[2] !== undefined) r.message = m[2];
  if (m[3] !== undefined) r.exitCode = m[3];
  if (m[4] !== undefined) r.gasUsed = m[4];
  if (m[5] !== undefined) r.stdout = m[5];
  if (m[6] !== undefined) r.stderr = m[6];
  if (m[7] !== undefined) r.tier = m[7];
  if (m[8] !== undefined) r.webgpu = m[8];
  return r;
}

export type WorkerToExecutor =
  | DoneMessage
  | { type: 'ready' }
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
