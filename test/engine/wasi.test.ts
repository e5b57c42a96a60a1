import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';
import { Engine, i32 } from '../../src/engine/index.ts';
import { wat } from './helpers.ts';

// The real host modules (src/host): a WASI guest writes to stdout and exits through the engine.
const engine = new Engine({
  workers: 1,
  hostHandler: async (method) => Promise.reject(new Error(`unexpected host call ${method}`)),
});
after(() => engine.close());

const hello = wat(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\\n")
  (func (export "_start") (result i32)
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 6))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "quit") (param i32) (call $proc_exit (local.get 0))))`);

test('WASI guest: stdout is captured, proc_exit gives status exit with the code', async () => {
  const r = await engine.execute({
    bytecode: hello,
    fn: '_start',
    args: [],
    hostModules: ['wasi_snapshot_preview1'],
  });
  assert.equal(r.status, 'ok', r.message);
  assert.deepEqual(r.outputs, [i32(0)]);
  assert.equal(new TextDecoder().decode(r.stdout), 'hello\n');
  const q = await engine.execute({
    bytecode: hello,
    fn: 'quit',
    args: [i32(7)],
    hostModules: ['wasi_snapshot_preview1'],
  });
  assert.equal(q.status, 'exit');
  assert.equal(q.exitCode, 7);
});
