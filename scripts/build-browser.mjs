// The browser build (esbuild, ESM, minified, source maps), run by scripts/build.mjs after tsc:
//  - dist/browser/wasmvm-tee-verify.js: src/verify/browser.ts, the verifier for other pages' scripts;
//  - dist/playground/: the playground that `wasmvm-tee serve` serves at `/` (index.html, app.js, style.css;
//    no inline script or style, so the served page's CSP needs no 'unsafe-inline'), and
//    wasmvm-tee-playground.html, the same page in one file (script and style inline, pinned by hash in a
//    CSP meta tag) that works opened from disk (file://) with no server: the "verify a saved response" tab.
// Both bundles go through the platform substitution (scripts/esbuild-platform.mjs: *-node → *-web).
// BROWSER_BUDGET is the size budget (gzip, bytes) test/web/bundle.test.ts holds them to (measured 2026-12-06: verifier 239 KiB, playground 258 KiB).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { platformPlugin } from './esbuild-platform.mjs';

/** Size budget, gzip level 9, bytes. */
export const BROWSER_BUDGET = {
  /** The verifier alone (every vendor's checks, @peculiar/x509, jose, @noble/hashes). */
  verifier: 256 * 1024,
  /** The playground's script: the verifier, the Connect client and the generated service, the page. */
  playground: 288 * 1024,
};

/** gzip -9 size of bytes. */
export function gzipSize(bytes) {
  return gzipSync(bytes, { level: 9 }).length;
}

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
  // src/verify's sources guard Node-only code by injection, not by `process`; any `process.env` left is absent here
  define: { 'process.env.NODE_ENV': '"production"' },
};

/** CSP for the page as a file: its one inline script and one inline style, by hash; no network. */
function fileCsp(script, style) {
  const h = (s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  return [
    "default-src 'none'",
    `script-src ${h(script)}`,
    `style-src ${h(style)}`,
    'img-src data: blob:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/**
 * Build both bundles into `outDir` (default <root>/dist). `plugins` are added before the platform plugin
 * (nothing in the real build). Returns the files written with their raw and gzip sizes.
 */
export async function buildBrowser({ root, outDir = join(root, 'dist'), plugins = [] } = {}) {
  const sizes = {};
  const record = (name, bytes) => {
    sizes[name] = { bytes: bytes.length, gzip: gzipSize(bytes) };
  };
  // 1. the verifier
  const verifierOut = join(outDir, 'browser', 'wasmvm-tee-verify.js');
  mkdirSync(join(outDir, 'browser'), { recursive: true });
  const v = await build({
    ...common,
    absWorkingDir: root,
    entryPoints: [join(root, 'src', 'verify', 'browser.ts')],
    outfile: verifierOut,
    sourcemap: 'linked',
    write: false,
    plugins: [...plugins, platformPlugin],
  });
  for (const f of v.outputFiles) {
    writeFileSync(f.path, f.contents);
    if (f.path === verifierOut) record('browser/wasmvm-tee-verify.js', f.contents);
  }

  // 2. the playground's script (served: external source map; as one file: inline, no map)
  const page = join(root, 'web', 'playground');
  const pgDir = join(outDir, 'playground');
  mkdirSync(pgDir, { recursive: true });
  const pageBuild = (extra) =>
    build({
      ...common,
      absWorkingDir: root,
      entryPoints: [join(page, 'app.ts')],
      outfile: join(pgDir, 'app.js'),
      write: false,
      loader: { '.wasm': 'binary' },
      plugins: [...plugins, platformPlugin],
      ...extra,
    });
  const served = await pageBuild({ sourcemap: 'linked' });
  let appJs;
  for (const f of served.outputFiles) {
    writeFileSync(f.path, f.contents);
    if (f.path.endsWith('app.js')) appJs = f.contents;
  }
  record('playground/app.js', appJs);
  const css = readFileSync(join(page, 'style.css'), 'utf8');
  writeFileSync(join(pgDir, 'style.css'), css);
  const html = readFileSync(join(page, 'index.html'), 'utf8');
  if (!html.includes('<!--STYLE-->') || !html.includes('<!--SCRIPT-->') || !html.includes('<!--CSP-->'))
    throw new Error('web/playground/index.html lacks a <!--CSP-->, <!--STYLE--> or <!--SCRIPT--> marker');
  const servedHtml = html
    .replace('<!--CSP-->', '')
    .replace('<!--STYLE-->', '<link rel="stylesheet" href="/playground/style.css">')
    .replace('<!--SCRIPT-->', '<script type="module" src="/playground/app.js"></script>');
  writeFileSync(join(pgDir, 'index.html'), servedHtml);
  record('playground/index.html', Buffer.from(servedHtml));

  // 3. one self-contained file (no source map: it would be inline and double the file)
  const single = await pageBuild({ sourcemap: false, legalComments: 'none' });
  // `</script` cannot appear inside an inline script; esbuild escapes it in strings, check anyway
  const script = single.outputFiles.find((f) => f.path.endsWith('app.js')).text;
  if (/<\/script/i.test(script)) throw new Error('the page script contains </script: cannot inline it');
  const standalone = html
    .replace('<!--CSP-->', `<meta http-equiv="Content-Security-Policy" content="${fileCsp(script, css)}">`)
    .replace('<!--STYLE-->', () => `<style>${css}</style>`)
    .replace('<!--SCRIPT-->', () => `<script type="module">${script}</script>`);
  writeFileSync(join(pgDir, 'wasmvm-tee-playground.html'), standalone);
  record('playground/wasmvm-tee-playground.html', Buffer.from(standalone));
  return sizes;
}
