/**
 * The published package, as a consumer gets it: `npm pack` the project, install the tarball into an
 * empty directory (from the local npm cache where it can), then
 *  (a) a plain consumer.mjs imports every entry point, runs a module, and executes + verifies it on a
 *      server started from the installed `wasmvm-tee` command (simulated TEE trusted explicitly);
 *  (b) a strict TypeScript consumer (module nodenext, skipLibCheck off) type-checks against the
 *      shipped declarations;
 *  (c) the installed `wasmvm-tee --help` and `exec` run.
 * Also: the tarball holds no tests, benches or sources, and does hold LICENSE and dist/.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const consumerSrc = fileURLToPath(new URL('./package-consumer/', import.meta.url));
const npmCli = process.env.npm_execpath?.endsWith('.js') ? process.env.npm_execpath : undefined;
const dir = mkdtempSync(join(tmpdir(), 'wasmvm-tee-pkg-'));
const app = join(dir, 'app');
const state = join(dir, 'state');
// The child processes run the installed package, never the sources.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  WASMVM_TEE_STATE_DIR: state,
  WASMVM_TEE_FROM_SOURCE: '0',
  NO_COLOR: '1',
};
delete env.NODE_OPTIONS;

function npm(args: string[], cwd: string): string {
  const [cmd, pre] = npmCli ? [process.execPath, [npmCli]] : ['npm', []];
  const r = spawnSync(cmd, [...pre, ...args], { cwd, env, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, `npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let tarball = '';
let packed: { entryCount: number; size: number; unpackedSize: number; files: { path: string }[] };
const bin = () => join(app, 'node_modules', 'wasmvm-tee', 'bin', 'wasmvm-tee.js');
let server: ChildProcess | undefined;

before(async () => {
  // `npm pack` runs `prepare` (the incremental build), so dist/ matches the sources.
  const out = npm(['pack', '--json', '--pack-destination', dir], root);
  packed = JSON.parse(out.slice(out.indexOf('[')))[0];
  tarball = join(dir, (packed as unknown as { filename: string }).filename);
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', allowScripts: { koffi: true } }),
  );
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--engine-strict', tarball], app);
  for (const f of ['consumer.mjs', 'consumer.ts', 'tsconfig.json'])
    copyFileSync(join(consumerSrc, f), join(app, f));
});

after(() => {
  server?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('the tarball ships dist/, bin/, LICENSE and docs, and no tests, benches or TypeScript sources', () => {
  const paths = packed.files.map((f) => f.path);
  for (const p of [
    'LICENSE',
    'README.md',
    'package.json',
    'bin/wasmvm-tee.js',
    'dist/index.js',
    'dist/index.d.ts',
  ])
    assert.ok(paths.includes(p), `tarball lacks ${p}`);
  for (const p of paths) {
    assert.doesNotMatch(p, /^(test|test-toolchains|bench|scripts|src|\.ci|guest|deploy)\//, p);
    assert.ok(!p.endsWith('.ts') || p.endsWith('.d.ts'), `TypeScript source in the tarball: ${p}`);
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const [entry, target] of Object.entries(pkg.exports as Record<string, unknown>)) {
    if (typeof target === 'string') continue;
    const t = target as { types: string; default: string };
    assert.ok(paths.includes(t.types.slice(2)), `${entry}: ${t.types} not in the tarball`);
    assert.ok(paths.includes(t.default.slice(2)), `${entry}: ${t.default} not in the tarball`);
  }
  console.log(
    `# tarball: ${packed.entryCount} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`,
  );
});

test('installed: wasmvm-tee --help and exec run from dist/ (no tsx in the consumer)', () => {
  assert.throws(() =>
    execFileSync(process.execPath, ['-e', "import.meta.resolve('tsx')"], { cwd: app, env, stdio: 'pipe' }),
  );
  const h = spawnSync(process.execPath, [bin(), '--help'], { cwd: app, env, encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /^ {2}serve /m);
  const wasm = join(root, 'test', 'fixtures', 'c', 'kernels.wasm');
  const e = spawnSync(
    join(app, 'node_modules', '.bin', 'wasmvm-tee'),
    ['exec', '--wasm', wasm, '--fn', 'fib', '--arg', '20'],
    { cwd: app, env, encoding: 'utf8' },
  );
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /^i64 6765$/m);
});

test('installed: a plain consumer.mjs executes on a server and verifies the attested response', async () => {
  const rootPem = join(dir, 'simulated-root.pem');
  const a = spawnSync(process.execPath, [bin(), 'attest', '--print-simulated-root'], { cwd: app, env });
  assert.equal(a.status, 0, String(a.stderr));
  writeFileSync(rootPem, a.stdout);
  server = spawn(
    process.execPath,
    [bin(), 'serve', '--port', '0', '--host', '127.0.0.1', '--tee', 'simulated'],
    {
      cwd: app,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`server did not start:\n${err}`)), 60_000);
    server!.stderr!.on('data', (d: Buffer) => {
      err += d;
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    server!.on('exit', (code) => reject(new Error(`server exited ${code}:\n${err}`)));
  });
  const wasm = join(root, 'test', 'fixtures', 'c', 'kernels.wasm');
  const r = spawnSync(process.execPath, ['consumer.mjs', url, rootPem, wasm], {
    cwd: app,
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { ok: true, outputs: ['i64:6765'] });
  server.kill('SIGTERM');
});

test('installed: a strict TypeScript consumer (module nodenext) type-checks against the declarations', () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const cfg = JSON.parse(readFileSync(join(app, 'tsconfig.json'), 'utf8'));
  // @types/node from the project (the consumer installs only wasmvm-tee).
  cfg.compilerOptions.typeRoots = [join(root, 'node_modules', '@types')];
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(cfg));
  cfg.compilerOptions.lib = ['ES2023', 'DOM'];
  writeFileSync(join(app, 'tsconfig.dom.json'), JSON.stringify(cfg));
  const check = (project: string) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [tsc, '-p', join(app, project), '--extendedDiagnostics'], {
      cwd: app,
      encoding: 'utf8',
    });
    const files = /Files:\s+(\d+)/.exec(r.stdout)?.[1];
    console.log(`# consumer tsc -p ${project}: ${(performance.now() - t0).toFixed(0)} ms, ${files} files`);
    return { status: r.status, errors: r.stdout.split('\n').filter((l) => /error TS\d+/.test(l)) };
  };
  // With lib.dom (what @connectrpc/connect and @peculiar/x509's own declarations assume): no error at all,
  // and the package's WebAssembly types do not clash with lib.dom's.
  const dom = check('tsconfig.dom.json');
  assert.deepEqual(dom.errors, []);
  assert.equal(dom.status, 0);
  // Without lib.dom (a Node-only project): those dependencies' declarations (connect, x509, and the HPKE
  // family behind sealed execution) need DOM names (HeadersInit, CryptoKey, SubtleCrypto), but nothing in
  // wasmvm-tee's declarations or in the consumer fails.
  const node = check('tsconfig.json');
  const ours = node.errors.filter((l) => !/^node_modules\/(@connectrpc|@peculiar|@hpke)\//.test(l));
  assert.deepEqual(ours, []);
});
