// The few WASI preview1 calls the example needs (AssemblyScript 0.28 ships no WASI layer).

@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: u32, nwritten: usize): u16;
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;
@external("wasi_snapshot_preview1", "args_sizes_get")
declare function args_sizes_get(argc: usize, bufSize: usize): u16;
@external("wasi_snapshot_preview1", "args_get")
declare function args_get(argv: usize, buf: usize): u16;

function write(fd: u32, s: string): void {
  const b = String.UTF8.encode(s);
  const iov = new ArrayBuffer(16);
  const p = changetype<usize>(iov);
  store<u32>(p, changetype<usize>(b));
  store<u32>(p, b.byteLength, 4);
  fd_write(fd, p, 1, p + 8);
}

export function println(s: string): void {
  write(1, s + '\n');
}

export function eprintln(s: string): void {
  write(2, s + '\n');
}

export function exit(code: u32): void {
  proc_exit(code);
}

export function args(): string[] {
  const sizes = new ArrayBuffer(8);
  const sp = changetype<usize>(sizes);
  args_sizes_get(sp, sp + 4);
  const argc = load<u32>(sp);
  const bufSize = load<u32>(sp, 4);
  const ptrs = new ArrayBuffer(<i32>argc * 4);
  const buf = new ArrayBuffer(<i32>bufSize);
  args_get(changetype<usize>(ptrs), changetype<usize>(buf));
  const out: string[] = [];
  for (let i: u32 = 0; i < argc; i++) {
    const p = load<u32>(changetype<usize>(ptrs) + i * 4);
    out.push(String.UTF8.decodeUnsafe(p, <usize>strlen(p)));
  }
  return out;
}

function strlen(p: usize): usize {
  let n: usize = 0;
  while (load<u8>(p + n) != 0) n++;
  return n;
}

/** x with 4 decimals (the example's output is deterministic text). */
export function fixed4(x: f64): string {
  const neg = x < 0;
  const v = <i64>Math.round(Math.abs(x) * 10000);
  const ip = v / 10000;
  const fp = v % 10000;
  let f = fp.toString();
  while (f.length < 4) f = '0' + f;
  return (neg && v != 0 ? '-' : '') + ip.toString() + '.' + f;
}
