import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HostTrap, WasiExit } from '../../src/host/index.ts';
import { GuestMemory } from '../../src/host/memory.ts';
import { ERRNO, Wasi, type WasiOptions } from '../../src/host/wasi/index.ts';
import { fakeBridge, instantiate } from './helpers.ts';

type Mem = { buffer: ArrayBuffer };
const W = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => Mem } })
  .WebAssembly;

/** A WASI instance on a fresh 1-page memory, called directly (as a guest would). */
function setup(options: WasiOptions = {}) {
  const memory = new W.Memory({ initial: 1 });
  const gm = new GuestMemory();
  gm.attach(memory as never);
  const wasi = new Wasi(gm, options);
  const f = wasi.imports() as Record<string, (...a: unknown[]) => number>;
  const u8 = () => new Uint8Array(memory.buffer);
  const dv = () => new DataView(memory.buffer);
  const str = (ptr: number, s: string) => {
    const b = new TextEncoder().encode(s);
    u8().set(b, ptr);
    return b.length;
  };
  /** path_open(dirfd, path) → [errno, fd] */
  const open = (
    dirfd: number,
    path: string,
    oflags = 0,
    rights = 0n,
    lookup = 1,
    fdflags = 0,
  ): [number, number] => {
    const len = str(1000, path);
    const e = f.path_open!(dirfd, lookup, 1000, len, oflags, rights, 0n, fdflags, 2000);
    return [e, dv().getUint32(2000, true)];
  };
  return { wasi, f, u8, dv, str, open, memory };
}

const READ = 1n << 1n;
const WRITE = 1n << 6n;

function sandboxDir() {
  const base = mkdtempSync(join(tmpdir(), 'wasi-'));
  const root = join(base, 'root');
  mkdirSync(root);
  writeFileSync(join(root, 'in.txt'), 'hello from host');
  writeFileSync(join(base, 'secret.txt'), 'outside');
  mkdirSync(join(root, 'sub'));
  symlinkSync(join(base, 'secret.txt'), join(root, 'escape'));
  symlinkSync('in.txt', join(root, 'inner-link'));
  symlinkSync(base, join(root, 'sub', 'up'));
  return { base, root };
}

