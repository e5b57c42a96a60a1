/**
 * What the Engine needs of a mode's executor (a forked executor process, or a worker pool in this
 * process), and what an executor needs of the Engine.
 */
import type { EngineOptions, EngineStats } from '../options.ts';
import type { Job, JobResult } from '../protocol.ts';
import type { ExecutionMode, Limits } from '../types.ts';

/** The Engine as its executors see it. */
export interface ExecutorHost {
  readonly options: EngineOptions;
  readonly limits: Limits;
}

/** Where a mode's executions run: a forked executor process, or a worker pool in this process. */
export interface ModeExecutor {
  readonly restarts: number;
  readonly cacheEntries: number;
  readonly cacheBytes: number;
  run(
    id: number,
    key: string,
    bytes: Uint8Array,
    job: Job,
    signal?: AbortSignal,
  ): Promise<JobResult & { cacheHit: boolean }>;
  warmup(): Promise<{ pid: number; execArgv: string[]; v8: string }>;
  info(): NonNullable<EngineStats['executors'][ExecutionMode]>;
  /** As a crash would: in-flight executions fail with ENGINE_CRASHED; false when nothing runs. */
  kill(): boolean;
  close(): Promise<void>;
}

/** The result of an execution cancelled before it ran. */
export const CANCELLED: JobResult & { cacheHit: boolean } = {
  status: 'cancelled',
  outputs: [],
  message: 'cancelled',
  durationMs: 0,
  cacheHit: false,
};
