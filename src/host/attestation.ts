/**
 * The `wasmtime_attestation` import module, guest side (runs inside the engine's worker).
 *
 * Compatible with the original guest bindings (`attest_vm() -> i32`, `attest_gpu(u32) -> i32`,
 * `verify_token(ptr, len) -> i32`, `clear_cache()`, `detect_tee() -> i32`), plus extensions
 * (`attest_vm_with_data`, `attest_gpu_with_data`, the `*_into` buffer variants, `detect_tee_code`).
 * Every call that needs the TEE goes through the synchronous HostBridge to the HostHandler in the
 * parent process. See docs/host.md for the ABI.
 */
import { HostTrap } from './errors.ts';
import type { GuestMemory } from './memory.ts';
import type { HostBridge } from './types.ts';

export const ATTESTATION_MODULE = 'wasmtime_attestation';

/** Largest guest data accepted by the *_with_data calls. */
export const MAX_GUEST_DATA = 64 * 1024;
/** Largest token accepted by verify_token (bigger → 0, invalid). */
export const MAX_TOKEN_BYTES = 64 * 1024;

/** detect_tee_code() values. */
/** tee code values (never renumbered; new kinds get new numbers): Azure vTPM kinds are 3 and 4. */
export const TEE_CODE = {
  NONE: 0,
  SEV_SNP: 1,
  TDX: 2,
  AZURE_SEV_SNP: 3,
  AZURE_TDX: 4,
  SIMULATED_FLAG: 0x100,
} as const;

export interface AttestationModuleOptions {
  /** Opaque context logged by the handler with every call (e.g. bytecode hash, request id). JSON. */
  context?: Record<string, unknown>;
}

type Exports = Record<string, unknown>;

const enc = new TextEncoder();

export class AttestationModule {
  private exports: Exports | undefined;
  /** A result computed for a *_into call whose buffer was too small, kept for the retry. */
  private pending: { key: string; bytes: Uint8Array } | undefined;

  constructor(
    private readonly mem: GuestMemory,
    private readonly bridge: HostBridge,
    private readonly options: AttestationModuleOptions = {},
  ) {}

  attach(exports: Exports): void {
    this.exports = exports;
  }