describe('WASI sandbox', () => {
  test('preopen is listed by fd_prestat_get / fd_prestat_dir_name; fd 4 is EBADF', () => {
    const { root } = sandboxDir();
    const { f, dv, u8 } = setup({ preopens: [{ guest: '/data', host: root }] });
    assert.equal(f.fd_prestat_get!(3, 100), ERRNO.SUCCESS);
    assert.equal(dv().getUint32(104, true), 5);
    assert.equal(f.fd_prestat_dir_name!(3, 200, 5), ERRNO.SUCCESS);
    assert.equal(new TextDecoder().decode(u8().subarray(200, 205)), '/data');
    assert.equal(f.fd_prestat_get!(4, 100), ERRNO.BADF);
  });

  test('reads a file inside the preopen', () => {
    const { root } = sandboxDir();
    const { f, dv, u8, open } = setup({ preopens: [{ guest: '/data', host: root }] });
    const [e, fd] = open(3, 'in.txt', 0, READ);
    assert.equal(e, ERRNO.SUCCESS);
    dv().setUint32(300, 400, true);
    dv().setUint32(304, 64, true);
    assert.equal(f.fd_read!(fd, 300, 1, 308), ERRNO.SUCCESS);
    const n = dv().getUint32(308, true);
    assert.equal(new TextDecoder().decode(u8().subarray(400, 400 + n)), 'hello from host');
  });

  test('refuses .. escapes, absolute paths and symlinks out', () => {
    const { root } = sandboxDir();
    const { open } = setup({ preopens: [{ guest: '/data', host: root }] });
    assert.equal(open(3, '../secret.txt', 0, READ)[0], ERRNO.NOTCAPABLE);
    assert.equal(open(3, 'sub/../../secret.txt', 0, READ)[0], ERRNO.NOTCAPABLE);
    assert.equal(open(3, '/etc/passwd', 0, READ)[0], ERRNO.NOTCAPABLE);
    assert.equal(open(3, 'escape', 0, READ)[0], ERRNO.NOTCAPABLE, 'symlink to outside, followed');
    assert.equal(open(3, 'escape', 0, READ, 0)[0], ERRNO.LOOP, 'symlink not followed: O_NOFOLLOW');
    assert.equal(open(3, 'sub/up/secret.txt', 0, READ)[0], ERRNO.NOTCAPABLE, 'directory symlink out');
    assert.equal(open(3, 'inner-link', 0, READ)[0], ERRNO.SUCCESS, 'symlink staying inside is fine');
    assert.equal(open(3, 'sub/../in.txt', 0, READ)[0], ERRNO.SUCCESS);
  });

  test('a directory fd opened inside cannot climb out either', () => {
    const { root } = sandboxDir();
    const { open } = setup({ preopens: [{ guest: '/data', host: root }] });
    const [e, sub] = open(3, 'sub', 2);
    assert.equal(e, ERRNO.SUCCESS);
    assert.equal(open(sub, '../in.txt', 0, READ)[0], ERRNO.SUCCESS);
    assert.equal(open(sub, '../../secret.txt', 0, READ)[0], ERRNO.NOTCAPABLE);
  });

  test('read-only by default: create, truncate, write, mkdir, unlink, rename refused with EROFS', () => {
    const { root } = sandboxDir();
    const { f, open, str } = setup({ preopens: [{ guest: '/data', host: root }] });
    assert.equal(open(3, 'new.txt', 1, WRITE)[0], ERRNO.ROFS);
    assert.equal(open(3, 'in.txt', 8, WRITE)[0], ERRNO.ROFS);
    const [e, fd] = open(3, 'in.txt', 0, READ | WRITE);
    assert.equal(e, ERRNO.SUCCESS, 'write right dropped, read allowed');
    assert.equal(f.fd_write!(fd, 0, 0, 100), ERRNO.BADF);
    const n = str(500, 'dir2');
    assert.equal(f.path_create_directory!(3, 500, n), ERRNO.ROFS);
    const m = str(500, 'in.txt');
    assert.equal(f.path_unlink_file!(3, 500, m), ERRNO.ROFS);
    assert.equal(f.path_rename!(3, 500, m, 3, 600, str(600, 'x')), ERRNO.ROFS);
    assert.equal(readFileSync(join(root, 'in.txt'), 'utf8'), 'hello from host');
  });

  test('read-write preopen: create, write, seek, read back, rename, unlink, mkdir, rmdir, readdir', () => {
    const { root } = sandboxDir();
    const { f, dv, u8, open, str } = setup({ preopens: [{ guest: '.', host: root, writable: true }] });
    const [e, fd] = open(3, 'out.txt', 1 | 8, READ | WRITE);
    assert.equal(e, ERRNO.SUCCESS);
    const len = str(700, 'abcdef');
    dv().setUint32(300, 700, true);
    dv().setUint32(304, len, true);
    assert.equal(f.fd_write!(fd, 300, 1, 308), ERRNO.SUCCESS);
    assert.equal(dv().getUint32(308, true), 6);
    assert.equal(f.fd_seek!(fd, 2n, 0, 320), ERRNO.SUCCESS);
    assert.equal(dv().getBigUint64(320, true), 2n);
    dv().setUint32(300, 800, true);
    dv().setUint32(304, 10, true);
    assert.equal(f.fd_read!(fd, 300, 1, 308), ERRNO.SUCCESS);
    assert.equal(new TextDecoder().decode(u8().subarray(800, 800 + dv().getUint32(308, true))), 'cdef');
    assert.equal(f.fd_close!(fd), ERRNO.SUCCESS);
    assert.equal(readFileSync(join(root, 'out.txt'), 'utf8'), 'abcdef');
    assert.equal(f.path_rename!(3, 900, str(900, 'out.txt'), 3, 950, str(950, 'moved.txt')), ERRNO.SUCCESS);
    assert.equal(readFileSync(join(root, 'moved.txt'), 'utf8'), 'abcdef');
    assert.equal(f.path_create_directory!(3, 900, str(900, 'newdir')), ERRNO.SUCCESS);
    assert.equal(f.path_remove_directory!(3, 900, str(900, 'newdir')), ERRNO.SUCCESS);
    assert.equal(f.path_unlink_file!(3, 900, str(900, 'moved.txt')), ERRNO.SUCCESS);
    assert.equal(f.path_create_directory!(3, 900, str(900, '../evil')), ERRNO.NOTCAPABLE);
    // huge offsets are EINVAL, not a host exception
    const [e2, fd2] = open(3, 'in.txt', 0, READ);
    assert.equal(e2, ERRNO.SUCCESS);
    assert.equal(f.fd_seek!(fd2, 1n << 60n, 0, 320), ERRNO.INVAL);
    assert.equal(f.fd_seek!(fd2, -1n, 0, 320), ERRNO.INVAL);
    assert.equal(f.fd_pread!(fd2, 300, 1, 1n << 62n, 308), ERRNO.INVAL);
    // readdir lists entries
    assert.equal(f.fd_readdir!(3, 2000, 4096, 0n, 1900), ERRNO.SUCCESS);
    const used = dv().getUint32(1900, true);
    const names: string[] = [];
    for (let o = 2000; o < 2000 + used; ) {
      const nl = dv().getUint32(o + 16, true);
      names.push(new TextDecoder().decode(u8().subarray(o + 24, o + 24 + nl)));
      o += 24 + nl;
    }
    assert.deepEqual(names.sort(), ['.', '..', 'escape', 'in.txt', 'inner-link', 'sub']);
  });

  test('path_filestat_get: size and type; symlink out refused', () => {
    const { root } = sandboxDir();
    const { f, dv, str } = setup({ preopens: [{ guest: '.', host: root }] });
    assert.equal(f.path_filestat_get!(3, 1, 100, str(100, 'in.txt'), 200), ERRNO.SUCCESS);
    assert.equal(dv().getUint8(216), 4);
    assert.equal(dv().getBigUint64(232, true), 15n);
    assert.equal(f.path_filestat_get!(3, 1, 100, str(100, 'escape'), 200), ERRNO.NOTCAPABLE);
  });

  test('no preopens: no filesystem at all', () => {
    const { f, open } = setup();
    assert.equal(f.fd_prestat_get!(3, 100), ERRNO.BADF);
    assert.equal(open(3, 'x', 0, READ)[0], ERRNO.BADF);
  });
});

