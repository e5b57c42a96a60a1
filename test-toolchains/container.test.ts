/**
 * The Containerfile, built and run here (Debian podman/buildah):
 *  - base images are made offline from this host's Node.js (container/offline-bases.sh): no registry;
 *  - `buildah bud --isolation chroot` builds both stages of the real Containerfile (npm ci from the
 *    local npm cache, tsc, prune) — the sandbox's crun cannot start containers (cgroup v1/v2 hybrid
 *    host, no CAP_SYS_RESOURCE for rlimits), so the image then runs through container/run-image.sh:
 *    its rootfs read-only, tmpfs /tmp and state, as uid 65532, loopback only;
 *  - checks: non-root, read-only root (EROFS), the health check (bin/healthcheck.js, gRPC health)
 *    says SERVING, an Execute through the client verifies (simulated root trusted explicitly), the
 *    build digest in the image equals the host build's and the server's log, SIGTERM drains and exits 0.
 * Image size is printed.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createWasmvmClient, executeAndVerify } from '../src/server/client.ts';
import { computeBuildDigest } from '../src/version-digest.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const here = join(root, 'test-toolchains', 'container');
const have = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
const usable = have('podman') && have('buildah') && have('unshare') && process.getuid?.() === 0;
const work = mkdtempSync(join(tmpdir(), 'wasmvm-tee-image-'));
const conf = join(work, 'containers.conf');
// crun may not set rlimits here (no CAP_SYS_RESOURCE): no default ulimits.
writeFileSync(conf, '[containers]\ndefault_ulimits = []\n');
const env = { ...process.env, CONTAINERS_CONF: conf };
const IMAGE = 'localhost/wasmvm-tee:test';
let ctr = '';
let server: ChildProcess | undefined;

function sh(cmd: string, args: string[], timeout = 600_000): string {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout, cwd: root, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(' ')}:\n${r.stdout?.slice(-4000)}\n${r.stderr?.slice(-4000)}`,
  );
  return r.stdout;
}

after(() => {
  server?.kill('SIGKILL');
  if (ctr) spawnSync('buildah', ['rm', ctr], { env });
  rmSync(work, { recursive: true, force: true });
});

test('Containerfile: builds offline, runs non-root on a read-only root, health SERVING, verified Execute', {
  skip: usable ? false : 'needs root, podman, buildah and unshare (apt-get install podman buildah)',
  timeout: 1_200_000,
}, async () => {
  sh(join(here, 'offline-bases.sh'), []);
  const npmrc = join(work, 'npmrc');
  writeFileSync(
    npmrc,
    'prefer-offline=true\nupdate-notifier=false\ncafile=/etc/ssl/certs/ca-certificates.crt\n',
  );
  const t0 = performance.now();
  sh('buildah', [
    'bud',
    '--isolation=chroot',
    '--format=docker',
    '--layers=false',
    '-f',
    'Containerfile',
    '-t',
    IMAGE,
    '--build-arg',
    'BUILD_IMAGE=localhost/wasmvm-tee-build-base:test',
    '--build-arg',
    'RUNTIME_IMAGE=localhost/wasmvm-tee-runtime-base:test',
    '-v',
    `${join(homedir(), '.npm')}:/root/.npm`,
    '-v',
    `${npmrc}:/root/.npmrc:ro`,
    '-v',
    '/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro',
    '.',
  ]);
  const buildS = (performance.now() - t0) / 1000;
  const inspect = JSON.parse(sh('podman', ['image', 'inspect', IMAGE]))[0];
  console.log(`# image ${IMAGE}: ${(inspect.Size / 1e6).toFixed(1)} MB, built in ${buildS.toFixed(0)} s`);
  assert.equal(inspect.Config.User, '65532:65532');
  assert.deepEqual(inspect.Config.Entrypoint, ['node', '/app/bin/wasmvm-tee.js']);
  const docker = JSON.parse(sh('buildah', ['inspect', '--type', 'image', IMAGE])).Docker.config;
  assert.deepEqual(docker.Healthcheck.Test, ['CMD', 'node', '/app/bin/healthcheck.js']);

  ctr = sh('buildah', ['from', IMAGE]).trim().split('\n').pop()!;
  const rootfs = sh('buildah', ['mount', ctr]).trim();
  const envFile = join(work, 'env');
  writeFileSync(
    envFile,
    `${(inspect.Config.Env as string[]).filter((e) => !e.startsWith('HOME=')).join('\n')}\nHOME=/tmp\n`,
  );
  const run = (...argv: string[]) =>
    spawnSync(join(here, 'run-image.sh'), [rootfs, '65532:65532', envFile, '--', ...argv], {
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });

  const probe = run(
    'node',
    '-e',
    "const fs=require('fs');let ro='writable';try{fs.writeFileSync('/app/x','')}catch(e){ro=e.code}" +
      "console.log(JSON.stringify({uid:process.getuid(),ro,digest:fs.readFileSync('/app/BUILD-DIGEST','utf8').trim()}))",
  );
  assert.equal(probe.status, 0, probe.stderr);
  const p = JSON.parse(probe.stdout);
  assert.equal(p.uid, 65532);
  assert.equal(p.ro, 'EROFS');
  // The image's server code is byte for byte the host build of the same sources.
  sh(process.execPath, ['scripts/build.mjs']);
  const host = await computeBuildDigest(join(root, 'dist'), join(root, 'package.json'));
  assert.equal(p.digest.split(' ')[0], host.digest);

  const port = 20000 + Math.floor(Math.random() * 20000);
  server = spawn(
    join(here, 'run-image.sh'),
    [
      rootfs,
      '65532:65532',
      envFile,
      '--',
      'node',
      '/app/bin/wasmvm-tee.js',
      'serve',
      `--port=${port}`,
      '--host=127.0.0.1',
      '--tee=simulated',
      '--log-level=info',
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 120_000);
    server!.stderr!.on('data', (d: Buffer) => {
      log += d;
      if (/serving on http/.test(log)) {
        clearTimeout(t);
        resolve();
      }
    });
    server!.on('exit', (c) => reject(new Error(`server exited ${c}:\n${log}`)));
  });
  const listening = log.split('\n').find((l) => l.includes('"listening"'));
  assert.ok(listening, log);
  assert.equal(JSON.parse(listening).buildDigest, host.digest);

  const hc = run('node', '/app/bin/healthcheck.js', String(port));
  assert.equal(hc.status, 0, hc.stdout + hc.stderr);
  assert.equal(hc.stdout.trim(), 'SERVING');

  // Simulated evidence, accepted only because this test says so explicitly (allowSimulated).
  const client = createWasmvmClient({ baseUrl: `http://127.0.0.1:${port}` });
  const bytecode = new Uint8Array(readFileSync(join(root, 'test', 'fixtures', 'c', 'kernels.wasm')));
  const r = await executeAndVerify(client, { bytecode, fn: 'fib', args: ['20'] }, { allowSimulated: true });
  assert.equal(r.verdict.ok, true, JSON.stringify(r.verdict.checks.filter((c) => c.outcome === 'fail')));
  assert.deepEqual(r.outputs, [{ type: 'i64', value: 6765n }]);
  const untrusted = await executeAndVerify(client, { bytecode, fn: 'fib', args: ['20'] });
  assert.equal(untrusted.verdict.ok, false, 'simulated evidence must be rejected by default');

  const exited = new Promise<number | null>((res) => server!.on('exit', (c) => res(c)));
  server.kill('SIGTERM');
  assert.equal(await exited, 0, log.slice(-2000));
  server = undefined;
});
