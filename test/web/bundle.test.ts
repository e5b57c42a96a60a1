/**
 * The browser build (scripts/build-browser.mjs) into a temporary folder: the verifier bundle and the
 * playground's script stay within the size budget it states (gzip), and the one-file page is
 * self-contained: no external script, style or connection, its inline script and style pinned by hash in
 * its CSP, and the served page has no inline script or style at all (the server's CSP has no 'unsafe-inline').
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BROWSER_BUDGET, buildBrowser, gzipSize } from '../../scripts/build-browser.mjs';

const root = new URL('../../', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'wasmvm-browser-'));
let sizes: Record<string, { bytes: number; gzip: number }>;

before(async () => {
  sizes = await buildBrowser({ root, outDir: out });
});
after(() => rmSync(out, { recursive: true, force: true }));

test('the verifier bundle and the playground script are within the gzip budget', () => {
  const verifier = readFileSync(join(out, 'browser', 'wasmvm-tee-verify.js'));
  const app = readFileSync(join(out, 'playground', 'app.js'));
  assert.equal(gzipSize(verifier), sizes['browser/wasmvm-tee-verify.js']!.gzip);
  assert.ok(
    gzipSize(verifier) <= BROWSER_BUDGET.verifier,
    `verifier ${gzipSize(verifier)} B gzip > budget ${BROWSER_BUDGET.verifier}`,
  );
  assert.ok(
    gzipSize(app) <= BROWSER_BUDGET.playground,
    `playground ${gzipSize(app)} B gzip > budget ${BROWSER_BUDGET.playground}`,
  );
  // ESM with a linked source map, and nothing Node in it
  const text = verifier.toString('utf8');
  assert.match(text, /\bexport\s*\{/);
  assert.match(text, /\/\/# sourceMappingURL=wasmvm-tee-verify\.js\.map\s*$/);
  assert.doesNotMatch(text, /from\s*"node:|require\("node:/);
  const map = JSON.parse(readFileSync(join(out, 'browser', 'wasmvm-tee-verify.js.map'), 'utf8'));
  // browser.ts only re-exports (no code of its own in the map): the verifier's sources are there
  assert.ok(map.sources.some((s: string) => s.endsWith('src/verify/execution/verify.ts')));
});

test('the one-file page is self-contained and pins its inline script and style in its CSP', () => {
  const html = readFileSync(join(out, 'playground', 'wasmvm-tee-playground.html'), 'utf8');
  assert.doesNotMatch(html, /<script[^>]*\bsrc=|<link[^>]*stylesheet|https?:\/\/[^"' ]*\.(js|css)\b/i);
  const script = /<script type="module">([\s\S]*)<\/script>/.exec(html)?.[1];
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1];
  assert.ok(script && style);
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
  const h = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  assert.ok(csp.includes(`script-src ${h(script)}`), 'script hash in the CSP');
  assert.ok(csp.includes(`style-src ${h(style)}`), 'style hash in the CSP');
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|connect-src/);
});

test('the served page has no inline script or style', () => {
  const html = readFileSync(join(out, 'playground', 'index.html'), 'utf8');
  assert.match(html, /<script type="module" src="\/playground\/app\.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="\/playground\/style\.css">/);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
});
