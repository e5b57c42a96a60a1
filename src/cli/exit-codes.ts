/**
 * The exit status of every `wasmvm-tee` verb, in one table (README "Exit status" shows the same).
 * `run` is the exception: it exits with the guest's own status (proc_exit), 0 when _start returns,
 * and 134 when the guest traps or hits a limit (as wasmtime does); its usage errors are still 2.
 */
import type { ExecutionStatus } from '../engine/index.ts';

export const EXIT = {
  /** Done: executed ok, verified, written. */
  OK: 0,
  /** Verification failed (the evidence, claim or response was checked and rejected). */
  VERIFICATION_FAILED: 1,
  /** A bad command line, or an input that cannot be read or parsed (a bad module, a bad request). */
  USAGE: 2,
  /** The server could not be reached, or the call failed on the wire. */
  TRANSPORT: 3,
  /** The guest trapped (unreachable, out-of-bounds, divide by zero, host trap, ...). */
  TRAP: 4,
  /** The guest hit a resource limit: gas, deadline, memory or output limit. */
  RESOURCE_LIMIT: 5,
  /** An internal error (a bug, or an unexpected failure of the host). */
  INTERNAL: 70,
  /** `serve`: a second SIGTERM/SIGINT during the graceful shutdown. */
  SECOND_SIGNAL: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** `run`: the status when the guest traps or hits a limit (128 + SIGABRT, as wasmtime). */
export const RUN_TRAP_EXIT = 134;

const LIMIT_STATUSES: ReadonlySet<string> = new Set<ExecutionStatus>([
  'out_of_gas',
  'deadline_exceeded',
  'memory_limit',
  'output_limit',
]);

/** The exit status for an execution status: 0 ok, 5 a resource limit, 4 any other stop (a trap). */
export function exitForStatus(status: string): ExitCode {
  if (status === 'ok') return EXIT.OK;
  return LIMIT_STATUSES.has(status) ? EXIT.RESOURCE_LIMIT : EXIT.TRAP;
}

/** The table as the verbs' --help and the README print it. */
export const EXIT_TABLE = `Exit status (every verb):
  0    ok
  1    verification failed
  2    usage or input error
  3    transport error (server unreachable, call failed)
  4    the guest trapped
  5    the guest hit a resource limit (gas, deadline, memory, output)
  70   internal error
  130  serve: second SIGTERM/SIGINT during shutdown
  run: the guest's own exit code (0 when _start returns, 134 on a trap or limit)`;
