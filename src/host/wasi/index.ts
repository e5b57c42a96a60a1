/**
 * A WASI preview1 subset of our own (node:wasi is documented by Node as unfit for untrusted code).
 *
 * Implemented: args/environ, clocks (real or virtual), random (real or seeded), stdio (bounded capture,
 * optional passthrough), files and directories under preopens (sandboxed, read-only unless asked),
 * poll_oneoff for clocks, proc_exit, sched_yield. Every other preview1 function answers ENOSYS.
 * Every pointer is bounds-checked against the current memory size; a bad one traps (HostTrap).
 *
 * The syscalls live by concern in args.ts, clock.ts, random.ts, proc.ts, fd.ts, fd-stat.ts and
 * path.ts, as functions of the instance's state (state.ts); `Wasi` assembles them.
 */
import { closeSync } from 'node:fs';
import { HostTrap, WasiExit } from '../errors.ts';
import type { GuestMemory } from '../memory.ts';
import { ARGS_CALLS } from './args.ts';
import { CLOCK_CALLS } from './clock.ts';
import { ERRNO, PREVIEW1_FUNCTIONS } from './constants.ts';
import { FD_CALLS } from './fd.ts';
import { FD_STAT_CALLS } from './fd-stat.ts';
import type { StdioForward, WasiOptions } from './options.ts';
import { PATH_CALLS } from './path.ts';
import { PROC_CALLS } from './proc.ts';
import { RANDOM_CALLS } from './random.ts';
import { errnoFromNode, WasiErrno } from './sandbox.ts';
import { type Preview1Name, type SyscallGroup, WasiState } from './state.ts';

export { ERRNO } from './constants.ts';
export type { PreopenOption, StdioForward, WasiOptions } from './options.ts';

/** Every implemented syscall, by group. */
const SYSCALLS: SyscallGroup = {
  ...ARGS_CALLS,
  ...CLOCK_CALLS,
  ...RANDOM_CALLS,
  ...PROC_CALLS,
  ...FD_CALLS,
  ...FD_STAT_CALLS,
  ...PATH_CALLS,
};

export class Wasi {
  private readonly state: WasiState;

  constructor(mem: GuestMemory, options: WasiOptions = {}, bridgeForward?: StdioForward) {
    this.state = new WasiState(mem, options, bridgeForward);
  }

  collect(): { stdout: Uint8Array; stderr: Uint8Array; droppedBytes: number } {
    const s = this.state;
    return {
      stdout: s.stdout.bytes(),
      stderr: s.stderr.bytes(),
      droppedBytes: s.stdout.dropped + s.stderr.dropped,
    };
  }

  /** Close every host file descriptor still open (called when the run ends). */
  dispose(): void {
    // stdin { data } (a sealed input's plaintext): this copy lives in the executor; wipe it.
    this.state.stdinData?.fill(0);
    const fds = this.state.fds;
    for (const [n, e] of fds) {
      if (e.kind === 'file') {
        try {
          closeSync(e.fd);
        } catch {
          // already closed
        }
        fds.delete(n);
      }
    }
  }

  // ---- the import object --------------------------------------------------------------------------

  imports(): Record<string, (...a: never[]) => unknown> {
    const impl = this.implementation();
    const out: Record<string, (...a: never[]) => unknown> = {};
    for (const name of PREVIEW1_FUNCTIONS) {
      const f = impl[name];
      out[name] = f
        ? (...a: never[]) => {
            try {
              return f(...(a as unknown[]));
            } catch (e) {
              if (e instanceof HostTrap || e instanceof WasiExit) throw e;
              if (e instanceof WasiErrno) return e.errno;
              if (e instanceof RangeError) throw new HostTrap(`wasi ${name}: ${e.message}`);
              return errnoFromNode(e);
            }
          }
        : () => ERRNO.NOSYS;
    }
    return out;
  }

  /** The implemented syscalls, bound to this instance's state. */
  private implementation(): Partial<Record<Preview1Name, (...a: unknown[]) => unknown>> {
    const s = this.state;
    const impl: Partial<Record<Preview1Name, (...a: unknown[]) => unknown>> = {};
    for (const [name, f] of Object.entries(SYSCALLS) as [
      Preview1Name,
      NonNullable<SyscallGroup[Preview1Name]>,
    ][]) {
      impl[name] = (...a: unknown[]) => f(s, ...a);
    }
    return impl;
  }
}