  private call(method: string, params: Record<string, unknown>): unknown {
    try {
      return this.bridge.call(method, { ...params, context: this.options.context });
    } catch (e) {
      if (e instanceof HostTrap) throw e;
      return { error: `host bridge: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /** Run an attestation method and return the result as JSON bytes (never throws for host failures). */
  private result(method: string, params: Record<string, unknown>): Uint8Array {
    const r = this.call(method, params) as Record<string, unknown> | undefined;
    let obj: Record<string, unknown>;
    if (r && typeof r === 'object' && typeof r.success === 'boolean') obj = r;
    else {
      obj = {
        success: false,
        code: 'internal',
        error: String((r as { error?: unknown } | undefined)?.error ?? 'host returned no result'),
        timestamp: Math.floor(Date.now() / 1000),
        tee_type: null,
      };
    }
    return enc.encode(JSON.stringify(obj));
  }

  /** Allocate `size` bytes in guest memory through its exported allocator; bounds-checked. */
  private allocate(size: number): number {
    const ex = this.exports ?? {};
    let ptr: unknown;
    let via: string;
    if (typeof ex.cabi_realloc === 'function') {
      via = 'cabi_realloc';
      ptr = (ex.cabi_realloc as (a: number, b: number, c: number, d: number) => number)(0, 0, 4, size);
    } else if (typeof ex.malloc === 'function') {
      via = 'malloc';
      ptr = (ex.malloc as (n: number) => number)(size);
    } else if (typeof ex.alloc === 'function') {
      via = 'alloc';
      ptr = (ex.alloc as (n: number) => number)(size);
    } else {
      throw new HostTrap(
        'wasmtime_attestation: the guest exports no allocator (cabi_realloc, malloc or alloc); ' +
          'export one or use the *_into variants',
      );
    }
    if (typeof ptr !== 'number') throw new HostTrap(`wasmtime_attestation: ${via} returned a non-i32 value`);
    const p = ptr >>> 0;
    if (p === 0)
      throw new HostTrap(`wasmtime_attestation: ${via}(${size}) returned NULL (guest out of memory)`);
    // Against the CURRENT memory size: the allocator may have grown memory.
    this.mem.check(p, size, `wasmtime_attestation: ${via}(${size}) returned pointer ${p}`);
    return p;
  }

  /** Write [u32 LE length][bytes] into freshly allocated guest memory and return the pointer. */
  private deliver(json: Uint8Array): number {
    const p = this.allocate(4 + json.length);
    this.mem.u32(p, json.length, 'wasmtime_attestation result');
    this.mem.write(p + 4, json, 'wasmtime_attestation result');
    return p | 0;
  }

  /** Buffer variant: write [len][json] at out_ptr when it fits in out_cap; always return the size needed. */
  private deliverInto(key: string, compute: () => Uint8Array, outPtr: number, outCap: number): number {
    const cap = this.mem.checkLen(outCap, 'wasmtime_attestation out_cap');
    this.mem.check(outPtr, cap, 'wasmtime_attestation out buffer');
    let bytes: Uint8Array;
    if (this.pending && this.pending.key === key) bytes = this.pending.bytes;
    else bytes = compute();
    const needed = 4 + bytes.length;
    if (needed > cap) {
      this.pending = { key, bytes };
      return needed;
    }
    this.pending = undefined;
    this.mem.u32(outPtr, bytes.length, 'wasmtime_attestation out buffer');
    this.mem.write((outPtr >>> 0) + 4, bytes, 'wasmtime_attestation out buffer');
    return needed;
  }

  private guestData(ptr: number, len: number, what: string): string {
    this.mem.checkLen(len, what, MAX_GUEST_DATA);
    return Buffer.from(this.mem.read(ptr, len, what)).toString('hex');
  }

  imports(): Record<string, (...a: number[]) => number | undefined> {
    return {
      attest_vm: () => this.deliver(this.result('attest_vm', {})),
      attest_gpu: (idx) => this.deliver(this.result('attest_gpu', { index: idx! >>> 0 })),
      attest_vm_with_data: (ptr, len) => {
        const data = this.guestData(ptr!, len!, 'attest_vm_with_data');
        return this.deliver(this.result('attest_vm', { data }));
      },
      attest_gpu_with_data: (idx, ptr, len) => {
        const data = this.guestData(ptr!, len!, 'attest_gpu_with_data');
        return this.deliver(this.result('attest_gpu', { index: idx! >>> 0, data }));
      },
      attest_vm_into: (outPtr, outCap) =>
        this.deliverInto('vm', () => this.result('attest_vm', {}), outPtr!, outCap!),
      attest_gpu_into: (idx, outPtr, outCap) =>
        this.deliverInto(
          `gpu:${idx! >>> 0}`,
          () => this.result('attest_gpu', { index: idx! >>> 0 }),
          outPtr!,
          outCap!,
        ),
      attest_vm_with_data_into: (ptr, len, outPtr, outCap) => {
        const data = this.guestData(ptr!, len!, 'attest_vm_with_data_into');
        return this.deliverInto(`vm:${data}`, () => this.result('attest_vm', { data }), outPtr!, outCap!);
      },
      verify_token: (ptr, len) => {
        this.mem.checkLen(len!, 'verify_token length');
        this.mem.check(ptr!, len!, 'verify_token token');
        if (len! > MAX_TOKEN_BYTES) return 0;
        const token = this.mem.readString(ptr!, len!, 'verify_token token');
        const r = this.call('verify_token', { token }) as { valid?: unknown } | undefined;
        return r && r.valid === true ? 1 : 0;
      },
      clear_cache: () => {
        this.pending = undefined;
        this.call('clear_cache', {});
        return undefined;
      },
      detect_tee: () => this.deliver(enc.encode(JSON.stringify(this.detect()))),
      detect_tee_code: () => {
        const d = this.detect();
        return typeof d.code === 'number' ? d.code : TEE_CODE.NONE;
      },
    };
  }

  private detect(): Record<string, unknown> {
    const r = this.call('detect_tee', {}) as Record<string, unknown> | undefined;
    if (r && typeof r === 'object' && typeof r.tee_type === 'string') return r;
    return { tee_type: 'None', supports_attestation: false, simulated: false, code: TEE_CODE.NONE };
  }
}