describe('WASI basics', () => {
  test('args and environ', () => {
    const { f, dv, u8 } = setup({ args: ['prog', 'a b'], env: { K: 'V' } });
    assert.equal(f.args_sizes_get!(100, 104), 0);
    assert.equal(dv().getUint32(100, true), 2);
    assert.equal(dv().getUint32(104, true), 9);
    assert.equal(f.args_get!(200, 300), 0);
    const p1 = dv().getUint32(204, true);
    assert.equal(new TextDecoder().decode(u8().subarray(p1, p1 + 3)), 'a b');
    assert.equal(f.environ_sizes_get!(100, 104), 0);
    assert.equal(dv().getUint32(104, true), 4);
  });

  test('deterministic mode: the same clock and random sequence on every run', () => {
    const run = () => {
      const { f, dv, u8 } = setup({ deterministic: true, seed: 's1' });
      f.clock_time_get!(0, 1n, 100);
      f.clock_time_get!(1, 1n, 108);
      f.random_get!(200, 48);
      return [
        dv().getBigUint64(100, true),
        dv().getBigUint64(108, true),
        Buffer.from(u8().subarray(200, 248)).toString('hex'),
      ];
    };
    const a = run();
    assert.deepEqual(run(), a);
    assert.equal(a[0], 1704067200000000000n + 1000n);
    assert.equal(a[1], 2000n);
    const { f, u8 } = setup({ deterministic: true, seed: 's2' });
    f.random_get!(200, 48);
    assert.notEqual(Buffer.from(u8().subarray(200, 248)).toString('hex'), a[2]);
  });

  test('real mode: random differs between runs, clock is near now', () => {
    const { f, dv, u8 } = setup();
    f.random_get!(200, 32);
    const r1 = Buffer.from(u8().subarray(200, 232)).toString('hex');
    f.random_get!(200, 32);
    assert.notEqual(Buffer.from(u8().subarray(200, 232)).toString('hex'), r1);
    f.clock_time_get!(0, 1n, 100);
    const ms = Number(dv().getBigUint64(100, true) / 1_000_000n);
    assert.ok(Math.abs(ms - Date.now()) < 5000);
    assert.equal(f.clock_time_get!(9, 1n, 100), ERRNO.INVAL);
  });

  test('poll_oneoff sleeping on a clock advances the virtual clock', () => {
    const { f, dv } = setup({ deterministic: true });
    dv().setBigUint64(100, 7n, true); // userdata
    dv().setUint8(108, 0); // clock
    dv().setUint32(116, 1, true); // monotonic
    dv().setBigUint64(124, 5_000_000_000n, true); // 5 s
    assert.equal(f.poll_oneoff!(100, 300, 1, 400), 0);
    assert.equal(dv().getUint32(400, true), 1);
    assert.equal(dv().getBigUint64(300, true), 7n);
    f.clock_time_get!(1, 1n, 500);
    assert.ok(dv().getBigUint64(500, true) >= 5_000_000_000n);
  });

  test('unsupported calls answer ENOSYS', () => {
    const { f } = setup();
    assert.equal(f.sock_accept!(3, 0, 100), ERRNO.NOSYS);
    assert.equal(f.path_symlink!(0, 0, 3, 0, 0), ERRNO.NOSYS);
    assert.equal(f.proc_raise!(9), ERRNO.NOSYS);
  });

  test('bad pointers trap, never touch host memory', () => {
    const { f } = setup();
    assert.throws(() => f.random_get!(65530, 100), HostTrap);
    assert.throws(() => f.fd_write!(1, 65535, 10, 0), HostTrap);
    assert.throws(() => f.clock_time_get!(0, 1n, -1), HostTrap);
  });

  test('stdout capture is bounded', () => {
    const { f, dv, wasi, str } = setup({ maxOutputBytes: 10 });
    const n = str(700, 'x'.repeat(25));
    dv().setUint32(300, 700, true);
    dv().setUint32(304, n, true);
    assert.equal(f.fd_write!(1, 300, 1, 308), 0);
    const out = wasi.collect();
    assert.equal(out.stdout.length, 10);
    assert.equal(out.droppedBytes, 15);
  });
});

