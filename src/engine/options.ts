/**
 * The Engine's options and statistics, the execution modes with their V8 flags, and the worker pool
 * options derived from them.
 */
import { availableParallelism } from 'node:os';
import type { ExecutionMode, ExecutionStatus, Limits } from './types.ts';

export const EXECUTION_MODES: readonly ExecutionMode[] = ['interp', 'singlepass', 'multipass'];

/**
 * V8 flags per mode (valid for Node 20 / V8 11.3 and Node 24 / V8 13.6; see docs/engine.md).
 * - interp: V8 defaults (lazy Liftoff + dynamic tier-up to TurboFan). Node has no Wasm interpreter.
 * - singlepass: Liftoff only (`--liftoff-only`; `--liftoff --no-wasm-tier-up` does NOT stop dynamic
 *   tier-up in V8 11.3), compiled eagerly at compile time.
 * - multipass: TurboFan only, compiled eagerly.
 */
export const MODE_V8_FLAGS: Readonly<Record<ExecutionMode, readonly string[]>> = {
  interp: [],
  singlepass: ['--liftoff-only', '--no-wasm-lazy-compilation'],
  multipass: ['--no-liftoff', '--no-wasm-lazy-compilation'],
};

/** Handles host calls from guests (runs in the process that created the Engine). */
export type HostHandler = (method: string, params: unknown) => Promise<unknown>;

export interface EngineOptions {
  /** Default limits for requests (each request may override within MAX_LIMITS). */
  limits?: Partial<Limits>;
  /** Worker threads per executor process (per mode). Default min(4, CPUs). */
  workers?: number | Partial<Record<ExecutionMode, number>>;
  /** Compile cache size per executor, bytes of bytecode (default 256 MiB). */
  compileCacheBytes?: number;
  /** Host call handler for the guests' host modules. */
  hostHandler?: HostHandler;
  /** Module exporting createHostModules (default src/host/index). For tests. */
  hostModuleUrl?: string;
  /** Extra V8 flags for every executor (e.g. --allow-natives-syntax for the tier probe in tests). */
  extraV8Flags?: readonly string[];
  /** JS heap limit of each worker, MiB (default 128). */
  workerHeapMb?: number;
  /**
   * Opt in to running the `interp` worker pool in this process (worker threads of the caller) instead of
   * a supervised executor process: one IPC hop less each way, but a V8 abort or OOM while compiling or
   * running untrusted code (e.g. in TurboFan's background tier-up) then takes the caller's process down.
   * Default false (the server never sets it). It applies only when neither this process's flags
   * (execArgv, NODE_OPTIONS) nor `extraV8Flags` touch Wasm compilation.
   */
  interpInProcess?: boolean;
  /** RSS cap of each executor process, MiB (default: workers × (worker heap + max memory + 64) + 512). */
  executorMemoryMb?: number;
  /**
   * Niceness added to executor processes, so guests yield the CPU to the caller (default 0; the server's
   * default backend uses 10). Relative to every process on the machine, not only the caller.
   */
  executorNice?: number;
  /** JS heap (--max-old-space-size) of each executor's main thread, MiB (default 512). */
  executorHeapMb?: number;
  /** Restart backoff after executor crashes: initial × 2^(crashes-1), at most max (default 50 / 5000 ms). */
  restartBackoffMs?: { initial: number; max: number };
}

export interface EngineStats {
  executions: number;
  byStatus: Partial<Record<ExecutionStatus, number>>;
  cache: { hits: number; misses: number; entries: number; bytes: number };
  executors: Partial<
    Record<
      ExecutionMode,
      {
        pid: number | undefined;
        running: boolean;
        inFlight: number;
        restarts: number;
        execArgv: string[];
        /** The mode's worker pool runs in the Engine's own process (no executor process). */
        inProcess: boolean;
      }
    >
  >;
}

/** Worker pool options of a mode (workers, compile cache, worker heap). */
export function poolOptions(mode: ExecutionMode, o: EngineOptions) {
  const w = typeof o.workers === 'number' ? o.workers : o.workers?.[mode];
  return {
    workers: Math.max(1, w || Math.min(4, availableParallelism())),
    cacheBytes: Math.max(0, o.compileCacheBytes ?? 256 * 1024 * 1024),
    heapMb: Math.max(16, o.workerHeapMb || 128),
  };
}

/** V8 flags that change how Wasm is compiled or run (also spelled with underscores). */
const WASM_FLAG = /^--(no-?)?(liftoff|wasm|turbo|jitless|experimental-wasm|max-lazy|sparkplug|maglev)/;

/** Whether this process runs with V8's default Wasm tiering (so the `interp` pool may run here). */
export function callerHasDefaultWasmFlags(): boolean {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return !args.some((a) => WASM_FLAG.test(a.replace(/_/g, '-')));
}
