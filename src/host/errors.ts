/** Errors thrown by host functions out of a guest call; the engine maps them to result statuses. */

/** Thrown by WASI `proc_exit`: the engine reports status 'exit' with `exitCode = code`. */
export class WasiExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`guest called proc_exit(${code})`);
    this.name = 'WasiExit';
    this.code = code;
  }
}

/** A guest misuse of a host import (bad pointer, bad length, no allocator ...): status 'host_trap'. */
export class HostTrap extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostTrap';
  }
}