describe('WASI guest end to end', () => {
  const GUEST = `(module
    (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hello, wasi\\n")
    (func (export "_start")
      (i32.store (i32.const 0) (i32.const 16))
      (i32.store (i32.const 4) (i32.const 12))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
      (call $proc_exit (i32.const 42))))`;

  test('stdout/stderr captured; proc_exit code propagated as WasiExit', async () => {
    const g = await instantiate(GUEST, fakeBridge({}), {}, ['wasi_snapshot_preview1']);
    assert.throws(
      () => (g.instance.exports._start as () => void)(),
      (e: unknown) => e instanceof WasiExit && e.exitCode === 42,
    );
    const out = g.host.collect();
    assert.equal(new TextDecoder().decode(out.stdout), 'hello, wasi\n');
    assert.equal(new TextDecoder().decode(out.stderr), 'hello, wasi\n');
  });
});

describe('WASI fd_readdir paging', () => {
  test('small buffers: entries are truncated and resumed with the cookie; every name seen once', () => {
    const base = mkdtempSync(join(tmpdir(), 'wasi-dir-'));
    const want: string[] = [];
    for (let i = 0; i < 40; i++) {
      const n = `file-${String(i).padStart(3, '0')}-${'x'.repeat(i % 7)}.txt`;
      writeFileSync(join(base, n), '');
      want.push(n);
    }
    const { f, dv, u8 } = setup({ preopens: [{ guest: '.', host: base }] });
    const seen: string[] = [];
    let cookie = 0n;
    for (let guard = 0; guard < 1000; guard++) {
      assert.equal(f.fd_readdir!(3, 4096, 100, cookie, 4000), ERRNO.SUCCESS);
      const used = dv().getUint32(4000, true);
      let o = 4096;
      let progressed = false;
      while (o + 24 <= 4096 + used) {
        const next = dv().getBigUint64(o, true);
        const nl = dv().getUint32(o + 16, true);
        if (o + 24 + nl > 4096 + used) break; // truncated entry: resume from its cookie
        seen.push(new TextDecoder().decode(u8().subarray(o + 24, o + 24 + nl)));
        cookie = next;
        progressed = true;
        o += 24 + nl;
      }
      if (used < 100) break;
      assert.ok(progressed, 'a 100-byte buffer holds at least one entry');
    }
    assert.deepEqual(seen.filter((n) => n !== '.' && n !== '..').sort(), want.sort());
  });
});
