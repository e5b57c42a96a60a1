/**
 * Bounds-checked access to a guest's linear memory. Every check is made against the CURRENT memory
 * size (the buffer is re-read on every access, so growth by the guest's allocator is seen), and a bad
 * pointer or length throws HostTrap: the guest is stopped with a clear message, the host is untouched.
 */
import { HostTrap } from './errors.ts';

export class GuestMemory {
  private memory: WebAssembly.Memory | undefined;

  attach(memory: WebAssembly.Memory | undefined): void {
    this.memory = memory;
  }

  get attached(): boolean {
    return this.memory !== undefined;
  }

  private buffer(what: string): ArrayBuffer {
    if (!this.memory) throw new HostTrap(`${what}: the guest exports no memory named 'memory'`);
    return this.memory.buffer as ArrayBuffer;
  }

  /** Size of linear memory in bytes, now. */
  size(): number {
    return this.memory ? this.memory.buffer.byteLength : 0;
  }

  /** Check [ptr, ptr+len) lies inside memory; ptr/len are the guest's raw i32 values (taken as u32). */
  check(ptr: number, len: number, what: string): { ptr: number; len: number } {
    const p = ptr >>> 0;
    const l = len >>> 0;
    const size = this.buffer(what).byteLength;
    if (p + l > size) {
      throw new HostTrap(`${what}: guest range [${p}, ${p}+${l}) is outside linear memory (${size} bytes)`);
    }
    return { ptr: p, len: l };
  }

  /** Check a signed length is a sane non-negative i32 (negative lengths are guest bugs). */
  checkLen(len: number, what: string, max = 0x7fffffff): number {
    if (len < 0 || len > max) throw new HostTrap(`${what}: invalid length ${len}`);
    return len;
  }

  /** A view on [ptr, ptr+len): valid until the next call into the guest (memory may grow). */
  bytes(ptr: number, len: number, what: string): Uint8Array {
    const r = this.check(ptr, len, what);
    return new Uint8Array(this.buffer(what), r.ptr, r.len);
  }

  /** A copy of [ptr, ptr+len). */
  read(ptr: number, len: number, what: string): Uint8Array {
    return this.bytes(ptr, len, what).slice();
  }

  readString(ptr: number, len: number, what: string): string {
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes(ptr, len, what));
  }

  write(ptr: number, data: Uint8Array, what: string): void {
    this.bytes(ptr, data.length, what).set(data);
  }

  private dv(ptr: number, len: number, what: string): DataView {
    const r = this.check(ptr, len, what);
    return new DataView(this.buffer(what), r.ptr, len);
  }

  u8(ptr: number, v: number, what: string): void {
    this.dv(ptr, 1, what).setUint8(0, v);
  }
  u16(ptr: number, v: number, what: string): void {
    this.dv(ptr, 2, what).setUint16(0, v, true);
  }
  u32(ptr: number, v: number, what: string): void {
    this.dv(ptr, 4, what).setUint32(0, v >>> 0, true);
  }
  u64(ptr: number, v: bigint | number, what: string): void {
    this.dv(ptr, 8, what).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
  }
  getU8(ptr: number, what: string): number {
    return this.dv(ptr, 1, what).getUint8(0);
  }
  getU16(ptr: number, what: string): number {
    return this.dv(ptr, 2, what).getUint16(0, true);
  }
  getU32(ptr: number, what: string): number {
    return this.dv(ptr, 4, what).getUint32(0, true);
  }
  getU64(ptr: number, what: string): bigint {
    return this.dv(ptr, 8, what).getBigUint64(0, true);
  }
}
