/**
 * Three replicas (`wasmvm-tee serve`, simulated TEE, each with its own state and so its own session
 * keys) behind Debian's haproxy (h2c to the clients and HTTP/2 to the backends), loopback only.
 * 300 Execute calls from 12 concurrent clients, each response verified through SessionCache (which
 * replica's attested claim key signed it; the session verified in full once per replica, then cached);
 * one replica SIGKILLed after 100 responses: clients retry (Execute is idempotent), zero wrong results,
 * every error reported, nothing hangs (deadlines on every call and on the test).
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createWasmvmClient, SessionCache } from '../src/server/client.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'bin', 'wasmvm-tee.js');
const haveHaproxy = spawnSync('sh', ['-c', 'command -v haproxy']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'wasmvm-tee-haproxy-'));
const children: ChildProcess[] = [];

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

function startReplica(i: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--tee', 'simulated', '--log-level', 'warn'],
    {
      env: { ...process.env, WASMVM_TEE_STATE_DIR: join(work, `state-${i}`), WASMVM_TEE_FROM_SOURCE: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`replica ${i} did not start:\n${err}`)), 120_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d;
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve({ child, url: m[1]! });
      }
    });
    child.on('exit', (c) => reject(new Error(`replica ${i} exited ${c}:\n${err}`)));
  });
}

function fib(n: number): bigint {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

test('3 replicas behind haproxy: 300 verified calls spread over all, one replica killed mid-run', {
  skip: haveHaproxy ? false : 'haproxy not installed (apt-get install haproxy)',
  timeout: 600_000,
}, async () => {
  const replicas = await Promise.all([0, 1, 2].map(startReplica));
  const lbPort = await freePort();
  const cfg = join(work, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `global
  log stderr format raw local0 warning
defaults
  mode http
  log global
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
  retry-on conn-failure empty-response
frontend grpc
  bind 127.0.0.1:${lbPort} proto h2
  default_backend replicas
backend replicas
  balance roundrobin
${replicas.map((r, i) => `  server r${i} ${r.url.replace('http://', '')} proto h2 check inter 300ms fall 1 rise 2`).join('\n')}
`,
  );
  const lb = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(lb);
  let lbLog = '';
  lb.stderr!.on('data', (d: Buffer) => {
    lbLog += d;
  });
  const bytecode = new Uint8Array(readFileSync(join(root, 'test', 'fixtures', 'c', 'kernels.wasm')));
  const cache = new SessionCache({ verify: { allowSimulated: true }, retries: 4, backoffMs: 100 });

  // Learn each replica's session straight from it (not through haproxy), and name it.
  for (const [i, r] of replicas.entries()) {
    const res = await cache.execute(createWasmvmClient({ baseUrl: r.url }), {
      bytecode,
      fn: 'fib',
      args: ['1'],
      timeoutMs: 30_000,
    });
    assert.ok(res.verdict.ok && res.session);
    cache.label(res.session.id, `r${i}`);
  }
  assert.equal(new Set(cache.sessions().map((s) => s.id)).size, 3, 'each replica has its own session keys');
  for (let i = 0; i < 50; i++) {
    const up = spawnSync('sh', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${lbPort}`], { shell: false });
    if (up.status === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const TOTAL = 300;
  const CLIENTS = 12;
  const served = new Map<string, number>();
  const errors: string[] = [];
  const retriesSeen: string[] = [];
  let wrong = 0;
  let done = 0;
  let next = 0;
  let killed = -1;
  const t0 = performance.now();
  const worker = async () => {
    const client = createWasmvmClient({ baseUrl: `http://127.0.0.1:${lbPort}` });
    for (;;) {
      const k = next++;
      if (k >= TOTAL) return;
      const n = 10 + (k % 60);
      try {
        const r = await cache.execute(client, { bytecode, fn: 'fib', args: [String(n)], timeoutMs: 20_000 });
        retriesSeen.push(...r.retried);
        const right =
          r.verdict.ok &&
          r.status === 'ok' &&
          r.outputs.length === 1 &&
          r.outputs[0]!.type === 'i64' &&
          r.outputs[0]!.value === fib(n);
        if (!right) wrong++;
        const who = r.session?.label ?? '(none)';
        served.set(who, (served.get(who) ?? 0) + 1);
      } catch (e) {
        errors.push((e as Error).message);
      }
      if (++done === 100) {
        killed = 1;
        replicas[1]!.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const dist = Object.fromEntries([...served.entries()].sort());
  console.log(
    `# ${TOTAL} calls in ${seconds.toFixed(1)} s through haproxy; served per replica ${JSON.stringify(dist)}; ` +
      `retried attempts ${retriesSeen.length}; failed calls ${errors.length}; wrong ${wrong}`,
  );
  for (const r of retriesSeen.slice(0, 5)) console.log(`#   retried: ${r}`);
  for (const e of errors.slice(0, 5)) console.log(`#   error: ${e}`);
  assert.equal(killed, 1);
  assert.equal(wrong, 0, 'a response that did not verify or had a wrong result');
  assert.equal(errors.length, 0, `calls failed after retries:\n${errors.join('\n')}\n${lbLog.slice(-2000)}`);
  assert.equal(done, TOTAL);
  for (const name of ['r0', 'r1', 'r2'])
    assert.ok((served.get(name) ?? 0) > 0, `replica ${name} served nothing: ${JSON.stringify(dist)}`);
  assert.equal(served.get('(none)'), undefined);
  // after the kill, the survivors took the rest
  assert.ok((served.get('r0') ?? 0) + (served.get('r2') ?? 0) >= TOTAL - 100);
  // every session verified in full once, then from the cache
  for (const s of cache.sessions()) assert.ok(s.responses >= 1);
});
