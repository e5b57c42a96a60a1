/**
 * The playground route (src/server/playground.ts): `/` and the page's files on the service's own port,
 * over HTTP/1.1 and HTTP/2, with the page's security headers; nothing else of the URL space changes (the
 * RPC paths, /healthz), a folder without the built page says how to build it, and `playground: false`
 * serves nothing at `/`.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PLAYGROUND_CSP } from '../../src/server/playground.ts';
import { GateEngine, simulatedAttester, startTestServer, type TestServer } from './helpers.ts';

const PAGE = '<!doctype html><title>t</title><script type="module" src="/playground/app.js"></script>';
const APP = 'document.title = "x";';

function h2Get(
  url: string,
  path: string,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const c = http2.connect(url);
    c.on('error', reject);
    const r = c.request({ ':path': path });
    let body = '';
    let headers: http2.IncomingHttpHeaders = {};
    r.setEncoding('utf8');
    r.on('response', (h) => {
      headers = h;
    });
    r.on('data', (d: string) => {
      body += d;
    });
    r.on('end', () => {
      c.close();
      resolve({ status: Number(headers[':status']), headers, body });
    });
    r.on('error', reject);
    r.end();
  });
}

function rawStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
    r.end();
  });
}

describe('the playground at /', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmvm-pg-'));
  const empty = join(dir, 'empty');
  let ts: TestServer;
  let bare: TestServer;
  let off: TestServer;
  let cleanup: () => void;
  before(async () => {
    writeFileSync(join(dir, 'index.html'), PAGE);
    writeFileSync(join(dir, 'app.js'), APP);
    writeFileSync(join(dir, 'style.css'), 'body{}');
    mkdirSync(empty);
    const sim = simulatedAttester();
    cleanup = sim.cleanup;
    const backend = { engine: Object.assign(new GateEngine(), { open: true }), attester: sim.attester };
    ts = await startTestServer(backend, { playground: dir });
    bare = await startTestServer(backend, { playground: empty });
    off = await startTestServer(backend, { playground: false });
  });
  after(async () => {
    await Promise.all([ts.close(), bare.close(), off.close()]);
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page and its script with their types and the security headers (HTTP/1.1)', async () => {
    for (const [path, type, body] of [
      ['/', 'text/html; charset=utf-8', PAGE],
      ['/index.html', 'text/html; charset=utf-8', PAGE],
      ['/playground/app.js', 'text/javascript; charset=utf-8', APP],
    ] as const) {
      const r = await fetch(`${ts.server.url}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), type, path);
      assert.equal(await r.text(), body, path);
      assert.equal(r.headers.get('content-security-policy'), PLAYGROUND_CSP, path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer', path);
    }
    // the CSP allows no inline script or style and connects only to this origin
    assert.doesNotMatch(PLAYGROUND_CSP, /unsafe-inline|unsafe-eval|\*/);
    assert.match(PLAYGROUND_CSP, /script-src 'self'/);
    assert.match(PLAYGROUND_CSP, /connect-src 'self'/);
    assert.match(PLAYGROUND_CSP, /frame-ancestors 'none'/);
  });

  it('serves the same over HTTP/2 (h2c on the same port)', async () => {
    const r = await h2Get(ts.server.url, '/');
    assert.equal(r.status, 200);
    assert.equal(r.body, PAGE);
    assert.equal(r.headers['content-security-policy'], PLAYGROUND_CSP);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  });

  it('HEAD has the headers and no body; other methods on the page are 405', async () => {
    const h = await fetch(`${ts.server.url}/`, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('content-length'), String(PAGE.length));
    assert.equal(await h.text(), '');
    const p = await fetch(`${ts.server.url}/`, { method: 'POST', body: 'x' });
    assert.equal(p.status, 405);
    assert.equal(p.headers.get('allow'), 'GET, HEAD');
  });

  it('serves only its fixed files: no other path reaches the folder; RPC and /healthz unchanged', async () => {
    // raw request paths (fetch would normalise the dots away)
    for (const path of [
      '/playground/../index.html',
      '/playground/%2e%2e/index.html',
      '/x/../',
      '/playground/secret.txt',
      '/index.html/',
      '/style.css',
      '/app.js',
    ])
      assert.notEqual(await rawStatus(ts.server.port, path), 200, path);
    // a file of the set that was not built (no source map here) is not served
    assert.notEqual((await fetch(`${ts.server.url}/playground/app.js.map`)).status, 200);
    assert.equal(await (await fetch(`${ts.server.url}/healthz`)).text(), 'SERVING\n');
    const echo = await fetch(`${ts.server.url}/wasm.WASMVMTeeService/GetServerInfo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(echo.status, 200);
  });

  it('without the built page, / says how to build it; with playground: false, / is not the page', async () => {
    const r = await fetch(`${bare.server.url}/`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /npm run build/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const o = await fetch(`${off.server.url}/`);
    assert.notEqual(o.status, 200);
    assert.equal(o.headers.get('content-security-policy'), null);
  });
});
