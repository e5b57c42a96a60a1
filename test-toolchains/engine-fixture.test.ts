import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Engine, i32 } from '../src/engine/index.ts';

// Rebuilds the engine's C fixture with clang and checks the fresh build runs like the committed one.
const dir = fileURLToPath(new URL('../test/fixtures/c/', import.meta.url));
const engine = new Engine({ workers: 1 });
after(() => engine.close());

test('test/fixtures/c/build.sh rebuilds kernels.wasm, same results as the committed one', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'engine-fixture-'));
  copyFileSync(join(dir, 'kernels.c'), join(tmp, 'kernels.c'));
  copyFileSync(join(dir, 'build.sh'), join(tmp, 'build.sh'));
  const r = spawnSync('bash', [join(tmp, 'build.sh')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const fresh = new Uint8Array(readFileSync(join(tmp, 'kernels.wasm')));
  const committed = new Uint8Array(readFileSync(join(dir, 'kernels.wasm')));
  for (const [fn, args] of [
    ['gcd', [i32(1071), i32(462)]],
    ['kernel', [i32(3)]],
  ] as const) {
    const a = await engine.execute({ bytecode: fresh, fn, args: [...args] });
    const b = await engine.execute({ bytecode: committed, fn, args: [...args] });
    assert.equal(a.status, 'ok');
    assert.deepEqual(a.outputs, b.outputs);
  }
  assert.deepEqual(
    (await engine.execute({ bytecode: fresh, fn: 'gcd', args: [i32(1071), i32(462)] })).outputs,
    [i32(21)],
  );
});
