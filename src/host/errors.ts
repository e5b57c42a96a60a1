/**
 * The host room's errors. `HostError` is the base (a `WasmvmTeeError` with a `HostErrorCode`); every
 * error class of src/host extends it. `WasiExit` and `HostTrap` are thrown by host functions out of a
 * guest call; the engine maps them to the result statuses 'exit' and 'host_trap'.
 */
import { WasmvmTeeError } from '../util/errors.ts';

export type HostErrorCode =
  /** A guest misused a host import (bad pointer, bad length, no allocator ...). */
  | 'HOST_TRAP'
  /** The guest called WASI proc_exit (the exit status is `exitCode`). */
  | 'WASI_EXIT'
  /** A WASI call fails with an errno (returned to the guest, never thrown out of the import). */
  | 'WASI_ERRNO'
  /** A host module name the host does not provide. */
  | 'UNKNOWN_IMPORT'
  /** The host policy (JSON) is invalid or cannot be read. */
  | 'INVALID_POLICY'
  /** A token issuer's configuration is invalid. */
  | 'INVALID_ISSUER_CONFIG'
  /** No WebGPU here (Dawn cannot be loaded, or no adapter). */
  | 'WEBGPU_UNAVAILABLE'
  /** A guest's WebGPU call was malformed (bad handle, wrong kind): the guest is trapped. */
  | 'WEBGPU_GUEST_MISUSE'
  /** An operator limit of WebGPU was reached (objects, handles). */
  | 'WEBGPU_LIMIT'
  /** The `data` parameter of an attestation host call is not bounded hex. */
  | 'INVALID_GUEST_DATA'
  /** A host call method the handler does not know. */
  | 'UNKNOWN_HOST_METHOD'
  /** A 'stdio' host call while live stdio passthrough is not enabled. */
  | 'STDIO_DISABLED'
  /** The GPU provider returned no evidence for the GPU asked for. */
  | 'NO_GPU_EVIDENCE'
  /** CPU evidence too short to read the fields the host policy needs. */
  | 'EVIDENCE_TOO_SHORT'
  | 'EVIDENCE_MALFORMED'
  /** A bad host argument (run --sealed-input: nonce too long; WASI stdin data not bytes) … */
  | 'HOST_INVALID_ARGUMENT'
  /** … or the sealed input does not open with the run's key, or never came before the key expired. */
  | 'HOST_SEALED_INPUT';

/** The base of every error of the host room. */
export class HostError<C extends HostErrorCode = HostErrorCode> extends WasmvmTeeError<C> {}

/** Thrown by WASI `proc_exit`: the engine reports status 'exit' with `exitCode`. */
export class WasiExit extends HostError<'WASI_EXIT'> {
  /** The guest's exit status (u32). */
  readonly exitCode: number;
  constructor(exitCode: number) {
    super('WASI_EXIT', `guest called proc_exit(${exitCode})`);
    this.exitCode = exitCode;
  }
}

/** A guest misuse of a host import (bad pointer, bad length, no allocator ...): status 'host_trap'. */
export class HostTrap extends HostError<'HOST_TRAP'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HOST_TRAP', message, options);
  }
}
